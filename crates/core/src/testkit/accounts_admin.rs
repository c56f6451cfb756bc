//! Conformance checks for the administrative half of [`Accounts`] (what `imgtag user` uses).

use std::sync::Arc;

use super::accounts::PASSWORD;
use crate::{Accounts, Error};

pub(super) async fn find_user_is_case_insensitive(a: Arc<dyn Accounts>) {
    assert_eq!(a.find_user("hana").await.unwrap(), None);
    a.sign_up("Hana", PASSWORD).await.unwrap();
    let token = a.sign_in("Hana", PASSWORD).await.unwrap().token;
    let owner = a.verify(&token).await.unwrap().owner;
    for name in ["Hana", "hana", "HANA"] {
        let u = a.find_user(name).await.unwrap().expect("user found");
        assert_eq!((u.username.as_str(), &u.owner), ("Hana", &owner));
    }
}

pub(super) async fn list_users_is_sorted_and_complete(a: Arc<dyn Accounts>) {
    assert!(a.list_users().await.unwrap().is_empty());
    for u in ["ivan", "greta", "jun"] {
        a.sign_up(u, PASSWORD).await.unwrap();
    }
    let names: Vec<String> = a
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["greta", "ivan", "jun"]);
}

pub(super) async fn delete_user_ends_sign_in_and_refresh(a: Arc<dyn Accounts>) {
    a.sign_up("kim", PASSWORD).await.unwrap();
    a.sign_up("lee", PASSWORD).await.unwrap();
    let s = a.sign_in("kim", PASSWORD).await.unwrap();
    assert!(a.delete_user("KIM").await.unwrap());
    assert!(
        !a.delete_user("kim").await.unwrap(),
        "second delete is false"
    );
    assert_eq!(a.find_user("kim").await.unwrap(), None);
    assert!(matches!(
        a.sign_in("kim", PASSWORD).await,
        Err(Error::BadCredentials(_))
    ));
    if let Some(r) = s.refresh_token {
        assert!(matches!(a.refresh(&r).await, Err(Error::Unauthorized)));
    }
    // Others are untouched, and the name can be taken again.
    a.sign_in("lee", PASSWORD)
        .await
        .expect("lee still signs in");
    a.sign_up("kim", PASSWORD)
        .await
        .expect("name is free again");
}

pub(super) async fn set_password_replaces_it(a: Arc<dyn Accounts>) {
    a.sign_up("mia", PASSWORD).await.unwrap();
    let s = a.sign_in("mia", PASSWORD).await.unwrap();
    match a.set_password("mia", "x").await {
        Err(Error::Invalid { .. }) => {}
        other => panic!("weak password: expected Invalid, got {other:?}"),
    }
    a.sign_in("mia", PASSWORD)
        .await
        .expect("weak one was not set");
    a.set_password("MIA", "New456!pass").await.unwrap();
    assert!(matches!(
        a.sign_in("mia", PASSWORD).await,
        Err(Error::BadCredentials(_))
    ));
    a.sign_in("mia", "New456!pass").await.expect("new password");
    if let Some(r) = s.refresh_token {
        assert!(
            matches!(a.refresh(&r).await, Err(Error::Unauthorized)),
            "old sessions end with a password change"
        );
    }
    assert!(matches!(
        a.set_password("nobody", "New456!pass").await,
        Err(Error::NotFound(_))
    ));
}
