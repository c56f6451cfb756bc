//! Re-tagging on Lambda: `POST /images/{id}/retag` through the API handler puts a job on the
//! SQS job queue; that message, received from the emulator, runs on the tagging handler.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{json, Value};

use crate::events::{claims, from_sdk, request, s3_body, sqs_batch, sqs_message, Api};
use crate::support::{claims_of, fixture_image, json_body, moto, Down, Moto};

/// A signed-in user's claims (as API Gateway's authorizer passes them on).
async fn user(m: &Moto, name: &str) -> Value {
    let token = m.sign_up_and_in(name).await;
    let sub = claims_of(&token)["sub"].as_str().unwrap().to_string();
    claims(&sub, name)
}

/// Uploads the cat through a ticket from the API and its pre-signed PUT, then feeds the S3
/// notification to the tagging handler. Returns the image as the API shows it.
async fn upload_tagged(m: &Moto, who: &Value) -> Value {
    let (status, r) = m
        .call(request(
            Api::Rest,
            "POST",
            "/images",
            Some(Ok(who)),
            Some(&json!({})),
        ))
        .await;
    assert_eq!(status, 201);
    let ticket = json_body(r).await;
    let put = reqwest::Client::new()
        .put(ticket["putUrl"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(fixture_image("chelsea.jpg"))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "S3 answered {}", put.status());
    let key = ticket["formConfig"]["formFields"]["key"].as_str().unwrap();
    let body = s3_body(&m.bucket, &[key.replace('/', "%2F")]);
    let r = imgtag_lambda::tagging::handle(
        &m.state.app,
        sqs_batch(vec![sqs_message("upload", &body, 1)]),
    )
    .await
    .unwrap();
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    let image = get_image(m, who, ticket["id"].as_str().unwrap()).await;
    assert_eq!(image["status"], "tagged", "{image}");
    image
}

async fn get_image(m: &Moto, who: &Value, id: &str) -> Value {
    let path = format!("/images/{id}");
    let (status, r) = m
        .call(request(Api::Rest, "GET", &path, Some(Ok(who)), None))
        .await;
    assert_eq!(status, 200);
    json_body(r).await
}

async fn retag(m: &Moto, who: &Value, id: &str) {
    let path = format!("/images/{id}/retag");
    let (status, r) = m
        .call(request(Api::Rest, "POST", &path, Some(Ok(who)), None))
        .await;
    let body = json_body(r).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending", "{body}");
}

/// Every message waiting on the job queue, as Lambda's poller would hand them over.
async fn receive_jobs(m: &Moto) -> Vec<SqsMessage> {
    let r = m
        .sqs()
        .receive_message()
        .queue_url(&m.jobs)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    r.messages().iter().map(from_sdk).collect()
}

/// `message` as delivered for the `n`-th time.
fn delivery(message: &SqsMessage, n: u32) -> SqsMessage {
    let mut m = message.clone();
    m.attributes
        .insert("ApproximateReceiveCount".into(), n.to_string());
    m
}

fn failures(r: &SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn retag_through_the_api_runs_on_the_tagging_function() {
    let Some(m) = moto(true).await else { return };
    let who = user(&m, "rita").await;
    let first = upload_tagged(&m, &who).await;
    let id = first["id"].as_str().unwrap();
    // Recording and tagging the upload left nothing on the job queue: no upload watch (S3
    // events record uploads) and no second tagging of an image tagged inline.
    assert_eq!(m.state.app.queue.pending().await.unwrap(), 0);

    retag(&m, &who, id).await;
    let jobs = receive_jobs(&m).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job: Value = serde_json::from_str(jobs[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(job["type"], "tag_image");
    assert_eq!(job["image"], first["id"]);
    assert_eq!(jobs[0].attributes["ApproximateReceiveCount"], "1");

    let r = imgtag_lambda::tagging::handle(&m.state.app, sqs_batch(jobs.clone()))
        .await
        .unwrap();
    assert!(failures(&r).is_empty(), "{r:?}");
    let again = get_image(&m, &who, id).await;
    assert_eq!(again["status"], "tagged", "{again}");
    assert_eq!(
        again["tags"], first["tags"],
        "the same bytes, the same tags"
    );
    assert!(
        again["updatedAt"].as_str() > first["updatedAt"].as_str(),
        "tagged again: {again}"
    );

    // Redelivered (the batch came back after another message failed): nothing changes.
    let r = imgtag_lambda::tagging::handle(&m.state.app, sqs_batch(vec![delivery(&jobs[0], 2)]))
        .await
        .unwrap();
    assert!(failures(&r).is_empty(), "{r:?}");
    let after = get_image(&m, &who, id).await;
    assert_eq!(
        after["updatedAt"], again["updatedAt"],
        "re-tagged on redelivery"
    );
    assert_eq!(after["labels"], again["labels"]);

    // An upload watch, should one arrive, is acknowledged without touching anything.
    let watch = json!({"type": "ingest_upload", "owner": job["owner"], "image": job["image"],
        "name": "", "until": "2030-01-01T00:00:00Z"});
    let r = imgtag_lambda::tagging::handle(
        &m.state.app,
        sqs_batch(vec![sqs_message("watch", &watch.to_string(), 1)]),
    )
    .await
    .unwrap();
    assert!(failures(&r).is_empty(), "{r:?}");
    assert_eq!(
        get_image(&m, &who, id).await["updatedAt"],
        again["updatedAt"]
    );
}

#[tokio::test]
async fn a_retag_that_keeps_failing_marks_the_image_failed_on_the_last_receive() {
    let Some(mut m) = moto(true).await else {
        return;
    };
    let who = user(&m, "fay").await;
    let image = upload_tagged(&m, &who).await;
    let id = image["id"].as_str().unwrap();
    m.state.app.tagger = Arc::new(Down);
    retag(&m, &who, id).await;
    let jobs = receive_jobs(&m).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let message_id = jobs[0].message_id.clone().unwrap();

    for n in 1..5 {
        let batch = sqs_batch(vec![delivery(&jobs[0], n)]);
        let r = imgtag_lambda::tagging::handle(&m.state.app, batch)
            .await
            .unwrap();
        assert_eq!(failures(&r), vec![message_id.clone()], "receive {n}");
        assert_eq!(get_image(&m, &who, id).await["status"], "pending");
    }
    let batch = sqs_batch(vec![delivery(&jobs[0], 5)]);
    let r = imgtag_lambda::tagging::handle(&m.state.app, batch)
        .await
        .unwrap();
    assert!(
        failures(&r).is_empty(),
        "the last receive must not come back"
    );
    let failed = get_image(&m, &who, id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed["failureReason"].as_str().unwrap();
    assert!(
        reason.contains("after 5 attempts") && reason.contains("tagging service unreachable"),
        "{reason}"
    );
}
