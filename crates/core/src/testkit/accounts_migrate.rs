//! Conformance checks for moving accounts between backends (`export_users` / `import_user`,
//! what `imgtag migrate` uses), for adapters that implement them. Each check takes two fresh,
//! independent adapters: the source and the destination.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::accounts::PASSWORD;
use crate::{Accounts, Error};

type Pair = (Arc<dyn Accounts>, Arc<dyn Accounts>);

/// Runs every check, each on two fresh adapters from `make` (which may be of different kinds,
/// e.g. SQLite then PostgreSQL, by counting calls).
pub async fn run<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Accounts>>,
{
    let checks: Vec<super::Check<Pair>> = vec![
        ("imported_users_sign_in_unchanged", |p| {
            Box::pin(imported_users_sign_in_unchanged(p)) as BoxFuture<'static, ()>
        }),
        ("import_again_is_false", |p| {
            Box::pin(import_again_is_false(p))
        }),
        ("import_taken_username_conflicts", |p| {
            Box::pin(import_taken_username_conflicts(p))
        }),
    ];
    super::run_checks("accounts_migrate", checks, || async {
        Arc::new((make().await, make().await))
    })
    .await
}

async fn owner_of(a: &Arc<dyn Accounts>, user: &str) -> crate::Owner {
    let token = a.sign_in(user, PASSWORD).await.expect("sign in").token;
    a.verify(&token).await.expect("verify").owner
}

async fn imported_users_sign_in_unchanged(p: Arc<Pair>) {
    let (src, dst) = (&p.0, &p.1);
    for u in ["Olga", "mia", "ned"] {
        src.sign_up(u, PASSWORD).await.unwrap();
    }
    let users = src.export_users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["mia", "ned", "Olga"], "ordered by username");
    for u in &users {
        assert!(!u.password_hash.is_empty());
        assert!(dst.import_user(u.clone()).await.unwrap(), "imported");
    }
    for u in ["Olga", "mia", "ned"] {
        // Same password, same owner: images keyed by owner stay theirs.
        assert_eq!(owner_of(dst, u).await, owner_of(src, u).await, "{u}");
    }
    assert!(matches!(
        dst.sign_in("mia", "wrong-password-1").await,
        Err(Error::BadCredentials(_))
    ));
    let listed = dst.list_users().await.unwrap();
    assert_eq!(listed.len(), 3);
    let olga = dst.find_user("olga").await.unwrap().expect("found");
    assert_eq!(olga.username, "Olga", "the name's case is kept");
    assert_eq!(
        olga.created_at.map(|t| t.timestamp()),
        Some(users[2].created_at.timestamp()),
        "creation time kept"
    );
    // A faithful copy (times to the millisecond: stores differ in precision).
    let key = |v: Vec<crate::UserRecord>| -> Vec<_> {
        v.into_iter()
            .map(|u| {
                (
                    u.owner,
                    u.username,
                    u.password_hash,
                    u.created_at.timestamp_millis(),
                )
            })
            .collect()
    };
    assert_eq!(key(dst.export_users().await.unwrap()), key(users));
}

async fn import_again_is_false(p: Arc<Pair>) {
    let (src, dst) = (&p.0, &p.1);
    src.sign_up("pia", PASSWORD).await.unwrap();
    let user = src.export_users().await.unwrap().remove(0);
    assert!(dst.import_user(user.clone()).await.unwrap());
    assert!(
        !dst.import_user(user).await.unwrap(),
        "a re-run is harmless"
    );
    assert_eq!(dst.list_users().await.unwrap().len(), 1);
    owner_of(dst, "pia").await;
}

async fn import_taken_username_conflicts(p: Arc<Pair>) {
    let (src, dst) = (&p.0, &p.1);
    src.sign_up("quinn", PASSWORD).await.unwrap();
    dst.sign_up("QUINN", "another-pass-9").await.unwrap();
    let user = src.export_users().await.unwrap().remove(0);
    assert!(matches!(
        dst.import_user(user).await,
        Err(Error::Conflict(_))
    ));
    // The destination's own account is untouched.
    dst.sign_in("quinn", "another-pass-9")
        .await
        .expect("the existing account still signs in");
    assert!(matches!(
        dst.sign_in("quinn", PASSWORD).await,
        Err(Error::BadCredentials(_))
    ));
}
