//! Conformance suites, one per port, written once and run by every adapter.
//!
//! Each suite is a list of named checks. A runner builds a fresh adapter for every check with
//! the factory it is given, runs them all, prints one line per check and finally panics with
//! the names (and messages) of the checks that failed. `IMGTAG_CHECK=<substring>` runs only
//! the checks whose name contains it.
//!
//! ```ignore
//! #[tokio::test]
//! async fn catalog_conformance() {
//!     let dir = tempfile::tempdir().unwrap();
//!     imgtag_core::testkit::catalog::run(|| async { Arc::new(make_catalog(&dir)) as _ }).await;
//! }
//! ```
//!
//! Checks only use the port's public contract, so an adapter over a shared service
//! (PostgreSQL, S3) may run them against one database as long as each factory call hands out
//! an adapter whose data is empty (a fresh schema, bucket prefix or table).

#![warn(missing_docs)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;

pub mod accounts;
mod accounts_admin;
pub mod accounts_migrate;
pub mod blobs;
pub mod catalog;
pub mod queue;

/// One named check over a port `P`.
pub type Check<P> = (&'static str, fn(Arc<P>) -> BoxFuture<'static, ()>);

/// Builds a `Vec<Check<P>>` from async fns `fn(Arc<P>)`, named after the functions.
macro_rules! checks {
    ($($f:ident),* $(,)?) => {
        vec![$((
            stringify!($f),
            (|p| -> ::futures::future::BoxFuture<'static, ()> { Box::pin($f(p)) }) as fn(_) -> _,
        )),*]
    };
}
pub(crate) use checks;

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// Runs `checks` of `suite`, each against a fresh adapter from `make`; panics at the end if
/// any failed, naming them.
pub async fn run_checks<P, F, Fut>(suite: &str, checks: Vec<Check<P>>, make: F)
where
    P: ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<P>>,
{
    let only = std::env::var("IMGTAG_CHECK").ok();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, check) in checks {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        ran += 1;
        let port = make().await;
        match AssertUnwindSafe(check(port)).catch_unwind().await {
            Ok(()) => eprintln!("{suite}::{name} ... ok"),
            Err(p) => {
                let msg = panic_message(&*p);
                eprintln!("{suite}::{name} ... FAILED: {msg}");
                failed.push(format!("{name}: {msg}"));
            }
        }
    }
    assert!(ran > 0, "{suite}: no check matched IMGTAG_CHECK={only:?}");
    assert!(
        failed.is_empty(),
        "{suite} conformance: {} of {ran} checks failed:\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
}
