use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use imgtag_core::{Error, Session};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, JsonBody};
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct Credentials {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshBody {
    refresh_token: String,
}

fn session_json(s: Session) -> Value {
    json!({"token": s.token, "refreshToken": s.refresh_token, "expiresIn": s.expires_in})
}

pub(crate) async fn signup(
    State(st): State<AppState>,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    st.app.accounts.sign_up(&c.username, &c.password).await?;
    Ok((StatusCode::CREATED, Json(json!({"message": "Created"}))))
}

pub(crate) async fn signin(
    State(st): State<AppState>,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let s = st.app.accounts.sign_in(&c.username, &c.password).await?;
    Ok((StatusCode::CREATED, Json(session_json(s))))
}

pub(crate) async fn refresh(
    State(st): State<AppState>,
    JsonBody(b): JsonBody<RefreshBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let s = st.app.accounts.refresh(&b.refresh_token).await?;
    Ok((StatusCode::CREATED, Json(session_json(s))))
}

pub(crate) async fn jwks(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    st.app
        .accounts
        .jwks()
        .map(Json)
        .ok_or(ApiError(Error::NotFound("key set")))
}
