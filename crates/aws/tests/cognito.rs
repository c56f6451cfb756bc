//! Cognito accounts on the moto emulator: the shared `Accounts` conformance suite (a fresh
//! user pool per check) and the token checks that need real pool-issued tokens.
//!
//! `IMGTAG_MOTO_URL=http://127.0.0.1:5100 cargo test -p imgtag-aws --test cognito`

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use imgtag_aws::cognito::{CognitoAccounts, CognitoSettings};
use imgtag_aws::testing;
use imgtag_core::testkit::accounts::{self, PASSWORD};
use imgtag_core::{Accounts, Error};

fn settings(pool: &str, client: &str, auto_confirm: bool) -> CognitoSettings {
    CognitoSettings {
        user_pool_id: pool.into(),
        client_id: client.into(),
        issuer: None,
        // Derived from the endpoint: <moto>/<pool>/.well-known/jwks.json.
        jwks_url: None,
        auto_confirm,
        min_password_len: 6,
    }
}

async fn fresh(config: &SdkConfig) -> (CognitoAccounts, String, String) {
    let (pool, client) = testing::create_user_pool(config).await;
    let a = CognitoAccounts::new(config, settings(&pool, &client, true)).unwrap();
    (a, pool, client)
}

#[tokio::test]
async fn cognito_accounts_conformance() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    accounts::run(|| {
        let config = config.clone();
        async move { Arc::new(fresh(&config).await.0) as Arc<dyn Accounts> }
    })
    .await;
}

#[tokio::test]
async fn tokens_of_another_pool_are_refused() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let (ours, _, _) = fresh(&config).await;
    let (theirs, _, _) = fresh(&config).await;
    theirs.sign_up("alice", PASSWORD).await.unwrap();
    let foreign = theirs.sign_in("alice", PASSWORD).await.unwrap().token;
    assert!(theirs.verify(&foreign).await.is_ok());
    assert!(matches!(
        ours.verify(&foreign).await,
        Err(Error::Unauthorized)
    ));
}

#[tokio::test]
async fn access_tokens_are_not_bearer_tokens() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let (a, _, client) = fresh(&config).await;
    a.sign_up("bob", PASSWORD).await.unwrap();
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let out = idp
        .initiate_auth()
        .client_id(client)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "bob")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    let result = out.authentication_result().unwrap();
    assert!(a.verify(result.id_token().unwrap()).await.is_ok());
    assert!(matches!(
        a.verify(result.access_token().unwrap()).await,
        Err(Error::Unauthorized)
    ));
}

#[tokio::test]
async fn without_auto_confirm_the_pool_decides() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let (pool, client) = testing::create_user_pool(&config).await;
    let a = CognitoAccounts::new(&config, settings(&pool, &client, false)).unwrap();
    a.sign_up("carol", PASSWORD).await.unwrap();
    // No pre-sign-up trigger on the emulator: the account waits for confirmation.
    match a.sign_in("carol", PASSWORD).await {
        Err(Error::Invalid { code, .. }) => assert_eq!(code, "user-not-confirmed"),
        other => panic!("expected user-not-confirmed, got {other:?}"),
    }
}

#[tokio::test]
async fn the_pool_password_policy_is_reported_as_invalid_input() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let (a, _, _) = fresh(&config).await;
    // Long enough for our check, but no digit or symbol: the pool's policy refuses it.
    match a.sign_up("dora", "abcdefgh").await {
        Err(Error::Invalid { code, .. }) => assert_eq!(code, "weak-password"),
        other => panic!("expected weak-password, got {other:?}"),
    }
    assert_eq!(
        a.find_user("dora").await.unwrap(),
        None,
        "nothing was created"
    );
}
