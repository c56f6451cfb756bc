//! AWS adapters for imgtag's ports. Everything here is reachable only through the `aws` cargo
//! feature of the `imgtag` binary, so the default build never compiles the AWS SDK.
#![forbid(unsafe_code)]

pub mod cognito;
mod connect;
pub mod dynamo;
pub mod rekognition;
pub mod s3;
mod sdk_error;
pub mod secrets;
pub mod sqs;
#[doc(hidden)]
pub mod testing;

/// For callers that build the adapters without depending on the SDK themselves.
pub use aws_config::SdkConfig;
pub use aws_sdk_dynamodb;
pub use connect::AwsOptions;
