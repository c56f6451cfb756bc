//! Ports: the traits adapters implement. Each documents its contract; the conformance suites in
//! [`crate::testkit`] check every adapter against it.

mod accounts;
mod blobs;
mod catalog;
mod queue;
mod secrets;
mod tagger;
mod thumbs;

pub use accounts::*;
pub use blobs::*;
pub use catalog::*;
pub use queue::*;
pub use secrets::*;
pub use tagger::*;
pub use thumbs::*;
