//! Scripted days: every interaction ends completed, missed or rejected,
//! none is lost or stuck, under normal load, overload, and the
//! thousand-agent day; runs repeat by seed; scenario files are checked.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cti_media::scenario::{Scenario, ScenarioError, Seconds, run};

fn accounted(s: &cti_media::scenario::Summary) {
    assert_eq!((s.lost, s.stuck), (0, 0), "{s:?}");
    assert_eq!(s.completed + s.missed + s.rejected, s.interactions, "{s:?}");
}

#[test]
fn the_builtin_day_accounts_for_every_interaction() {
    let day = Scenario::builtin();
    let s = run(&day).unwrap();
    accounted(&s);
    // An hour at one arrival per 4 s on average.
    assert!((700..=1100).contains(&s.interactions), "{s:?}");
    assert!(s.ring_timeouts > 0, "5 % of rings run out");
    assert!(s.offers > s.interactions, "missed rings are offered again");
    assert!(
        s.forced > 0,
        "some wrap-ups outlast the timeout: forced dispose"
    );
    assert!(s.completed > s.interactions * 9 / 10, "{s:?}");
    // The same seed, the same day.
    assert_eq!(run(&day).unwrap(), s);
    let mut other = day.clone();
    other.seed = 8;
    assert_ne!(run(&other).unwrap(), s);
}

#[test]
fn overload_misses_but_loses_nothing() {
    let mut day = Scenario::builtin();
    day.agents = 2;
    day.calls_per_sec = 2.0;
    day.duration_secs = 1800;
    let s = run(&day).unwrap();
    accounted(&s);
    assert!(
        s.missed > s.interactions / 2,
        "most wait out the queue: {s:?}"
    );
}

#[test]
fn a_thousand_agents_at_ten_calls_a_second() {
    let mut day = Scenario::builtin();
    day.name = "thousand".into();
    day.agents = 1000;
    day.calls_per_sec = 10.0;
    day.duration_secs = 60;
    let s = run(&day).unwrap();
    accounted(&s);
    assert!((450..=750).contains(&s.interactions), "{s:?}");
    assert_eq!(s.missed, 0, "a thousand agents answer everything");
}

#[test]
fn scenario_files_are_checked() {
    let s = Scenario::from_json(r#"{"name": "short", "agents": 3, "duration_secs": 60}"#).unwrap();
    assert_eq!(
        (s.agents, s.duration_secs, s.seed),
        (3, 60, Scenario::builtin().seed)
    );
    assert!(matches!(
        Scenario::from_json(r#"{"agentz": 3}"#),
        Err(ScenarioError::Parse(_))
    ));
    assert!(matches!(
        Scenario::from_json("[]"),
        Err(ScenarioError::Parse(_))
    ));
    for bad in [
        r#"{"agents": 0}"#,
        r#"{"calls_per_sec": -1}"#,
        r#"{"chat_share": 1.5}"#,
        r#"{"talk_secs": {"min": 10, "max": 5}}"#,
        r#"{"duration_secs": 99999999}"#,
    ] {
        assert!(
            matches!(Scenario::from_json(bad), Err(ScenarioError::Invalid(_))),
            "{bad}"
        );
    }
    let mut s = Scenario::builtin();
    s.answer_secs = Seconds::new(5, 1);
    assert!(matches!(run(&s), Err(ScenarioError::Invalid(_))));
    // No arrivals: an empty day.
    s = Scenario::builtin();
    s.calls_per_sec = 0.0;
    let empty = run(&s).unwrap();
    assert_eq!(empty.interactions, 0);
}
