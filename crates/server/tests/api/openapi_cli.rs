//! `imgtag openapi` prints the same description the server answers at `/openapi.json`.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn cli_prints_the_spec_the_server_serves() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imgtag"))
        .args(["openapi"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(printed["openapi"].as_str().unwrap().starts_with("3.1"));

    let app = spawn_app().await;
    let served: Value = app
        .client
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printed, served);
}
