//! `GenericCrmClient` against wiremock: the seed's flows, auth, OAuth,
//! timeouts and the 400 retry queue.

use std::sync::Arc;
use std::time::Duration;

use cti_client::ErrorKind;
use cti_client::generic::queue::{MemoryRetryQueue, RetryQueue as _};
use cti_client::generic::{CrmAuth, GenericCrmClient, OAuthConfig, PhoneSetting, Upload};
use cti_protocol::ccai::generic::{
    AttachmentResult, EndpointKind, GenericEndpoint, TextFormat, UploadType,
};
use cti_protocol::ccai::template::{RequestFormat, UrlTemplate, Values, Variable};
use cti_protocol::endpoint::Method;
use serde_json::json;
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ep(kind: EndpointKind, m: Method, url: String) -> GenericEndpoint {
    GenericEndpoint::new(kind, m, &url).unwrap()
}

fn crm(server: &MockServer, auth: CrmAuth) -> GenericCrmClient {
    let u = server.uri();
    GenericCrmClient::new(auth)
        .endpoint(ep(
            EndpointKind::FindAccountById,
            Method::Get,
            format!("{u}/accounts/{{ACCOUNT_ID}}"),
        ))
        .endpoint(
            ep(
                EndpointKind::FindAccountByQuery,
                Method::Get,
                format!("{u}/accounts"),
            )
            .param("phone", "{PHONE_NUMBER}")
            .unwrap()
            .response_location("data"),
        )
        .endpoint(
            ep(
                EndpointKind::CreateAccount,
                Method::Post,
                format!("{u}/accounts"),
            )
            .param("name", "{NAME}")
            .unwrap()
            .param("phone", "{PHONE_NUMBER}")
            .unwrap()
            .format(RequestFormat::ContainerMap("account".into()))
            .response_location("account"),
        )
        .endpoint(
            ep(
                EndpointKind::FindRecordByQuery,
                Method::Get,
                format!("{u}/records"),
            )
            .param("contactId", "{ACCOUNT_ID}")
            .unwrap()
            .response_location("records"),
        )
        .endpoint(
            ep(
                EndpointKind::CreateRecord,
                Method::Post,
                format!("{u}/records"),
            )
            .param("subject", "Call from {NAME}")
            .unwrap()
            .param("contactId", "{ACCOUNT_ID}")
            .unwrap(),
        )
        .phone_format(PhoneSetting::Automatic, "US")
}

#[tokio::test]
async fn find_or_create_account_falls_back_by_id_then_query_then_create() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/accounts/stale-id"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    // Searching uses the Automatic search form of the number.
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(query_param("phone", "*415*555*2671"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    // Creating uses the Automatic create form.
    Mock::given(method("POST"))
        .and(path("/accounts"))
        .and(header("authorization", "Basic YXBpOnMzY3JldA=="))
        .and(body_json(
            json!({"account": {"name": "James Bond", "phone": "+1 415 555 2671"}}),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"account": {"id": 123, "name": "James Bond"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = crm(&server, CrmAuth::basic("api", "s3cret"));
    let mut v = Values::new()
        .with(Variable::AccountId, "stale-id")
        .with(Variable::PhoneNumber, "(415) 555-2671")
        .with(Variable::Name, "James Bond");
    let found = c.find_or_create_account(&mut v).await.unwrap();
    assert!(found.created);
    assert_eq!(found.id, "123");
    assert_eq!(v.get(Variable::AccountId), Some("123"));
}

#[tokio::test]
async fn found_account_and_record_reuse() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"id": 123, "name": "James Bond", "phone": "11234567890"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/records"))
        .and(query_param("contactId", "123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"records": [{"id": 456, "subject": "Record title", "status": "open"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records"))
        // The id the CRM gave as a number goes back as one (seed 001's
        // record example: `"contactId": 123`).
        .and(body_json(
            json!({"subject": "Call from James", "contactId": 123}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "r-789"})))
        .expect(1)
        .mount(&server)
        .await;
    let c = crm(&server, CrmAuth::None);
    let mut v = Values::new()
        .with(Variable::PhoneNumber, "+12223334444")
        .with(Variable::Name, "James");
    let a = c.find_or_create_account(&mut v).await.unwrap();
    assert_eq!((a.id.as_str(), a.created), ("123", false));
    let r = c.find_or_create_record(&mut v).await.unwrap();
    assert_eq!((r.id.as_str(), r.created), ("456", false));
    let c = c.reuse_records(false);
    let r = c.find_or_create_record(&mut v).await.unwrap();
    assert_eq!((r.id.as_str(), r.created), ("r-789", true));
    assert_eq!(v.get(Variable::RecordId), Some("r-789"));
}

#[tokio::test]
async fn update_comment_and_uploads() {
    let server = MockServer::start().await;
    let u = server.uri();
    Mock::given(method("PATCH"))
        .and(path("/records/456"))
        .and(header("x-api-key", "key-1"))
        // Seed 001's record example sends the rating as a number.
        .and(body_json(json!({"subject": "Billing", "rating": 5})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records/456/comments"))
        .and(body_json(json!({"comment": "a &lt;b&gt;<br>c"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records/456/comments"))
        .and(body_string_contains("Recording<br>"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records/456/files"))
        .and(body_json(json!({"name": "call.mp3", "file": "SUQzAwA="})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": {"id": 77}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/records/456/multipart"))
        .and(header("x-api-key", "key-1"))
        .and(body_string_contains(
            "name=\"upload\"; filename=\"call.mp3\"",
        ))
        .and(body_string_contains("name=\"title\""))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 9, "url": "https://files.example/9"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut upload = ep(
        EndpointKind::UploadFile,
        Method::Post,
        format!("{u}/records/{{RECORD_ID}}/files"),
    )
    .param("name", "call.mp3")
    .unwrap()
    .param("file", "{FILE_DATA}")
    .unwrap();
    upload.attachment = Some(AttachmentResult::Id {
        location: "result.id".into(),
        builder: UrlTemplate::parse(
            "https://crm.example/records/{RECORD_ID}/attachments/{ATTACHMENT_ID}",
        )
        .unwrap(),
    });
    let mut comment = ep(
        EndpointKind::Comment,
        Method::Post,
        format!("{u}/records/{{RECORD_ID}}/comments"),
    )
    .param("comment", "{COMMENT_BODY}")
    .unwrap();
    comment.text_format = TextFormat::Html;
    let c = GenericCrmClient::new(CrmAuth::header("X-Api-Key", "key-1"))
        .endpoint(
            ep(
                EndpointKind::UpdateRecord,
                Method::Patch,
                format!("{u}/records/{{RECORD_ID}}"),
            )
            .param("subject", "{TICKET_SUBJECT}")
            .unwrap()
            .param("rating", "{RATING}")
            .unwrap()
            .param("feedback", "{FEEDBACK}")
            .unwrap(),
        )
        .endpoint(comment)
        .endpoint(upload);
    let v = Values::new()
        .with(Variable::RecordId, "456")
        .with(Variable::TicketSubject, "Billing")
        .with(Variable::Rating, "5");
    assert_eq!(c.update_record(&v).await.unwrap(), None);
    c.comment(&v, "a <b>\nc").await.unwrap();
    let file = Upload::new("call.mp3", "audio/mpeg", &b"ID3\x03\x00"[..]);
    let a = c.upload_file(&v, &file, Some("Recording")).await.unwrap();
    assert_eq!(a.id.as_deref(), Some("77"));
    assert_eq!(a.url, "https://crm.example/records/456/attachments/77");

    let mut multi = ep(
        EndpointKind::UploadFile,
        Method::Put,
        format!("{u}/records/{{RECORD_ID}}/multipart"),
    )
    .param("title", "Call recording")
    .unwrap()
    .param("upload", "{FILE_DATA}")
    .unwrap();
    multi.upload = UploadType::Multipart;
    multi.attachment = Some(AttachmentResult::Url {
        location: "url".into(),
    });
    let c = c.endpoint(multi);
    let a = c.upload_file(&v, &file, Some("Recording")).await.unwrap();
    assert_eq!(a.url, "https://files.example/9");
}

#[tokio::test]
async fn bad_requests_go_to_the_retry_queue_for_a_week() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/records"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "locked"})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    let queue = Arc::new(MemoryRetryQueue::new());
    let c = crm(&server, CrmAuth::None)
        .retry_queue(queue.clone())
        .reuse_records(false);
    let mut v = Values::new()
        .with(Variable::AccountId, "123")
        .with(Variable::Name, "Ada");
    let err = c.find_or_create_record(&mut v).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Queued);
    assert_eq!(queue.pending().await.unwrap(), 1);
    let now = jiff::Timestamp::now();
    // Not yet due.
    let r = c.run_retries(now, 10).await.unwrap();
    assert_eq!(r.sent, 0);
    // Due: a second 400 puts it back with a longer delay.
    let r = c
        .run_retries(now + Duration::from_secs(61), 10)
        .await
        .unwrap();
    assert_eq!((r.sent, r.requeued), (1, 1));
    let r = c
        .run_retries(now + Duration::from_secs(61 + 121), 10)
        .await
        .unwrap();
    assert_eq!((r.sent, r.succeeded), (1, 1));
    assert_eq!(queue.pending().await.unwrap(), 0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].body, reqs[2].body);
    // Other statuses are final.
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409))
        .mount(&server)
        .await;
    let err = c.find_or_create_record(&mut v).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Status, Some(409)));
    assert_eq!(queue.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn timeouts_are_enforced() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let find = ep(
        EndpointKind::FindAccountByQuery,
        Method::Get,
        format!("{}/accounts", server.uri()),
    )
    .timeout(Duration::from_secs(1))
    .unwrap();
    let c = GenericCrmClient::new(CrmAuth::None)
        .endpoint(find)
        .endpoint(ep(
            EndpointKind::CreateAccount,
            Method::Post,
            format!("{}/accounts", server.uri()),
        ))
        .retry_policy(cti_client::policy::RetryPolicy::never());
    let started = std::time::Instant::now();
    let err = c
        .find_or_create_account(&mut Values::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(2900));
}

#[tokio::test]
async fn oauth_token_is_fetched_once_refreshed_on_expiry_and_on_401() {
    let server = MockServer::start().await;
    let u = server.uri();
    // First: client credentials; the token lives 1 h and comes with a refresh token.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-ONE", "token_type": "bearer", "expires_in": 3600, "refresh_token": "RT-SECRET"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=RT-SECRET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-TWO", "token_type": "bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    // The CRM accepts AT-ONE twice, then revokes it.
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer AT-ONE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer AT-ONE"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer AT-TWO"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 2})))
        .mount(&server)
        .await;
    let oauth = OAuthConfig::new(
        &format!("{u}/oauth/authorize"),
        &format!("{u}/oauth/token"),
        "ccai",
        "CS-SECRET",
    )
    .unwrap()
    .scope("crm");
    let c = GenericCrmClient::new(CrmAuth::OAuth(Box::new(oauth))).endpoint(ep(
        EndpointKind::FindAccountByQuery,
        Method::Get,
        format!("{u}/accounts"),
    ));
    assert!(!format!("{c:?}").contains("SECRET"));
    for expected in ["1", "1", "2", "2"] {
        let found = c.find_or_create_account(&mut Values::new()).await.unwrap();
        assert_eq!(found.id, expected);
    }
    let token_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .count();
    assert_eq!(token_calls, 2);
}

#[tokio::test]
async fn oauth_failures_are_auth_errors_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let u = server.uri();
    let oauth = OAuthConfig::new(
        &format!("{u}/a"),
        &format!("{u}/oauth/token"),
        "ccai",
        "CS-SECRET",
    )
    .unwrap();
    let c = GenericCrmClient::new(CrmAuth::OAuth(Box::new(oauth))).endpoint(ep(
        EndpointKind::FindAccountByQuery,
        Method::Get,
        format!("{u}/accounts"),
    ));
    let err = c
        .find_or_create_account(&mut Values::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!format!("{err} {err:?}").contains("CS-SECRET"));
    // The client secret went as HTTP Basic to the token endpoint.
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn an_expiring_oauth_token_is_refreshed_before_use() {
    let server = MockServer::start().await;
    let u = server.uri();
    // Five seconds left is inside the refresh margin: the next call refreshes.
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-SHORT", "token_type": "bearer", "expires_in": 5, "refresh_token": "RT-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=RT-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-LONG", "token_type": "bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    let oauth = OAuthConfig::new(&format!("{u}/a"), &format!("{u}/t"), "ccai", "s").unwrap();
    let c = GenericCrmClient::new(CrmAuth::OAuth(Box::new(oauth))).endpoint(ep(
        EndpointKind::FindAccountByQuery,
        Method::Get,
        format!("{u}/accounts"),
    ));
    for _ in 0..4 {
        c.find_or_create_account(&mut Values::new()).await.unwrap();
    }
    let auths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/accounts")
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        auths,
        [
            "Bearer AT-SHORT",
            "Bearer AT-LONG",
            "Bearer AT-LONG",
            "Bearer AT-LONG"
        ]
    );
}

/// Seed 001: every 400 is retried — a GET too — and the seed's bodies
/// send ids and ratings as numbers, phone numbers as text.
#[tokio::test]
async fn a_get_answered_400_is_queued_and_ids_stay_numbers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records"))
        .and(body_json(
            json!({"subject": "Call from Ada", "contactId": 123}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 456})))
        .expect(1)
        .mount(&server)
        .await;
    let queue = Arc::new(MemoryRetryQueue::new());
    let c = crm(&server, CrmAuth::None)
        .retry_queue(queue.clone())
        .reuse_records(false);
    let mut v = Values::new()
        .with(Variable::PhoneNumber, "+14155550100")
        .with(Variable::Name, "Ada");
    let err = c.find_or_create_account(&mut v).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Queued);
    assert_eq!(queue.pending().await.unwrap(), 1);
    let mut v = v.with(Variable::AccountId, "123");
    c.find_or_create_record(&mut v).await.unwrap();
}

/// A multipart upload answered with 400 is queued with its file and sent
/// again as a multipart form; a network error during a retry keeps the
/// job for later.
#[tokio::test]
async fn multipart_retries_keep_their_file_and_survive_network_errors() {
    let server = MockServer::start().await;
    let u = server.uri();
    Mock::given(method("PUT"))
        .and(path("/records/456/multipart"))
        .respond_with(ResponseTemplate::new(400))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/records/456/multipart"))
        .and(body_string_contains(
            "name=\"upload\"; filename=\"call.mp3\"",
        ))
        .and(body_string_contains("ID3"))
        .and(body_string_contains("name=\"title\""))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"url": "https://files.example/9"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut multi = ep(
        EndpointKind::UploadFile,
        Method::Put,
        format!("{u}/records/{{RECORD_ID}}/multipart"),
    )
    .param("title", "Call recording")
    .unwrap()
    .param("upload", "{FILE_DATA}")
    .unwrap();
    multi.upload = UploadType::Multipart;
    multi.attachment = Some(AttachmentResult::Url {
        location: "url".into(),
    });
    let queue = Arc::new(MemoryRetryQueue::new());
    let c = GenericCrmClient::new(CrmAuth::None)
        .endpoint(multi)
        .retry_queue(queue.clone());
    let v = Values::new().with(Variable::RecordId, "456");
    let file = Upload::new("call.mp3", "audio/mpeg", &b"ID3\x03\x00"[..]);
    let err = c.upload_file(&v, &file, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Queued);
    let jobs = queue
        .take_due(jiff::Timestamp::now() + Duration::from_secs(3600), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].upload.is_some(), "the file is queued with the job");
    // The CRM is unreachable when the retry runs: the job stays.
    let mut unreachable = jobs[0].clone();
    unreachable.url = "http://127.0.0.1:9/records/456/multipart".into();
    queue.push(unreachable).await.unwrap();
    let now = jiff::Timestamp::now() + Duration::from_secs(3600);
    let r = c.run_retries(now, 10).await.unwrap();
    assert_eq!((r.sent, r.requeued, r.dropped), (1, 1, 0));
    assert_eq!(queue.pending().await.unwrap(), 1);
    // Reachable again: the file goes as a multipart form, not JSON.
    let mut back = queue
        .take_due(now + Duration::from_secs(7 * 24 * 3600), 10)
        .await
        .unwrap();
    let mut job = back.remove(0);
    job.url = format!("{u}/records/456/multipart");
    queue.push(job).await.unwrap();
    let r = c
        .run_retries(now + Duration::from_secs(7 * 24 * 3600), 10)
        .await
        .unwrap();
    assert_eq!((r.sent, r.succeeded), (1, 1));
}

/// Seed 001's post call or chat actions flow: account, record, update
/// (CSAT), comments for start, end, CSAT and disposition with notes, then
/// each file uploaded with its comment; a step the CRM answers with 400
/// is queued and the flow goes on.
#[tokio::test]
async fn the_post_call_actions_flow_runs_every_step_in_order() {
    use cti_client::generic::flow::{Csat, PostSession, SessionFile, StepOutcome};
    let server = MockServer::start().await;
    let u = server.uri();
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": 123, "name": "Ada"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/records"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"records": [{"id": 456}]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/records/456"))
        .and(body_json(json!({"rating": 4, "feedback": "quick"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records/456/comments"))
        .and(body_string_contains("CSAT rating"))
        .respond_with(ResponseTemplate::new(400))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records/456/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records/456/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": {"id": 77}})))
        .expect(1)
        .mount(&server)
        .await;
    let mut upload = ep(
        EndpointKind::UploadFile,
        Method::Post,
        format!("{u}/records/{{RECORD_ID}}/files"),
    )
    .param("file", "{FILE_DATA}")
    .unwrap();
    upload.attachment = Some(AttachmentResult::Id {
        location: "result.id".into(),
        builder: UrlTemplate::parse(
            "https://crm.example/records/{RECORD_ID}/files/{ATTACHMENT_ID}",
        )
        .unwrap(),
    });
    let queue = Arc::new(MemoryRetryQueue::new());
    let c = crm(&server, CrmAuth::None)
        .endpoint(
            ep(
                EndpointKind::UpdateRecord,
                Method::Patch,
                format!("{u}/records/{{RECORD_ID}}"),
            )
            .param("rating", "{RATING}")
            .unwrap()
            .param("feedback", "{FEEDBACK}")
            .unwrap(),
        )
        .endpoint(
            ep(
                EndpointKind::Comment,
                Method::Post,
                format!("{u}/records/{{RECORD_ID}}/comments"),
            )
            .param("comment", "{COMMENT_BODY}")
            .unwrap(),
        )
        .endpoint(upload)
        .retry_queue(queue.clone());
    let mut session = PostSession::new("call");
    session.started = Some(jiff::Timestamp::from_second(1_800_000_000).unwrap());
    session.ended = Some(jiff::Timestamp::from_second(1_800_000_300).unwrap());
    let mut csat = Csat::new(4);
    csat.comment = Some("quick".into());
    session.csat = Some(csat);
    session.disposition = Some("resolved".into());
    session.notes = vec!["refund sent".into()];
    session.files = vec![SessionFile::new(
        Upload::new("call.mp3", "audio/mpeg", &b"ID3\x03\x00"[..]),
        "Recording",
    )];
    let mut v = Values::new().with(Variable::PhoneNumber, "+14155550100");
    let report = c.run_post_session(&mut v, &session).await.unwrap();
    let steps: Vec<(&str, &str)> = report
        .steps
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                match s.outcome {
                    StepOutcome::Done => "done",
                    StepOutcome::Skipped => "skipped",
                    StepOutcome::Queued => "queued",
                    _ => "failed",
                },
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("account", "done"),
            ("record", "done"),
            ("update", "done"),
            ("comment: start", "done"),
            ("comment: end", "done"),
            ("comment: csat", "queued"),
            ("comment: disposition", "done"),
            ("upload: Recording", "done"),
        ]
    );
    assert!(!report.is_complete());
    assert_eq!(queue.pending().await.unwrap(), 1);
    // The comments' order on the wire, and what they say.
    let comments: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/records/456/comments")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        comments[0].contains("The call started at 2027-01-15 08:00:00 UTC"),
        "{comments:?}"
    );
    assert!(comments[1].contains("The call ended at 2027-01-15 08:05:00 UTC"));
    assert!(comments[3].contains("Disposition: resolved") && comments[3].contains("refund sent"));
    // The upload's own comment names the file and its URL.
    assert!(comments[4].contains("Recording") && comments[4].contains("/records/456/files/77"));
}
