use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use imgtag_core::{Error, Session};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::json_body::JsonBody;
use crate::views::{Message, SessionView};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
pub(crate) struct Credentials {
    #[schema(example = "test")]
    username: String,
    #[schema(example = "Abc123!")]
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshBody {
    refresh_token: String,
}

fn session_view(s: Session) -> SessionView {
    SessionView {
        token: s.token,
        refresh_token: s.refresh_token,
        expires_in: s.expires_in,
    }
}

/// Creates an account.
#[utoipa::path(post, path = "/signup", tag = "accounts", request_body = Credentials,
    responses(
        (status = 201, body = Message, description = "`Created`"),
        (status = 400, body = ErrorBody, description = "Taken username, weak password, bad username, malformed JSON"),
        (status = 415, body = ErrorBody, description = "A Content-Type that cannot carry JSON"),
    ))]
pub(crate) async fn signup(
    State(st): State<AppState>,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    st.app.accounts.sign_up(&c.username, &c.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(Message {
            message: "Created".into(),
        }),
    ))
}

/// Signs in: a Bearer token for the other routes.
#[utoipa::path(post, path = "/signin", tag = "accounts", request_body = Credentials,
    responses(
        (status = 201, body = SessionView),
        (status = 400, body = ErrorBody, description = "Bad credentials, malformed JSON"),
        (status = 415, body = ErrorBody, description = "A Content-Type that cannot carry JSON"),
        (status = 429, body = ErrorBody, description = "Too many failed attempts"),
    ))]
pub(crate) async fn signin(
    State(st): State<AppState>,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    let s = st.app.accounts.sign_in(&c.username, &c.password).await?;
    Ok((StatusCode::CREATED, Json(session_view(s))))
}

/// Exchanges a refresh token for a new session; the old refresh token stops working.
#[utoipa::path(post, path = "/token/refresh", tag = "accounts", request_body = RefreshBody,
    responses(
        (status = 201, body = SessionView),
        (status = 400, body = ErrorBody, description = "Unknown, used or expired refresh token"),
        (status = 401, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "A Content-Type that cannot carry JSON"),
    ))]
pub(crate) async fn refresh(
    State(st): State<AppState>,
    JsonBody(b): JsonBody<RefreshBody>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    let s = st.app.accounts.refresh(&b.refresh_token).await?;
    Ok((StatusCode::CREATED, Json(session_view(s))))
}

/// The public keys that verify tokens (JWKS).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "accounts",
    responses(
        (status = 200, body = Object, description = "A JSON Web Key Set"),
        (status = 404, body = ErrorBody, description = "The account provider publishes no keys here"),
    ))]
pub(crate) async fn jwks(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    st.app
        .accounts
        .jwks()
        .map(Json)
        .ok_or(ApiError(Error::NotFound("key set")))
}
