//! The interaction state machine: every operation in every state against
//! an independent table of what is allowed, and random operation
//! sequences against the lifecycle's invariants.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cti_media::interaction::{ConsultState, Interaction, InteractionId, Op, State};
use cti_protocol::model::{Channel, Direction, Party};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

fn t(s: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(s)
}

fn new(channel: Channel, direction: Direction) -> Interaction {
    Interaction::offered(
        InteractionId::new("i-1"),
        channel,
        direction,
        Party::address("+14155552671"),
        t(0),
    )
}

/// Every kind of operation, with valid arguments.
fn ops() -> Vec<Op> {
    vec![
        Op::Answer,
        Op::Reject {
            reason: "agent_rejected".into(),
        },
        Op::Miss {
            reason: "ring_timeout".into(),
        },
        Op::NotConnected {
            reason: "busy".into(),
        },
        Op::Hold,
        Op::Resume,
        Op::HangUp,
        Op::StartWrapUp,
        Op::Dispose {
            code: "sale".into(),
        },
        Op::ForceDispose {
            code: "timeout".into(),
        },
        Op::BlindTransfer {
            to: Party::address("+15550001"),
        },
        Op::StartConsult {
            party: Party::address("+15550002"),
        },
        Op::ConsultAnswered,
        Op::CancelConsult,
        Op::CompleteConsult,
        Op::MergeConsult,
        Op::AddParty {
            party: Party::address("+15550003"),
        },
        Op::UpgradeToVideo,
        Op::Mute { on: true },
        Op::Record { on: true },
        Op::Dtmf {
            digits: "12#".into(),
        },
        Op::Note {
            text: "called back".into(),
        },
    ]
}

/// The situations an interaction can be in, each reached by real
/// operations.
fn situations() -> Vec<(&'static str, Interaction)> {
    let run = |mut i: Interaction, steps: &[Op]| {
        for (n, op) in steps.iter().enumerate() {
            i.apply(op.clone(), t(n as i64 + 1))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        i
    };
    let voice = || new(Channel::Voice, Direction::Inbound);
    let consult = Op::StartConsult {
        party: Party::address("+15550002"),
    };
    vec![
        ("offered", voice()),
        ("offered outbound", new(Channel::Voice, Direction::Outbound)),
        ("connected", run(voice(), &[Op::Answer])),
        (
            "connected chat",
            run(new(Channel::Chat, Direction::Inbound), &[Op::Answer]),
        ),
        (
            "connected video",
            run(voice(), &[Op::Answer, Op::UpgradeToVideo]),
        ),
        ("held", run(voice(), &[Op::Answer, Op::Hold])),
        (
            "consult ringing",
            run(voice(), &[Op::Answer, consult.clone()]),
        ),
        (
            "consult connected",
            run(voice(), &[Op::Answer, consult, Op::ConsultAnswered]),
        ),
        ("ended", run(voice(), &[Op::Answer, Op::HangUp])),
        (
            "wrap-up",
            run(voice(), &[Op::Answer, Op::HangUp, Op::StartWrapUp]),
        ),
        (
            "completed",
            run(
                voice(),
                &[
                    Op::Answer,
                    Op::HangUp,
                    Op::StartWrapUp,
                    Op::Dispose {
                        code: "sale".into(),
                    },
                ],
            ),
        ),
        (
            "missed",
            run(
                voice(),
                &[Op::Miss {
                    reason: "ring_timeout".into(),
                }],
            ),
        ),
        (
            "rejected",
            run(
                voice(),
                &[Op::Reject {
                    reason: "agent_rejected".into(),
                }],
            ),
        ),
        (
            "not connected",
            run(
                new(Channel::Voice, Direction::Outbound),
                &[Op::NotConnected {
                    reason: "busy".into(),
                }],
            ),
        ),
    ]
}

/// The specification, written apart from the implementation: may `op`
/// run in `situation`?
fn allowed(situation: &str, op: &Op) -> bool {
    use Op::*;
    let call = !matches!(situation, "connected chat");
    match situation {
        "offered" => matches!(op, Answer | Reject { .. } | Miss { .. }),
        "offered outbound" => matches!(
            op,
            Answer | Reject { .. } | Miss { .. } | NotConnected { .. }
        ),
        "connected" | "connected chat" | "connected video" => match op {
            Hold
            | HangUp
            | BlindTransfer { .. }
            | StartConsult { .. }
            | AddParty { .. }
            | Note { .. } => true,
            UpgradeToVideo => situation == "connected",
            Mute { .. } | Record { .. } | Dtmf { .. } => call,
            _ => false,
        },
        "held" => matches!(
            op,
            Resume
                | HangUp
                | BlindTransfer { .. }
                | StartConsult { .. }
                | AddParty { .. }
                | Note { .. }
                | Mute { .. }
                | Record { .. }
        ),
        "consult ringing" => matches!(
            op,
            HangUp
                | ConsultAnswered
                | CancelConsult
                | AddParty { .. }
                | Note { .. }
                | Mute { .. }
                | Record { .. }
        ),
        "consult connected" => matches!(
            op,
            HangUp
                | CancelConsult
                | CompleteConsult
                | MergeConsult
                | AddParty { .. }
                | Note { .. }
                | Mute { .. }
                | Record { .. }
        ),
        "ended" => matches!(op, StartWrapUp | Note { .. }),
        "wrap-up" => matches!(op, Dispose { .. } | ForceDispose { .. } | Note { .. }),
        _ => false, // terminal
    }
}

#[test]
fn every_operation_in_every_state() {
    let mut checked = 0;
    for (situation, base) in situations() {
        for op in ops() {
            let mut i = base.clone();
            let result = i.apply(op.clone(), t(100));
            let want = allowed(situation, &op);
            assert_eq!(
                result.is_ok(),
                want,
                "{} in {situation}: {result:?}",
                op.name()
            );
            match result {
                Ok(changes) => {
                    assert!(
                        !changes.is_empty(),
                        "{} in {situation} reported no change",
                        op.name()
                    );
                    assert_eq!(i.version(), base.version() + 1);
                }
                Err(e) => {
                    assert_eq!(i, base, "a refused {} changed the interaction", op.name());
                    assert!(e.to_string().contains(op.name()), "{e}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 14 * 22);
}

#[test]
fn each_transition_lands_where_it_should() {
    let all = situations();
    let get = |name: &str| {
        all.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, i)| i.clone())
            .unwrap()
    };
    let after = |name: &str, op: Op| {
        let mut i = get(name);
        i.apply(op, t(100)).unwrap();
        i
    };
    assert_eq!(after("offered", Op::Answer).state(), &State::Connected);
    assert_eq!(after("connected", Op::Hold).state(), &State::Held);
    assert_eq!(after("held", Op::Resume).state(), &State::Connected);
    assert_eq!(after("held", Op::HangUp).state(), &State::Ended);
    assert_eq!(after("ended", Op::StartWrapUp).state(), &State::WrapUp);
    let forced = after(
        "wrap-up",
        Op::ForceDispose {
            code: "timeout".into(),
        },
    );
    assert_eq!(
        (forced.state(), forced.disposition(), forced.was_forced()),
        (&State::Completed, Some("timeout"), true)
    );
    assert_eq!(
        after(
            "offered",
            Op::Miss {
                reason: "ring_timeout".into()
            }
        )
        .state(),
        &State::Missed("ring_timeout".into())
    );
    // A consult puts the customer on hold; merging brings everyone back.
    let c = after(
        "connected",
        Op::StartConsult {
            party: Party::address("+15550002"),
        },
    );
    assert_eq!(
        (c.state(), c.consult().map(|c| c.state)),
        (&State::Held, Some(ConsultState::Ringing))
    );
    let merged = after("consult connected", Op::MergeConsult);
    assert_eq!(
        (merged.state(), merged.parties().len(), merged.consult()),
        (&State::Connected, 2, None)
    );
    let cancelled = after("consult connected", Op::CancelConsult);
    assert_eq!(
        (cancelled.state(), cancelled.consult()),
        (&State::Held, None)
    );
    let moved = after("consult connected", Op::CompleteConsult);
    assert_eq!(moved.state(), &State::Ended);
    assert_eq!(
        moved.transferred_to().and_then(|p| p.address.as_deref()),
        Some("+15550002")
    );
    let blind = after(
        "held",
        Op::BlindTransfer {
            to: Party::address("+15550001"),
        },
    );
    assert_eq!(
        (blind.state(), blind.transferred_to().is_some()),
        (&State::Ended, true)
    );
    assert_eq!(
        after("connected", Op::UpgradeToVideo).channel(),
        Channel::Video
    );
    // Hanging up clears the flags.
    let mut i = get("connected");
    i.apply(Op::Mute { on: true }, t(5)).unwrap();
    i.apply(Op::Record { on: true }, t(6)).unwrap();
    i.apply(Op::HangUp, t(7)).unwrap();
    assert!(!i.is_muted() && !i.is_recording());
}

#[test]
fn bad_arguments_are_refused() {
    let mut i = situations().remove(2).1; // connected
    let before = i.clone();
    for op in [
        Op::Dtmf {
            digits: "12x".into(),
        },
        Op::Dtmf { digits: "".into() },
        Op::Note { text: " ".into() },
        Op::Note {
            text: "x".repeat(cti_media::interaction::MAX_NOTE + 1),
        },
    ] {
        assert!(i.apply(op, t(50)).is_err());
    }
    assert_eq!(i, before);
    let mut w = situations().remove(9).1; // wrap-up
    assert!(w.apply(Op::Dispose { code: "  ".into() }, t(50)).is_err());
    let mut o = new(Channel::Voice, Direction::Inbound);
    assert!(o.apply(Op::Reject { reason: "".into() }, t(1)).is_err());
}

#[test]
fn time_never_runs_backwards() {
    let mut i = new(Channel::Voice, Direction::Inbound);
    i.apply(Op::Answer, t(10)).unwrap();
    i.apply(Op::HangUp, t(5)).unwrap();
    assert_eq!(i.times().ended, Some(t(10)));
    assert!(i.times().connected <= i.times().ended);
}

fn arb_op() -> impl Strategy<Value = Op> {
    let all = ops();
    (0..all.len()).prop_map(move |n| all[n].clone())
}

/// The way out of any state: each step is tried and refusals ignored.
fn finish(i: &mut Interaction, at: Timestamp) {
    for op in [
        Op::Miss {
            reason: "ring_timeout".into(),
        },
        Op::CancelConsult,
        Op::HangUp,
        Op::StartWrapUp,
        Op::ForceDispose {
            code: "timeout".into(),
        },
    ] {
        let _ = i.apply(op, at);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_sequences_keep_the_invariants(
        outbound in any::<bool>(),
        chat in any::<bool>(),
        steps in proptest::collection::vec((arb_op(), -5i64..60), 0..40),
    ) {
        let channel = if chat { Channel::Chat } else { Channel::Voice };
        let direction = if outbound { Direction::Outbound } else { Direction::Inbound };
        let mut i = new(channel, direction);
        let mut clock = 0i64;
        for (op, dt) in steps {
            clock += dt;
            let before = i.clone();
            let was_terminal = i.state().is_terminal();
            match i.apply(op, t(clock)) {
                Ok(_) => {
                    prop_assert!(!was_terminal, "a terminal interaction changed");
                    prop_assert_eq!(i.version(), before.version() + 1);
                }
                Err(_) => prop_assert_eq!(&i, &before),
            }
            // Times only move forward, and in lifecycle order.
            prop_assert!(before.times().last <= i.times().last);
            let ts = i.times();
            let order = [ts.offered, ts.connected, ts.ended, ts.completed];
            let seen: Vec<_> = order.iter().flatten().collect();
            prop_assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{:?}", ts);
            // Flags only while the customer is on the line.
            if !i.state().is_live() {
                prop_assert!(!i.is_muted() && !i.is_recording());
            }
            prop_assert_eq!(i.disposition().is_some(), *i.state() == State::Completed);
            prop_assert!(i.consult().is_none() || i.state() == &State::Held);
        }
        // Whatever happened, the interaction can still be brought to an end.
        finish(&mut i, t(clock + 1));
        prop_assert!(i.state().is_terminal(), "stuck in {:?}", i.state());
    }
}
