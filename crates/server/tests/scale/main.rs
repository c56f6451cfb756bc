//! Scale-out: two `imgtag serve` processes (the real binary, different ports and data dirs)
//! sharing one PostgreSQL (catalog, queue, accounts, signing keys) and one blob folder, as
//! behind a load balancer. Needs `--features postgres` and `IMGTAG_PG_URL` (skipped loudly
//! without it, fails under `CI`).

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use imgtag_postgres::testing::pg_url;
use imgtag_postgres::testing_sql::{pairs, scalar};
use serde_json::{json, Value};

use harness::{client, photo, post_form, tags, Client, Cluster};

/// A user made on A signs in on B; tokens, refresh tokens, upload forms and file links from
/// one instance work on the other; an upload through A is tagged and found through B.
#[tokio::test]
async fn instances_share_accounts_images_and_signing_keys() {
    let Some(url) = pg_url() else { return };
    let cluster = Cluster::new(&url, 60).await;
    let (a, b) = (cluster.start(1).await, cluster.start(1).await);
    let (ca, cb) = (client(&a), client(&b));

    ca.sign_up("ines").await;
    let session = cb.sign_in("ines").await;
    let token = session["token"].as_str().unwrap();
    let jwks_a: Value = reqwest::get(format!("{}/.well-known/jwks.json", a.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks_b: Value = reqwest::get(format!("{}/.well-known/jwks.json", b.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks_a, jwks_b, "one signing key");
    // Signed up twice, on either instance: taken.
    let r = cb.post(
        "/signup",
        json!({"username": "INES", "password": "Abc123!"}),
        None,
    );
    let r = r.await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "conflict");
    // A refresh token issued by B rotates on A and is spent everywhere.
    let rt = json!({"refreshToken": session["refreshToken"]});
    assert_eq!(
        ca.post("/token/refresh", rt.clone(), None).await.status(),
        201
    );
    let reused = cb.post("/token/refresh", rt, None).await.status();
    assert!(reused.is_client_error(), "a spent refresh token: {reused}");

    // The token B issued is good on A; the upload through A is tagged and found through B.
    let cat = photo(0);
    let id = ca.upload(token, cat.clone()).await;
    let img = wait_tagged(&cb, token, &id).await;
    assert!(tags(&img).contains(&"cat".to_string()), "{img}");
    assert_eq!(cb.get_json("/tags", token).await["counts"]["cat"], 1);
    // B reuses that answer only while the catalog is unchanged: a manual tag added through A
    // shows on B at once (the catalog version moves in A's transaction).
    let r = reqwest::Client::new()
        .put(format!("{}/images/{id}/tags/mine", a.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "manual tag: {}", r.status());
    assert_eq!(cb.get_json("/tags", token).await["counts"]["mine"], 1);
    // B's file link serves A's upload from the shared folder.
    let file = reqwest::get(img["fileUrl"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().to_vec(), cat);
    // A form A signed is accepted by B (one URL-signing secret); a forged one is not.
    let ticket = ca.ticket(token).await;
    let mut forged = ticket.clone();
    let fields = forged["formConfig"]["formFields"].as_object_mut().unwrap();
    let sig = fields
        .keys()
        .find(|k| k.eq_ignore_ascii_case("x-amz-signature"))
        .cloned()
        .expect("a signature field");
    fields.insert(sig, json!("0".repeat(64)));
    let r = post_form(&forged, photo(2), Some(&b.url)).await;
    assert!(r.status().is_client_error(), "forged form: {}", r.status());
    let r = post_form(&ticket, photo(2), Some(&b.url)).await;
    assert!(r.status().is_success(), "A's form on B: {}", r.status());
    let id2 = ticket["id"].as_str().unwrap();
    assert_eq!(wait_tagged(&ca, token, id2).await["status"], "tagged");
    drop((a, b));
    cluster.cleanup().await;
}

/// 200 uploads spread over both instances, both tagging: each image is tagged exactly once
/// (one claim of its job, one tagging run), and both see all of them.
#[tokio::test]
async fn uploads_spread_over_two_instances_are_each_tagged_once() {
    let Some(url) = pg_url() else { return };
    // A lease far longer than any tagging run: a second claim would be a real double run.
    let cluster = Cluster::new(&url, 300).await;
    let (a, b) = (cluster.start(2).await, cluster.start(2).await);
    let (ca, cb) = (client(&a), client(&b));
    ca.sign_up("olaf").await;
    let token = cb.sign_in("olaf").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ids: BTreeSet<String> = futures::stream::iter(0..200)
        .map(|i| {
            let (c, t) = (if i % 2 == 0 { &ca } else { &cb }, &token);
            async move { c.upload(t, photo(i)).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(ids.len(), 200);
    wait_queue_empty(&cluster, Duration::from_secs(600)).await;

    for c in [&ca, &cb] {
        let page = c.get_json("/images?limit=1000", &token).await;
        let images = page["images"].as_array().unwrap();
        let seen: BTreeSet<String> = images
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(seen, ids, "{} lists every upload", c.url);
        assert!(images.iter().all(|i| i["status"] == "tagged"));
        assert_eq!(c.get_json("/tags", &token).await["counts"]["cat"], 100);
    }
    let claims = per_key(&cluster, "SELECT key, count(*) FROM claim_log GROUP BY key").await;
    let runs = per_key(
        &cluster,
        "SELECT image_id, count(*) FROM tag_log GROUP BY image_id",
    )
    .await;
    assert_eq!(runs.len(), 200, "every image had a tagging run");
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "tagged more than once: {twice:?}");
    let tag_claims: Vec<_> = claims
        .iter()
        .filter(|(k, _)| k.starts_with("tag:"))
        .collect();
    assert_eq!(tag_claims.len(), 200);
    assert!(tag_claims.iter().all(|(_, n)| **n == 1), "{tag_claims:?}");
    drop((a, b));
    cluster.cleanup().await;
}

/// A is killed (SIGKILL) while it holds jobs; once their lease ends B takes them over and
/// no job is left unfinished.
#[tokio::test]
async fn a_killed_instances_jobs_are_finished_by_the_other() {
    let Some(url) = pg_url() else { return };
    let cluster = Cluster::new(&url, 4).await;
    // B has one worker, so three unexpired leases at once mean A holds at least two.
    let (mut a, b) = (cluster.start(4).await, cluster.start(1).await);
    let (ca, cb) = (client(&a), client(&b));
    ca.sign_up("pia").await;
    let token = ca.sign_in("pia").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let uploads = futures::stream::iter(0..60)
        .map(|i| {
            let (ca, t) = (&ca, &token);
            async move { ca.upload(t, photo(i)).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<String>>();
    let watch = async {
        let start = Instant::now();
        loop {
            let held = scalar(
                &cluster.db,
                "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_until > now()",
            )
            .await
            .unwrap();
            if held >= 3 {
                return true;
            }
            if start.elapsed() > Duration::from_secs(120) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (ids, caught) = tokio::join!(uploads, watch);
    assert!(caught, "never saw A holding jobs");
    a.kill();
    let before: i64 = scalar(&cluster.db, "SELECT count(*) FROM jobs")
        .await
        .unwrap();
    assert!(before > 0, "A's jobs are still in the queue when it dies");

    wait_queue_empty(&cluster, Duration::from_secs(600)).await;
    let dead = scalar(&cluster.db, "SELECT count(*) FROM jobs")
        .await
        .unwrap();
    assert_eq!(dead, 0, "no dead letters");
    let retaken = per_key(
        &cluster,
        "SELECT key, max(attempt)::bigint FROM claim_log GROUP BY key",
    )
    .await
    .into_values()
    .filter(|n| *n >= 2)
    .count();
    assert!(retaken >= 1, "B took over A's leased jobs");
    for id in &ids {
        let img = cb.get_json(&format!("/images/{id}"), &token).await;
        assert_eq!(img["status"], "tagged", "{img}");
    }
    assert_eq!(cb.get_json("/tags", &token).await["counts"]["cat"], 30);
    drop(b);
    cluster.cleanup().await;
}

async fn per_key(cluster: &Cluster, sql: &str) -> BTreeMap<String, i64> {
    pairs(&cluster.db, sql).await.unwrap().into_iter().collect()
}

/// Waits until no job is waiting or running.
async fn wait_queue_empty(cluster: &Cluster, limit: Duration) {
    let start = Instant::now();
    loop {
        let live = scalar(
            &cluster.db,
            "SELECT count(*) FROM jobs WHERE state IN ('waiting', 'running')",
        )
        .await
        .unwrap();
        if live == 0 {
            return;
        }
        assert!(start.elapsed() < limit, "{live} jobs still unfinished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_tagged(c: &Client, token: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let img = c.get_json(&format!("/images/{id}"), token).await;
        if img["status"] != "pending" || start.elapsed() > Duration::from_secs(120) {
            return img;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
