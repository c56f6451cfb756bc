//! Helpers for tests that run against the moto emulator (this crate's and the server's).
//! Convention: `IMGTAG_MOTO_URL` points at a running `moto_server`; when it is unset a test
//! prints a loud skip notice and returns, except under CI (`CI` set), where it panics so a
//! broken setup can never pass silently.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The emulator's URL, or `None` (after the loud notice) when the test should be skipped.
pub fn moto_url() -> Option<String> {
    match std::env::var("IMGTAG_MOTO_URL") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
        _ if std::env::var_os("CI").is_some() => {
            panic!("IMGTAG_MOTO_URL is not set but CI is: AWS tests must not be skipped in CI")
        }
        _ => {
            // Straight to the stderr handle: the test harness captures `eprintln!` of passing
            // tests, and a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n*** skipped: IMGTAG_MOTO_URL not set (start moto_server and point it there) ***"
            );
            None
        }
    }
}

/// An SDK config for the emulator: region `us-east-1`, dummy static credentials.
pub async fn sdk_config(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

/// A name no other test (or test run) uses: buckets, pools, tables. Lower case, so it is a
/// valid bucket name too.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Creates a bucket named `name` on the emulator.
pub async fn create_bucket(config: &SdkConfig, name: &str) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
}

/// A user pool like the seed's: plain usernames, passwords of 6+ characters with upper and
/// lower case, a digit and a symbol, and an app client (no secret) allowing
/// `USER_PASSWORD_AUTH` whose ID tokens carry the `name` attribute. Returns (pool id, client id).
pub async fn create_user_pool(config: &SdkConfig) -> (String, String) {
    use aws_sdk_cognitoidentityprovider::types::{
        ExplicitAuthFlowsType, PasswordPolicyType, UserPoolPolicyType,
    };
    let idp = aws_sdk_cognitoidentityprovider::Client::new(config);
    let policy = PasswordPolicyType::builder()
        .minimum_length(6)
        .require_uppercase(true)
        .require_lowercase(true)
        .require_numbers(true)
        .require_symbols(true)
        .build();
    let pool = idp
        .create_user_pool()
        .pool_name(unique("imgtag-pool"))
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(policy)
                .build(),
        )
        .send()
        .await
        .expect("create user pool");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_string();
    let client = idp
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("imgtag")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .read_attributes("name")
        .send()
        .await
        .expect("create user pool client");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_string();
    (pool_id, client_id)
}
