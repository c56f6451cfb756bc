//! The Lambda entry points driven with real event shapes (the `aws_lambda_events` fixtures in
//! `../fixtures`, filled in) against S3, Cognito, DynamoDB and SQS on the moto emulator.
//!
//! `IMGTAG_MOTO_URL=http://127.0.0.1:5100 cargo test -p imgtag-lambda --test lambda`

mod api;
mod events;
mod jobs;
mod seed;
mod support;
mod tagging;
