//! Shared by the cti-media test binaries: the service rules (skip loudly
//! without a service, fail under `CI=true` or `CTI_REQUIRE_SERVICES=1`).
#![allow(dead_code)]

#[path = "../../../tests/support/services.rs"]
mod services;

#[allow(unused_imports)] // each test binary uses its own share
pub(crate) use services::{feature_off, from_env, ran, required, skipped};

/// The Redis URL, or a loud skip (a failure when services are required).
pub(crate) fn redis_url(test: &str) -> Option<String> {
    from_env(
        test,
        "Redis",
        "CTI_REDIS_URL",
        "start redis-server and set it, or run .ci/run",
    )
}

/// A loopback port nothing listens on (a target that is down).
pub(crate) fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9)
}

use cti_media::interaction::{Interaction, InteractionId, Op};
use cti_protocol::model::{Channel, Direction, Party};
use jiff::Timestamp;

fn voice(id: &str, direction: Direction, at: Timestamp) -> Interaction {
    Interaction::offered(
        InteractionId::new(id),
        Channel::Voice,
        direction,
        Party::address("+14155552671"),
        at,
    )
}

/// An inbound voice call offered at `at`.
pub(crate) fn call(id: &str, at: Timestamp) -> Interaction {
    voice(id, Direction::Inbound, at)
}

/// An outbound voice call offered at `at`.
pub(crate) fn outbound(id: &str, at: Timestamp) -> Interaction {
    voice(id, Direction::Outbound, at)
}

/// An inbound call answered and hung up at `at` (in wrap-up).
pub(crate) fn ended_call(id: &str, at: Timestamp) -> Interaction {
    let mut c = call(id, at);
    let answered = c.apply(Op::Answer, at);
    let ended = c.apply(Op::HangUp, at);
    assert!(
        answered.is_ok() && ended.is_ok(),
        "a fresh call answers and ends"
    );
    c
}
