//! Accounts on PostgreSQL: the accounts conformance suites, then what several instances on
//! one database promise (one signing key, one throttle, one set of refresh tokens) and the
//! export/import contract `imgtag migrate` relies on.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use imgtag_core::testkit::accounts::{self, PASSWORD};
use imgtag_core::{Accounts, Error, Owner, UserRecord};
use imgtag_local::AccountsConfig;
use imgtag_postgres::testing::pg_url;
use imgtag_postgres::{PgAccounts, PgDb, URL_SIGNING_KEY};

use crate::Schemas;

async fn accounts(db: &PgDb) -> PgAccounts {
    db.accounts(AccountsConfig::default()).await.unwrap()
}

#[tokio::test]
async fn accounts_on_postgres() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    accounts::run(|| {
        let s = &schemas;
        async move { Arc::new(accounts(&s.fresh().await).await) as Arc<dyn Accounts> }
    })
    .await;
    schemas.cleanup().await;
}

/// Two instances (two pools) on one schema: a user made on one signs in on the other, each
/// verifies the other's tokens, the JWKS agree, and a refresh token rotates across them.
#[tokio::test]
async fn instances_share_users_keys_and_refresh_tokens() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let schema = schemas.name();
    let (da, db) = (schemas.open(&schema).await, schemas.open(&schema).await);
    // Both start at once: the key is created once, whoever wins.
    let (a, b) = tokio::join!(accounts(&da), accounts(&db));
    assert_eq!(a.jwks(), b.jwks());
    let (a2, b2) = tokio::join!(
        da.shared_secret(URL_SIGNING_KEY),
        db.shared_secret("url-signing")
    );
    let (a2, b2) = (a2.unwrap(), b2.unwrap());
    assert_eq!(a2.len(), 32);
    assert_eq!(a2, b2, "one URL-signing secret for every instance");

    a.sign_up("Maya", PASSWORD).await.unwrap();
    let s = b.sign_in("maya", PASSWORD).await.unwrap();
    let caller = a.verify(&s.token).await.unwrap();
    assert_eq!(caller.username, "Maya");
    let rt = s.refresh_token.unwrap();
    let s2 = a.refresh(&rt).await.unwrap();
    assert!(matches!(b.refresh(&rt).await, Err(Error::Unauthorized)));
    assert_eq!(b.verify(&s2.token).await.unwrap(), caller);
    schemas.cleanup().await;
}

/// Failed sign-ins count across instances: five free failures, then a wait, on any instance.
#[tokio::test]
async fn sign_in_throttle_is_shared() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let schema = schemas.name();
    let a = accounts(&schemas.open(&schema).await).await;
    let b = accounts(&schemas.open(&schema).await).await;
    a.sign_up("nils", PASSWORD).await.unwrap();
    for i in 0..5 {
        let x = if i % 2 == 0 { &a } else { &b };
        assert!(matches!(
            x.sign_in("nils", "wrong-password").await,
            Err(Error::BadCredentials(_))
        ));
    }
    // The fifth failure starts a wait; even the right password is refused meanwhile.
    match a.sign_in("NILS", PASSWORD).await {
        Err(Error::RateLimited(s)) => assert_eq!(s, 1),
        other => panic!("expected a wait, got {other:?}"),
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    a.sign_in("nils", PASSWORD).await.unwrap();
    schemas.cleanup().await;
}

/// `export_users` / `import_user` as `imgtag migrate` uses them: hashes travel as is, a re-run
/// is harmless, another owner's name or id is a conflict.
#[tokio::test]
async fn export_and_import_move_accounts() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let (src, dst) = (
        accounts(&schemas.fresh().await).await,
        accounts(&schemas.fresh().await).await,
    );
    for u in ["Oona", "bert"] {
        src.sign_up(u, PASSWORD).await.unwrap();
    }
    let users = src.export_users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(
        names,
        ["bert", "Oona"],
        "ordered by username, case-insensitively"
    );
    assert!(users[0].password_hash.starts_with("$argon2id$"));
    for u in &users {
        assert!(dst.import_user(u.clone()).await.unwrap());
        assert!(!dst.import_user(u.clone()).await.unwrap(), "a re-run");
    }
    assert_eq!(dst.export_users().await.unwrap(), users);
    // The old password works on the new database, under the same owner.
    let token = dst.sign_in("oona", PASSWORD).await.unwrap().token;
    assert_eq!(dst.verify(&token).await.unwrap().owner, users[1].owner);

    let stranger = UserRecord {
        owner: Owner::parse("someoneelse").unwrap(),
        username: "BERT".into(),
        password_hash: users[0].password_hash.clone(),
        created_at: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
    };
    assert!(matches!(
        dst.import_user(stranger.clone()).await,
        Err(Error::Conflict(_))
    ));
    let same_id = UserRecord {
        owner: users[0].owner.clone(),
        username: "newname".into(),
        ..stranger
    };
    assert!(matches!(
        dst.import_user(same_id).await,
        Err(Error::Conflict(_))
    ));
    schemas.cleanup().await;
}

/// Failed sign-ins are forgotten after a day, pruned on every failure: a spray of made-up
/// usernames cannot grow the table for ever, and an old streak does not make the next typo wait.
#[tokio::test]
async fn old_signin_failures_are_pruned() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let db = schemas.fresh().await;
    let a = accounts(&db).await;
    sqlx::query(
        "INSERT INTO signin_failures VALUES
            ('sprayed', 9, now() - interval '25 hours'),
            ('maya', 12, now() - interval '25 hours'),
            ('recent', 7, now() - interval '1 hour')",
    )
    .execute(db.pool())
    .await
    .unwrap();
    a.sign_up("Maya", PASSWORD).await.unwrap();
    let wrong = a.sign_in("maya", "not the password").await;
    assert!(matches!(wrong, Err(Error::BadCredentials(_))), "{wrong:?}");
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT username_lower, failures FROM signin_failures ORDER BY 1")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let rows: Vec<(&str, i64)> = rows.iter().map(|(u, n)| (u.as_str(), *n)).collect();
    assert_eq!(rows, [("maya", 1), ("recent", 7)]);
    // One fresh failure: no wait.
    a.sign_in("maya", PASSWORD).await.unwrap();
    schemas.cleanup().await;
}
