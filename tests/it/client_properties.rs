//! Property tests of the client's pure parts: the retry policies, the
//! wire types of the Ameyo and SSO answers, the retry queue and URL
//! redaction.

use std::time::Duration;

use cti_client::error::redact_url;
use cti_client::generic::queue::{MemoryRetryQueue, RetryJob, RetryQueue as _};
use cti_client::policy::{Attempt, CcaiRetryRule, Decision, Idempotency, Outcome, RetryPolicy};
use cti_protocol::ameyo::api::AmeyoResult;
use cti_protocol::ameyo::sso::{SsoRequest, SsoResponse};
use proptest::prelude::*;

fn idempotency() -> impl Strategy<Value = Idempotency> {
    prop_oneof![
        Just(Idempotency::Idempotent),
        Just(Idempotency::Keyed),
        Just(Idempotency::Unsafe)
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Connect),
        Just(Outcome::Timeout),
        Just(Outcome::Interrupted),
        (100u16..600).prop_map(Outcome::Status),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(any::<String>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn retry_policy_invariants(
        max in 1u32..10,
        initial_ms in 0u64..5_000,
        max_ms in 0u64..60_000,
        number in 1u32..40,
        idem in idempotency(),
        out in outcome(),
    ) {
        let p = RetryPolicy::new(max, Duration::from_millis(initial_ms), Duration::from_millis(max_ms));
        let d = p.decide(&Attempt::new(number, idem, out));
        if number >= p.max_attempts {
            prop_assert_eq!(d, Decision::GiveUp);
        }
        if let Decision::Retry { after } = d {
            prop_assert!(after <= p.max_backoff);
            // A write that may have happened is never repeated without a key.
            if idem == Idempotency::Unsafe {
                prop_assert_eq!(out, Outcome::Connect);
            }
            // Client errors are final, except "too many requests".
            if let Outcome::Status(s) = out {
                prop_assert!(s >= 500 || s == 429, "status {}", s);
            }
        }
        prop_assert!(p.backoff(number) <= p.backoff(number + 1));
    }

    #[test]
    fn ccai_rule_stays_inside_its_window(
        first_s in 1u64..3_600,
        max_s in 1u64..86_400,
        window_s in 1u64..(14 * 86_400),
        status in 100u16..600,
    ) {
        let rule = CcaiRetryRule::new(
            Duration::from_secs(first_s),
            Duration::from_secs(max_s),
            Duration::from_secs(window_s),
        );
        let s = rule.schedule();
        prop_assert!(s.iter().sum::<Duration>() <= rule.window);
        prop_assert!(s.windows(2).all(|w| w[0] <= w[1]));
        if status != 400 {
            prop_assert_eq!(rule.next_delay(status, 1, Duration::ZERO), None);
        }
    }

    #[test]
    fn ameyo_and_sso_answers_round_trip(
        result in opt_text(), reason in opt_text(), message in opt_text(), info in opt_text(),
        code in prop::option::of(any::<i64>()), status_num in prop::option::of(any::<i32>()),
        sso_status in any::<String>(), session in opt_text(), sso_message in any::<String>(),
        user in any::<String>(), password in any::<String>(),
    ) {
        let mut a = AmeyoResult::default();
        a.result = result;
        a.reason = reason;
        a.message = message;
        a.info = info;
        a.code = code;
        a.status = status_num.map(serde_json::Value::from);
        let text = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<AmeyoResult>(&text).unwrap(), a);

        let mut r = match session {
            Some(s) => SsoResponse::logged_in(s, sso_message.clone()),
            None => SsoResponse::failed(sso_message.clone()),
        };
        r.status = sso_status;
        let text = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<SsoResponse>(&text).unwrap(), r);

        let login = SsoRequest::Login { user_id: user.clone(), password: password.clone().into() };
        let text = serde_json::to_string(&login).unwrap();
        prop_assert_eq!(serde_json::from_str::<SsoRequest>(&text).unwrap(), login.clone());
        // `Debug` does not depend on the password at all…
        let shown = format!("{:?}", login);
        let other = SsoRequest::Login { user_id: user.clone(), password: format!("x{password}").into() };
        prop_assert_eq!(&shown, &format!("{:?}", other));
        // …so it never shows it (unless the same text is also the user id).
        if password.len() > 3 && !user.contains(&password) {
            prop_assert!(!shown.contains(&password));
        }
    }

    #[test]
    fn redaction_hides_every_credential_value(
        secret in "[A-Za-z0-9]{6,20}",
        name in prop::sample::select(vec!["token", "access_token", "hash-key", "crmSessionId", "sessionId", "password", "apiKey", "code"]),
        plain in "[a-z]{1,10}",
    ) {
        let url = url::Url::parse_with_params(
            "https://u:pw@crm.example/x",
            [("command", plain.as_str()), (name, secret.as_str())],
        ).unwrap();
        let r = redact_url(&url).to_string();
        prop_assert!(!r.contains(&secret), "{}", r);
        prop_assert!(r.contains(&plain));
    }

    #[test]
    fn memory_queue_hands_out_each_due_job_once_in_order(
        offsets in prop::collection::vec(0i64..1_000, 0..40),
        cut in 0i64..1_000,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let q = MemoryRetryQueue::new();
            let base = jiff::Timestamp::from_second(1_800_000_000).unwrap();
            for (i, off) in offsets.iter().enumerate() {
                let at = base + jiff::SignedDuration::from_secs(*off);
                let job: RetryJob = serde_json::from_value(serde_json::json!({
                    "id": i.to_string(), "endpoint": "CreateRecord", "method": "POST",
                    "url": "https://crm.example/records", "body": {"n": i}, "failures": 1,
                    "first_failed_at": base, "next_at": at, "last_status": 400
                })).unwrap();
                q.push(job).await.unwrap();
            }
            let now = base + jiff::SignedDuration::from_secs(cut);
            let due = q.take_due(now, usize::MAX).await.unwrap();
            let expected = offsets.iter().filter(|o| **o <= cut).count();
            prop_assert_eq!(due.len(), expected);
            prop_assert!(due.windows(2).all(|w| w[0].next_at <= w[1].next_at));
            prop_assert!(due.iter().all(|j| j.next_at <= now));
            prop_assert_eq!(q.pending().await.unwrap(), offsets.len() - expected);
            prop_assert!(q.take_due(now, usize::MAX).await.unwrap().is_empty());
            Ok(())
        })?;
    }
}
