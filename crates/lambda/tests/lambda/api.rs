//! The API handler: the caller from authorizer claims, else a verified bearer token.

use serde_json::{json, Value};

use crate::events::{claims, request, Api};
use crate::support::{claims_of, json_body, moto};

fn assert_unauthorized(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert!(body["code"].is_string(), "{body}");
}

#[tokio::test]
async fn authorizer_claims_identify_the_caller_on_rest_and_http_apis() {
    let Some(m) = moto(true).await else { return };
    let token = m.sign_up_and_in("alice").await;
    let sub = claims_of(&token)["sub"].as_str().unwrap().to_string();
    let verified = claims(&sub, "alice");
    for api in [Api::Rest, Api::Http] {
        // No Authorization header at all: the gateway verified the token and says who it is.
        let (status, r) = m
            .call(request(
                api,
                "POST",
                "/images",
                Some(Ok(&verified)),
                Some(&json!({})),
            ))
            .await;
        let ticket = json_body(r).await;
        assert_eq!(status, 201, "{api:?}: {ticket}");
        let key = ticket["formConfig"]["formFields"]["key"].as_str().unwrap();
        assert!(key.starts_with(&format!("images/{sub}/")), "{key}");
        let (status, r) = m
            .call(request(api, "GET", "/tags", Some(Ok(&verified)), None))
            .await;
        assert_eq!(status, 200);
        assert_eq!(json_body(r).await["tags"], json!([]));
    }
}

#[tokio::test]
async fn without_an_authorizer_the_bearer_token_is_verified() {
    let Some(m) = moto(true).await else { return };
    let token = m.sign_up_and_in("bob").await;
    // A token with a changed payload keeps its header and signature: the signature no longer
    // matches, whatever the claims say.
    let forged = {
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims = claims_of(&token);
        claims["sub"] = json!("someone-else");
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims).unwrap());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    for api in [Api::Rest, Api::Http] {
        let (status, r) = m
            .call(request(api, "GET", "/tags", Some(Err(&token)), None))
            .await;
        assert_eq!(status, 200, "{api:?}");
        assert_eq!(json_body(r).await["tags"], json!([]));

        let (status, r) = m
            .call(request(api, "GET", "/tags", Some(Err(&forged)), None))
            .await;
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert_unauthorized(status, &json_body(r).await);

        let (status, r) = m.call(request(api, "GET", "/tags", None, None)).await;
        assert_unauthorized(status, &json_body(r).await);
    }
}

#[tokio::test]
async fn claims_that_do_not_name_a_caller_are_not_trusted() {
    let Some(m) = moto(true).await else { return };
    // An access token's claims (no ID token), or claims without `sub`: the Router falls back to
    // the bearer check, and there is no bearer token.
    let access = json!({"sub": "0f0e-11", "username": "eve", "token_use": "access"});
    let no_sub = json!({"cognito:username": "eve", "token_use": "id"});
    for bad in [access, no_sub] {
        for api in [Api::Rest, Api::Http] {
            let (status, r) = m
                .call(request(api, "GET", "/tags", Some(Ok(&bad)), None))
                .await;
            assert_unauthorized(status, &json_body(r).await);
        }
    }
}

#[tokio::test]
async fn rest_stage_is_kept_in_redirects() {
    let Some(m) = moto(true).await else { return };
    let verified = claims("0f0e-22", "carol");
    let (status, r) = m
        .call(request(
            Api::Rest,
            "GET",
            "/tags/cat/images",
            Some(Ok(&verified)),
            None,
        ))
        .await;
    assert_eq!(status, 308);
    // The client reached `/Prod/tags/cat/images`; its redirect must stay under `/Prod`.
    assert_eq!(r.headers()["location"], "/Prod/images?tags=cat");
    let (status, r) = m
        .call(request(
            Api::Http,
            "GET",
            "/tags/cat/images",
            Some(Ok(&verified)),
            None,
        ))
        .await;
    assert_eq!(status, 308);
    assert_eq!(r.headers()["location"], "/images?tags=cat");
}

#[tokio::test]
async fn a_tag_with_a_space_arrives_decoded_and_still_redirects() {
    let Some(m) = moto(true).await else { return };
    let verified = claims("0f0e-23", "dave");
    // API Gateway passes the path decoded: `/tags/tabby cat/images`, a raw space.
    for (api, base) in [(Api::Rest, "/Prod"), (Api::Http, "")] {
        let (status, r) = m
            .call(request(
                api,
                "GET",
                "/tags/tabby cat/images",
                Some(Ok(&verified)),
                None,
            ))
            .await;
        assert_eq!(status, 308, "{api:?}");
        assert_eq!(
            r.headers()["location"],
            format!("{base}/images?tags=tabby+cat").as_str()
        );
    }
}
