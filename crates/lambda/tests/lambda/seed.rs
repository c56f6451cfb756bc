//! The seed's whole client sequence through the Lambda entry points: sign-up (with the
//! pre-sign-up trigger), sign-in, a pre-signed POST to the emulator's S3, the emulator's own
//! S3 → SQS notification fed to the tagging handler, then the tag listings through the API.

use std::time::{Duration, Instant};

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreSignup;
use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use crate::events::{claims, from_sdk, request, sqs_batch, Api};
use crate::support::{claims_of, fixture_image, json_body, moto, Moto};

const PRESIGNUP: &str = include_str!("../fixtures/example-cognito-event-userpools-presignup.json");

/// A queue that receives the bucket's ObjectCreated notifications, as the template wires it.
async fn notify_queue(m: &Moto) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&m.sdk);
    let q = sqs
        .create_queue()
        .queue_name(imgtag_aws::testing::unique("imgtag-tagging"))
        .send()
        .await
        .unwrap();
    let url = q.queue_url().unwrap().to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn =
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let notify = QueueConfiguration::builder()
        .queue_arn(arn)
        .events(Event::S3ObjectCreated)
        .build()
        .unwrap();
    m.s3()
        .put_bucket_notification_configuration()
        .bucket(&m.bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(notify)
                .build(),
        )
        .send()
        .await
        .unwrap();
    (sqs, url)
}

/// Receives until a message names an object (the first is S3's `s3:TestEvent`), as Lambda's
/// SQS poller would hand them over.
async fn receive_upload_batch(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<SqsMessage> {
    let mut batch = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let r = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        batch.extend(r.messages().iter().map(from_sdk));
        if batch.iter().any(|m| {
            m.body
                .as_deref()
                .is_some_and(|b| b.contains("ObjectCreated"))
        }) {
            return batch;
        }
    }
    panic!("no ObjectCreated notification arrived: {batch:?}");
}

#[tokio::test]
async fn seed_sequence_through_the_lambda_entry_points() {
    // The pool confirms users through the trigger, as deployed (the adapter does not).
    let Some(m) = moto(false).await else { return };
    let (sqs, queue) = notify_queue(&m).await;

    let creds = json!({"username": "test", "password": "Abc123!"});
    let (status, r) = m
        .call(request(Api::Rest, "POST", "/signup", None, Some(&creds)))
        .await;
    assert_eq!(status, 201);
    assert_eq!(json_body(r).await, json!({"message": "Created"}));

    // Cognito runs the trigger during SignUp; moto cannot invoke Lambda, so the test does, with
    // the event Cognito would send, and applies its answer as Cognito does.
    let mut event: CognitoEventUserPoolsPreSignup = serde_json::from_str(PRESIGNUP).unwrap();
    event.cognito_event_user_pools_header.user_pool_id = Some(m.pool.clone());
    event.cognito_event_user_pools_header.user_name = Some("test".into());
    let answer = imgtag_lambda::presignup::handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(answer.response.auto_confirm_user);
    assert!(!answer.response.auto_verify_email, "no email was given");
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&m.sdk);
    let users = idp.list_users().user_pool_id(&m.pool).send().await.unwrap();
    let username = users.users()[0].username().unwrap().to_string();
    idp.admin_confirm_sign_up()
        .user_pool_id(&m.pool)
        .username(&username)
        .send()
        .await
        .unwrap();

    let token = m.sign_in("test").await;
    let sub = claims_of(&token)["sub"].as_str().unwrap().to_string();
    let verified = claims(&sub, "test");

    let (status, r) = m
        .call(request(
            Api::Rest,
            "POST",
            "/images",
            Some(Ok(&verified)),
            Some(&json!({})),
        ))
        .await;
    assert_eq!(status, 201);
    let ticket = json_body(r).await;
    let form = &ticket["formConfig"];
    let mut multipart = reqwest::multipart::Form::new();
    for (k, v) in form["formFields"].as_object().unwrap() {
        multipart = multipart.text(k.clone(), v.as_str().unwrap().to_string());
    }
    let part = reqwest::multipart::Part::bytes(fixture_image("chelsea.jpg"))
        .file_name("chelsea.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    let posted = reqwest::Client::new()
        .post(form["uploadUrl"].as_str().unwrap())
        .multipart(multipart.part("file", part))
        .send()
        .await
        .unwrap();
    assert!(
        posted.status().is_success(),
        "S3 answered {}",
        posted.status()
    );

    let batch = receive_upload_batch(&sqs, &queue).await;
    let bodies: Vec<_> = batch.iter().map(|m| m.body.clone()).collect();
    let r = imgtag_lambda::tagging::handle(&m.state.app, sqs_batch(batch))
        .await
        .unwrap();
    assert!(r.batch_item_failures.is_empty(), "{r:?} {bodies:?}");

    // HTTP API with a bearer token (no authorizer), then REST behind the authorizer.
    let (status, r) = m
        .call(request(Api::Http, "GET", "/tags", Some(Err(&token)), None))
        .await;
    assert_eq!(status, 200);
    let tags = json_body(r).await;
    assert!(
        tags["tags"].as_array().unwrap().contains(&json!("cat")),
        "{tags}"
    );

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
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let path = location.strip_prefix("/Prod").expect("stage kept");
    let (status, r) = m
        .call(request(Api::Rest, "GET", path, Some(Ok(&verified)), None))
        .await;
    assert_eq!(status, 200);
    let listing = json_body(r).await;
    let images = listing["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{listing}");
    assert_eq!(images[0]["id"], ticket["id"]);
    assert_eq!(images[0]["status"], "tagged");
    let tags: Vec<&str> = images[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tags.contains(&"cat"), "{tags:?}");
}
