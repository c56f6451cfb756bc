//! SSM Parameter Store and Secrets Manager secrets on the moto emulator.
//!
//! `IMGTAG_MOTO_URL=http://127.0.0.1:5100 cargo test -p imgtag-aws --test secrets`

use std::sync::Arc;

use aws_sdk_ssm::types::ParameterType;
use imgtag_aws::secrets::{SecretsManagerSecrets, SsmSecrets};
use imgtag_aws::testing;
use imgtag_core::secrets::CachedSecrets;
use imgtag_core::{Error, Secrets};

#[tokio::test]
async fn ssm_secure_strings_are_decrypted_and_cached() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let prefix = format!("/{}/", testing::unique("imgtag"));
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(format!("{prefix}clarifai-key"))
        .value("k-123")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let ssm = SsmSecrets::new(&config, prefix.clone());
    let v = ssm.get("clarifai-key").await.unwrap();
    assert_eq!(v.expose(), "k-123");
    assert!(!format!("{v:?}").contains("k-123"));
    assert!(matches!(
        ssm.get("absent").await,
        Err(Error::NotFound("secret"))
    ));

    let cached = CachedSecrets::new(Arc::new(ssm));
    assert_eq!(cached.get("clarifai-key").await.unwrap().expose(), "k-123");
    // Changed at the source: the process keeps the value it read.
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(format!("{prefix}clarifai-key"))
        .value("k-456")
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.get("clarifai-key").await.unwrap().expose(), "k-123");
}

#[tokio::test]
async fn secrets_manager_strings_are_read() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let prefix = format!("{}/", testing::unique("imgtag"));
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(format!("{prefix}clarifai-key"))
        .secret_string("sm-789")
        .send()
        .await
        .unwrap();
    let sm = SecretsManagerSecrets::new(&config, prefix);
    let v = sm.get("clarifai-key").await.unwrap();
    assert_eq!(v.expose(), "sm-789");
    assert!(!format!("{v:?}").contains("sm-789"));
    assert!(matches!(
        sm.get("absent").await,
        Err(Error::NotFound("secret"))
    ));
}
