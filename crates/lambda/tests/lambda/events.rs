//! API Gateway, SQS and S3 events from the `aws_lambda_events` sample fixtures, filled in.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const REST: &str = include_str!("../fixtures/example-apigw-request.json");
const HTTP_JWT: &str = include_str!("../fixtures/example-apigw-v2-request-jwt-authorizer.json");
const HTTP_NO_AUTH: &str = include_str!("../fixtures/example-apigw-v2-request-no-authorizer.json");
const SQS: &str = include_str!("../fixtures/example-sqs-event.json");
const S3: &str = include_str!("../fixtures/example-s3-event.json");

#[derive(Clone, Copy, Debug)]
pub enum Api {
    /// REST API proxy event (stage `Prod` in `requestContext`).
    Rest,
    /// HTTP API (payload 2.0) event on the `$default` stage.
    Http,
}

/// What API Gateway's Cognito / JWT authorizer passes on for a verified ID token.
pub fn claims(sub: &str, username: &str) -> Value {
    json!({"sub": sub, "cognito:username": username, "name": username, "token_use": "id"})
}

/// An API request event. `auth`: `Some(Ok(claims))` = behind the authorizer,
/// `Some(Err(token))` = no authorizer context, an `Authorization: Bearer` header;
/// `None` = neither.
pub fn event(
    api: Api,
    method: &str,
    path_and_query: &str,
    auth: Option<Result<&Value, &str>>,
    body: Option<&Value>,
) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let pairs: Vec<(String, String)> = form_pairs(query);
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    if let Some(Err(token)) = auth {
        headers.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    let body = body.map(|b| b.to_string());
    match api {
        Api::Rest => {
            let mut e: Value = serde_json::from_str(REST).unwrap();
            e["httpMethod"] = json!(method);
            e["path"] = json!(path);
            e["requestContext"]["httpMethod"] = json!(method);
            e["requestContext"]["path"] = json!(format!("/Prod{path}"));
            e["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
            let multi: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            e["headers"] = Value::Object(headers);
            e["multiValueHeaders"] = Value::Object(multi);
            if !pairs.is_empty() {
                let mut single = serde_json::Map::new();
                let mut multi = serde_json::Map::new();
                for (k, v) in &pairs {
                    single.insert(k.clone(), json!(v));
                    multi
                        .entry(k.clone())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                        .unwrap()
                        .push(json!(v));
                }
                e["queryStringParameters"] = Value::Object(single);
                e["multiValueQueryStringParameters"] = Value::Object(multi);
            }
            match auth {
                Some(Ok(claims)) => e["requestContext"]["authorizer"] = json!({"claims": claims}),
                _ => {
                    e["requestContext"]
                        .as_object_mut()
                        .unwrap()
                        .remove("authorizer");
                }
            }
            e["body"] = json!(body);
            e
        }
        Api::Http => {
            let fixture = if matches!(auth, Some(Ok(_))) {
                HTTP_JWT
            } else {
                HTTP_NO_AUTH
            };
            let mut e: Value = serde_json::from_str(fixture).unwrap();
            e["rawPath"] = json!(path);
            e["rawQueryString"] = json!(query);
            e["requestContext"]["http"]["method"] = json!(method);
            e["requestContext"]["http"]["path"] = json!(path);
            e["headers"] = Value::Object(headers);
            if let Some(Ok(claims)) = auth {
                e["requestContext"]["authorizer"]["jwt"]["claims"] = claims.clone();
            }
            e["body"] = json!(body);
            e
        }
    }
}

/// [`event`] as the `lambda_http::Request` the runtime would hand the handler.
pub fn request(
    api: Api,
    method: &str,
    path_and_query: &str,
    auth: Option<Result<&Value, &str>>,
    body: Option<&Value>,
) -> lambda_http::Request {
    let e = event(api, method, path_and_query, auth, body);
    lambda_http::request::from_str(&e.to_string()).expect("a valid API Gateway event")
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                imgtag_lambda::tagging::decode_key(k),
                imgtag_lambda::tagging::decode_key(v),
            )
        })
        .collect()
}

/// An S3 notification body naming `keys` (encoded as S3 encodes them) in one message.
pub fn s3_body(bucket: &str, keys: &[String]) -> String {
    let template: Value = serde_json::from_str(S3).unwrap();
    let records: Vec<Value> = keys
        .iter()
        .map(|k| {
            let mut r = template["Records"][0].clone();
            r["s3"]["bucket"]["name"] = json!(bucket);
            r["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
            r["s3"]["object"]["key"] = json!(k);
            r
        })
        .collect();
    json!({ "Records": records }).to_string()
}

/// One SQS message: `(message id, body, ApproximateReceiveCount)`.
pub fn sqs_message(id: &str, body: &str, receive_count: u32) -> SqsMessage {
    let template: SqsEvent = serde_json::from_str(SQS).unwrap();
    let mut m = template.records[0].clone();
    m.message_id = Some(id.to_string());
    m.body = Some(body.to_string());
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    m
}

/// A message received from the emulator, as Lambda's SQS poller hands it to the function.
pub fn from_sdk(msg: &aws_sdk_sqs::types::Message) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = msg.message_id().map(str::to_string);
    m.receipt_handle = msg.receipt_handle().map(str::to_string);
    m.body = msg.body().map(str::to_string);
    for (k, v) in msg.attributes().into_iter().flatten() {
        m.attributes.insert(k.as_str().to_string(), v.clone());
    }
    m
}

pub fn sqs_batch(messages: Vec<SqsMessage>) -> LambdaEvent<SqsEvent> {
    let mut event: SqsEvent = serde_json::from_str(SQS).unwrap();
    event.records = messages;
    LambdaEvent::new(event, Context::default())
}
