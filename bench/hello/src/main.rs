//! `bench/catalog`'s baseline: plain axum on the same runtime, answering every GET with the
//! bytes of one file as `application/json`. What imgtag serves beyond this (auth, a query,
//! signing, JSON) is the cost the benchmark's ratio shows.
//!
//!     imgtag-bench-hello 127.0.0.1:9000 page.json

use axum::http::header;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: imgtag-bench-hello ADDR BODY_FILE");
        std::process::exit(2);
    };
    let body = Bytes::from(std::fs::read(&file)?);
    let app = Router::new().fallback(get(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
