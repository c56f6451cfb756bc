//! The administrative half of [`imgtag_core::Accounts`] (what `imgtag user` uses):
//! AdminGetUser, ListUsers, AdminDeleteUser, AdminSetUserPassword. Every change that must
//! end a user's sessions is followed by AdminUserGlobalSignOut, which revokes their refresh
//! tokens (issued ID tokens stay valid until they expire, as with every JWT).

use aws_sdk_cognitoidentityprovider::primitives::DateTime as AwsDateTime;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use chrono::{DateTime, Utc};
use imgtag_core::{Error, Owner, Result, UserInfo};

use super::errors::{code, other};
use super::{canonical, check_username, CognitoAccounts};

/// ListUsers' largest page.
const PAGE: i32 = 60;

fn user_info(
    username: Option<&str>,
    attributes: &[AttributeType],
    created: Option<&AwsDateTime>,
) -> Result<UserInfo> {
    let attr = |n: &str| {
        attributes
            .iter()
            .find(|a| a.name() == n)
            .and_then(|a| a.value())
    };
    let sub = attr("sub").ok_or_else(|| Error::Internal("Cognito user without sub".into()))?;
    let owner = Owner::parse(sub).map_err(|_| Error::Internal("unexpected Cognito sub".into()))?;
    let username = attr("name")
        .or(username)
        .ok_or_else(|| Error::Internal("Cognito user without a name".into()))?;
    Ok(UserInfo {
        owner,
        username: username.to_string(),
        created_at: created
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
    })
}

impl CognitoAccounts {
    pub(super) async fn admin_find(&self, username: &str) -> Result<Option<UserInfo>> {
        if check_username(username).is_err() {
            return Ok(None);
        }
        let r = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(canonical(username))
            .send()
            .await;
        match r {
            Ok(u) => user_info(
                Some(u.username()),
                u.user_attributes(),
                u.user_create_date(),
            )
            .map(Some),
            Err(e) if code(&e) == Some("UserNotFoundException") => Ok(None),
            Err(e) => Err(other("AdminGetUser", e)),
        }
    }

    pub(super) async fn admin_list(&self) -> Result<Vec<UserInfo>> {
        let mut users = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_users()
                .user_pool_id(&self.pool_id)
                .limit(PAGE)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|e| other("ListUsers", e))?;
            for u in page.users() {
                users.push(user_info(
                    u.username(),
                    u.attributes(),
                    u.user_create_date(),
                )?);
            }
            match page.pagination_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        users.sort_by(|a, b| {
            (a.username.to_lowercase(), &a.username).cmp(&(b.username.to_lowercase(), &b.username))
        });
        Ok(users)
    }

    /// Revokes every refresh token of `username`; `false` if there is no such user.
    async fn sign_out_everywhere(&self, username: &str) -> Result<bool> {
        let r = self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("UserNotFoundException") => Ok(false),
            Err(e) => Err(other("AdminUserGlobalSignOut", e)),
        }
    }

    pub(super) async fn admin_delete(&self, username: &str) -> Result<bool> {
        if check_username(username).is_err() {
            return Ok(false);
        }
        let name = canonical(username);
        // Sessions first: deleting the user must end them even where the service (or an
        // emulator) would keep its tokens.
        if !self.sign_out_everywhere(&name).await? {
            return Ok(false);
        }
        let r = self
            .client
            .admin_delete_user()
            .user_pool_id(&self.pool_id)
            .username(&name)
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("UserNotFoundException") => Ok(false),
            Err(e) => Err(other("AdminDeleteUser", e)),
        }
    }

    pub(super) async fn admin_set_password(&self, username: &str, password: &str) -> Result<()> {
        if check_username(username).is_err() {
            return Err(Error::NotFound("user"));
        }
        let name = canonical(username);
        let r = self
            .client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(&name)
            .password(password)
            .permanent(true)
            .send()
            .await;
        match r {
            Ok(_) => {}
            Err(e) if code(&e) == Some("UserNotFoundException") => {
                return Err(Error::NotFound("user"))
            }
            Err(e) => return Err(other("AdminSetUserPassword", e)),
        }
        self.sign_out_everywhere(&name).await?;
        Ok(())
    }
}
