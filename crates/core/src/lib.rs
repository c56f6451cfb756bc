//! imgtag core: domain types, port traits (with their contracts) and the services that
//! combine them. No HTTP, SQL or cloud SDK lives here; adapters implement the ports.
#![forbid(unsafe_code)]

pub mod domain;
pub mod error;
pub mod ports;
pub mod secrets;
pub mod services;
pub mod sniff;

pub use domain::*;
pub use error::{Error, Result};
pub use ports::*;
pub mod signing;
#[cfg(feature = "testkit")]
pub mod testkit;
