//! [`Accounts`] on a Cognito user pool: SignUp, InitiateAuth `USER_PASSWORD_AUTH` (the ID
//! token is the bearer token), `REFRESH_TOKEN_AUTH`, and local verification of ID tokens
//! against the pool's JWKS.
//!
//! Usernames: the port wants them unique case-insensitively and shown as typed. Cognito pools
//! are case-sensitive unless created otherwise (and emulators always are), so the Cognito
//! `Username` is the lower-cased name and the name as typed is kept in the standard `name`
//! attribute (readable by the app client, so it is in the ID token). Username and password
//! rules are checked here first, so every adapter answers bad input alike.

mod admin;
mod errors;
mod verify;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};
use aws_sdk_cognitoidentityprovider::Client;
use imgtag_core::{Accounts, Caller, Error, Result, Session, UserInfo};

use errors::{code, other, BAD_CREDENTIALS};
use verify::Verifier;

/// Longest username, as for local accounts (Cognito itself allows 128).
const MAX_USERNAME_LEN: usize = 128;
/// Cognito's own limit on passwords.
const MAX_PASSWORD_LEN: usize = 256;

/// Which pool and app client, and how tokens are checked.
#[derive(Debug, Clone)]
pub struct CognitoSettings {
    /// e.g. `eu-west-1_AbCdEf123`.
    pub user_pool_id: String,
    /// An app client without a secret that allows `USER_PASSWORD_AUTH` and `REFRESH_TOKEN_AUTH`.
    pub client_id: String,
    /// Expected `iss`; default `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    pub issuer: Option<String>,
    /// Where the signing keys are; default `<issuer>/.well-known/jwks.json`, or
    /// `<endpoint>/<pool>/.well-known/jwks.json` with a custom endpoint (an emulator, whose
    /// `iss` still names AWS).
    pub jwks_url: Option<String>,
    /// Confirm new users with AdminConfirmSignUp. Off when the pool confirms them itself (the
    /// seed's pre-sign-up trigger); on for pools without one, and for emulators.
    pub auto_confirm: bool,
    /// Shortest accepted password (the pool's own policy applies on top).
    pub min_password_len: usize,
}

/// User accounts in a Cognito user pool.
pub struct CognitoAccounts {
    client: Client,
    pool_id: String,
    client_id: String,
    auto_confirm: bool,
    min_password_len: usize,
    verifier: Verifier,
}

impl std::fmt::Debug for CognitoAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoAccounts")
            .field("pool_id", &self.pool_id)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// The Cognito `Username` for a name as typed.
fn canonical(username: &str) -> String {
    username.to_lowercase()
}

fn check_username(u: &str) -> Result<()> {
    let ok = (1..=MAX_USERNAME_LEN).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid-username",
            format!(
                "username must be 1-{MAX_USERNAME_LEN} characters: letters, digits and . _ - @ +"
            ),
        ))
    }
}

fn session(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
    refresh_token: Option<String>,
) -> Result<Session> {
    let r = result.ok_or_else(|| {
        Error::invalid(
            "challenge-required",
            "this account needs a sign-in step the API does not support",
        )
    })?;
    let token = r
        .id_token()
        .ok_or_else(|| Error::Internal("Cognito returned no ID token".into()))?;
    Ok(Session {
        token: token.to_string(),
        refresh_token: r.refresh_token().map(str::to_string).or(refresh_token),
        expires_in: r.expires_in().max(0) as u64,
    })
}

impl CognitoAccounts {
    pub fn new(config: &SdkConfig, s: CognitoSettings) -> Result<Self> {
        // A pool id starts with its region: `eu-west-1_AbCdEf123`.
        let region = s
            .user_pool_id
            .split_once('_')
            .map(|(r, _)| r.to_string())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Error::Internal(format!("bad user pool id {:?}", s.user_pool_id)))?;
        let issuer = s.issuer.clone().unwrap_or_else(|| {
            format!(
                "https://cognito-idp.{region}.amazonaws.com/{}",
                s.user_pool_id
            )
        });
        let jwks_url = match (&s.jwks_url, config.endpoint_url()) {
            (Some(u), _) => u.clone(),
            (None, Some(ep)) => format!(
                "{}/{}/.well-known/jwks.json",
                ep.trim_end_matches('/'),
                s.user_pool_id
            ),
            (None, None) => format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')),
        };
        Ok(CognitoAccounts {
            client: Client::new(config),
            verifier: Verifier::new(issuer, s.client_id.clone(), jwks_url),
            pool_id: s.user_pool_id,
            client_id: s.client_id,
            auto_confirm: s.auto_confirm,
            min_password_len: s.min_password_len,
        })
    }

    /// The shortest time between two JWKS fetches caused by tokens with an unknown `kid`
    /// (default 30 s).
    pub fn jwks_refetch_interval(mut self, every: std::time::Duration) -> Self {
        self.verifier.refetch_every = every;
        self
    }

    fn check_password(&self, p: &str) -> Result<()> {
        let n = p.chars().count();
        if n < self.min_password_len.max(1) || n > MAX_PASSWORD_LEN {
            return Err(Error::invalid(
                "weak-password",
                format!(
                    "password must be {} to {MAX_PASSWORD_LEN} characters long",
                    self.min_password_len.max(1)
                ),
            ));
        }
        Ok(())
    }

    async fn confirm(&self, username: &str) -> Result<()> {
        let r = self
            .client
            .admin_confirm_sign_up()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await;
        if let Err(e) = r {
            let err = other("AdminConfirmSignUp", e);
            // Leave no unconfirmed account behind: the name must stay free for a retry.
            let _ = self.delete_user(username).await;
            return Err(err);
        }
        Ok(())
    }
}

#[async_trait]
impl Accounts for CognitoAccounts {
    #[tracing::instrument(skip_all, err)]
    async fn sign_up(&self, username: &str, password: &str) -> Result<()> {
        check_username(username)?;
        self.check_password(password)?;
        let name = AttributeType::builder()
            .name("name")
            .value(username)
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let canonical = canonical(username);
        let r = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .username(&canonical)
            .password(password)
            .user_attributes(name)
            .send()
            .await;
        match r {
            Ok(_) => {}
            Err(e) if code(&e) == Some("UsernameExistsException") => {
                return Err(Error::Conflict("User already exists".into()))
            }
            Err(e) => return Err(other("SignUp", e)),
        }
        if self.auto_confirm {
            self.confirm(&canonical).await?;
        }
        Ok(())
    }

    async fn sign_in(&self, username: &str, password: &str) -> Result<Session> {
        let bad = || Error::BadCredentials(BAD_CREDENTIALS.into());
        if check_username(username).is_err() || password.is_empty() {
            return Err(bad());
        }
        let r = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", canonical(username))
            .auth_parameters("PASSWORD", password)
            .send()
            .await;
        match r {
            Ok(out) => session(out.authentication_result(), None),
            Err(e) => match code(&e) {
                Some(
                    "NotAuthorizedException"
                    | "UserNotFoundException"
                    | "PasswordResetRequiredException",
                ) => Err(bad()),
                Some("UserNotConfirmedException") => Err(Error::invalid(
                    "user-not-confirmed",
                    "the account is not confirmed yet",
                )),
                _ => Err(other("InitiateAuth", e)),
            },
        }
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        if refresh_token.is_empty() {
            return Err(Error::Unauthorized);
        }
        let r = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await;
        match r {
            // Cognito keeps the refresh token: hand the same one back.
            Ok(out) => session(out.authentication_result(), Some(refresh_token.to_string())),
            Err(e) => match code(&e) {
                Some(
                    "NotAuthorizedException"
                    | "UserNotFoundException"
                    | "InvalidParameterException"
                    | "ResourceNotFoundException",
                ) => Err(Error::Unauthorized),
                _ => Err(other("InitiateAuth", e)),
            },
        }
    }

    async fn verify(&self, token: &str) -> Result<Caller> {
        self.verifier.verify(token).await
    }

    /// The pool publishes its keys itself; this adapter serves none.
    fn jwks(&self) -> Option<serde_json::Value> {
        None
    }

    fn rotates_refresh_tokens(&self) -> bool {
        false
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserInfo>> {
        self.admin_find(username).await
    }

    async fn list_users(&self) -> Result<Vec<UserInfo>> {
        self.admin_list().await
    }

    #[tracing::instrument(skip_all, err)]
    async fn delete_user(&self, username: &str) -> Result<bool> {
        self.admin_delete(username).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        self.check_password(password)?;
        self.admin_set_password(username, password).await
    }
}
