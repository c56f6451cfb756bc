//! The tagging handler: S3 notifications in SQS batches.

use std::sync::Arc;

use imgtag_core::{BlobKey, ImageId, ImageStatus, Owner};

use crate::events::{s3_body, sqs_batch, sqs_message};
use crate::support::{fixture_image, moto, Down, Moto};

/// Puts `bytes` at a fresh image key of `owner`; returns the key.
async fn upload(m: &Moto, owner: &Owner, bytes: Vec<u8>) -> BlobKey {
    let key = BlobKey::for_image(owner, &ImageId::new());
    m.s3()
        .put_object()
        .bucket(&m.bucket)
        .key(key.as_str())
        .body(bytes.into())
        .send()
        .await
        .unwrap();
    key
}

/// How S3 (and moto) write keys in notifications: URL-encoded, `/` included.
fn encoded(key: &BlobKey) -> String {
    key.as_str().replace('/', "%2F")
}

fn failures(r: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn every_record_is_tagged_and_only_the_bad_message_comes_back() {
    let Some(m) = moto(true).await else { return };
    let app = &m.state.app;
    let owner = Owner::parse("0f0e-owner").unwrap();
    let a = upload(&m, &owner, fixture_image("chelsea.jpg")).await;
    let b = upload(&m, &owner, fixture_image("chelsea.jpg")).await;
    let missing = BlobKey::for_image(&owner, &ImageId::new());
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
    let batch = sqs_batch(vec![
        // Two records in one message, the second key encoded as moto does.
        sqs_message(
            "two",
            &s3_body(&m.bucket, &[a.as_str().into(), encoded(&b)]),
            1,
        ),
        sqs_message("test", test_event, 1),
        sqs_message("missing", &s3_body(&m.bucket, &[encoded(&missing)]), 1),
    ]);
    let r = imgtag_lambda::tagging::handle(app, batch).await.unwrap();
    assert_eq!(failures(&r), vec!["missing".to_string()]);
    let mut tagged = Vec::new();
    for key in [&a, &b] {
        let (o, id) = key.image_parts().unwrap();
        let img = app.catalog.get_image(&o, &id).await.unwrap().unwrap();
        assert_eq!(img.status, ImageStatus::Tagged, "{img:?}");
        assert!(img.tags().contains(&"cat"), "{:?}", img.tags());
        tagged.push(img);
    }
    let (o, id) = missing.image_parts().unwrap();
    assert!(app.catalog.get_image(&o, &id).await.unwrap().is_none());

    // Redelivered (SQS is at-least-once): nothing is tagged again or duplicated.
    let again = sqs_batch(vec![sqs_message(
        "two",
        &s3_body(&m.bucket, &[encoded(&a)]),
        2,
    )]);
    let r = imgtag_lambda::tagging::handle(app, again).await.unwrap();
    assert!(failures(&r).is_empty());
    let (o, id) = a.image_parts().unwrap();
    let img = app.catalog.get_image(&o, &id).await.unwrap().unwrap();
    assert_eq!(
        img.updated_at, tagged[0].updated_at,
        "re-tagged on redelivery"
    );
    assert_eq!(img.labels, tagged[0].labels);
    let page = app.list_images(&owner, Default::default()).await.unwrap();
    assert_eq!(page.images.len(), 2);
}

#[tokio::test]
async fn the_last_attempt_marks_the_image_failed_with_the_reason() {
    let Some(mut m) = moto(true).await else {
        return;
    };
    m.state.app.tagger = Arc::new(Down);
    let app = &m.state.app;
    assert_eq!(app.settings.max_attempts, 5);
    let owner = Owner::parse("0f0e-owner2").unwrap();
    let key = upload(&m, &owner, fixture_image("chelsea.jpg")).await;
    let (o, id) = key.image_parts().unwrap();
    let body = s3_body(&m.bucket, &[encoded(&key)]);

    for attempt in 1..5 {
        let batch = sqs_batch(vec![sqs_message("m", &body, attempt)]);
        let r = imgtag_lambda::tagging::handle(app, batch).await.unwrap();
        assert_eq!(failures(&r), vec!["m".to_string()], "attempt {attempt}");
        let img = app.catalog.get_image(&o, &id).await.unwrap().unwrap();
        assert_eq!(img.status, ImageStatus::Pending);
    }
    let batch = sqs_batch(vec![sqs_message("m", &body, 5)]);
    let r = imgtag_lambda::tagging::handle(app, batch).await.unwrap();
    assert!(
        failures(&r).is_empty(),
        "the last attempt must not come back"
    );
    let img = app.catalog.get_image(&o, &id).await.unwrap().unwrap();
    assert_eq!(img.status, ImageStatus::Failed);
    let reason = img.failure_reason.unwrap();
    assert!(
        reason.contains("after 5 attempts") && reason.contains("tagging service unreachable"),
        "{reason}"
    );

    // An object that never arrived is dropped on its last attempt: nothing to mark.
    let gone = BlobKey::for_image(&owner, &ImageId::new());
    let batch = sqs_batch(vec![sqs_message(
        "g",
        &s3_body(&m.bucket, &[encoded(&gone)]),
        5,
    )]);
    let r = imgtag_lambda::tagging::handle(app, batch).await.unwrap();
    assert!(failures(&r).is_empty());
}
