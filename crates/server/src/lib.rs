//! The `imgtag` server: configuration, adapter wiring, HTTP server and tagging workers.
#![forbid(unsafe_code)]

mod aws_wiring;
pub mod cli;
pub mod config;
mod opensearch_wiring;
mod postgres_wiring;
mod state;
pub mod telemetry;
mod thumbs;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use imgtag_http::AppState;
use tokio::net::TcpListener;

pub use config::{Config, Overrides};
pub use state::{build_secrets, build_state};

/// A bound, wired server that has not started serving yet.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    workers: usize,
    grace: Duration,
}

impl Application {
    /// Binds the listener first, so the public URL can name the real port (port 0 in tests).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.server.addr)
            .await
            .with_context(|| format!("binding {}", config.server.addr))?;
        let addr = listener.local_addr()?;
        let root = match &config.server.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{addr}"),
        };
        let public_url = format!("{root}{}", config.http.normalised_base());
        let state = build_state(&config, &public_url).await?;
        let workers = config
            .server
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Application {
            listener,
            state,
            workers,
            grace: Duration::from_secs(config.server.shutdown_grace_secs),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` resolves, then finishes in-flight requests and jobs (bounded by the
    /// grace period).
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        // `--workers 0`: this instance only serves; other instances (or a later start) tag.
        let workers = (self.workers > 0).then(|| {
            tokio::spawn(imgtag_core::services::run_workers(
                self.state.app.clone(),
                self.workers,
                rx,
            ))
        });
        let router = imgtag_http::router(self.state);
        tracing::info!(addr = %self.listener.local_addr()?, "imgtag listening");
        axum::serve(self.listener, router)
            .with_graceful_shutdown(async move {
                stop.await;
                tracing::info!("shutting down: finishing in-flight requests and jobs");
                let _ = tx.send(true);
            })
            .await?;
        if let Some(w) = workers {
            if tokio::time::timeout(self.grace, w).await.is_err() {
                tracing::warn!("workers did not finish in time; their jobs will be retried");
            }
        }
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
