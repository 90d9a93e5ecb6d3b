//! Scripted days on the engine, with no browser: simulated agents answer,
//! talk, wrap up and dispose; some let a ring run out and come back
//! later; calls and chats arrive at a steady random rate. Time is a
//! [`ManualClock`], so an hour runs in milliseconds, and a seed makes a
//! run repeat exactly.
//!
//! The [`Summary`] counts what became of every interaction. `lost` (an
//! interaction the engine no longer knows) and `stuck` (one still
//! unfinished when the day is over and every timer has run) must be zero.
//!
//! # Examples
//!
//! ```
//! use cti_media::scenario::{Scenario, run};
//!
//! let mut day = Scenario::builtin();
//! day.agents = 50;
//! day.duration_secs = 600;
//! let summary = run(&day)?;
//! assert_eq!((summary.lost, summary.stuck), (0, 0));
//! assert_eq!(summary.completed + summary.missed + summary.rejected, summary.interactions);
//! println!("{}", serde_json::to_string(&summary).unwrap());
//! # Ok::<(), cti_media::scenario::ScenarioError>(())
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use cti_protocol::model::{Channel, Direction, Party};
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::TryRecvError;

use crate::clock::{Clock as _, ManualClock};
use crate::engine::{AgentId, Engine, EngineConfig, EngineEvent, QueueId};
use crate::interaction::{InteractionId, Op, State};

/// A range of whole seconds, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seconds {
    /// The least.
    pub min: u64,
    /// The most.
    pub max: u64,
}

impl Seconds {
    /// `min..=max` seconds.
    #[must_use]
    pub fn new(min: u64, max: u64) -> Self {
        Self { min, max }
    }
}

/// A scripted day (JSON: these field names; absent fields keep the
/// [builtin](Self::builtin) values; unknown fields are refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Scenario {
    /// A name for the summary.
    pub name: String,
    /// Agents serving the one queue.
    pub agents: u32,
    /// How long interactions keep arriving, in seconds.
    pub duration_secs: u64,
    /// Arrivals per second (at random, on average).
    pub calls_per_sec: f64,
    /// The share of arrivals that are chats (0 to 1).
    pub chat_share: f64,
    /// How long an agent takes to answer a ring.
    pub answer_secs: Seconds,
    /// How long a conversation lasts.
    pub talk_secs: Seconds,
    /// How long an agent spends in wrap-up before disposing (past the
    /// engine's wrap-up timeout, the engine disposes first).
    pub wrap_up_secs: Seconds,
    /// The share of rings an agent lets run out (0 to 1).
    pub miss_share: f64,
    /// How long an agent who missed a ring stays away, in seconds.
    pub back_after_miss_secs: u64,
    /// The random seed: the same seed gives the same day.
    pub seed: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Scenario {
    /// The builtin day: 80 agents, an arrival every 4 seconds for an
    /// hour (about 55 agents busy at a time), a fifth of them chats, 5 %
    /// of rings let run out.
    #[must_use]
    pub fn builtin() -> Self {
        Self {
            name: "builtin".into(),
            agents: 80,
            duration_secs: 3600,
            calls_per_sec: 0.25,
            chat_share: 0.2,
            answer_secs: Seconds::new(2, 12),
            talk_secs: Seconds::new(30, 240),
            wrap_up_secs: Seconds::new(5, 150),
            miss_share: 0.05,
            back_after_miss_secs: 60,
            seed: 7,
        }
    }

    /// Reads a scenario file's JSON.
    ///
    /// # Errors
    ///
    /// [`ScenarioError::Parse`]; [`ScenarioError::Invalid`].
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ScenarioError::Parse(e.to_string()))?;
        if !value.is_object() {
            return Err(ScenarioError::Parse("a scenario is a JSON object".into()));
        }
        let s: Self =
            serde_json::from_value(value).map_err(|e| ScenarioError::Parse(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    /// Checks the limits: 1 to 100,000 agents, at most 10,000 arrivals a
    /// second, at most a week, shares between 0 and 1, ranges in order.
    ///
    /// # Errors
    ///
    /// [`ScenarioError::Invalid`] naming the field.
    pub fn check(&self) -> Result<(), ScenarioError> {
        let bad = |what: &'static str| Err(ScenarioError::Invalid(what));
        if !(1..=100_000).contains(&self.agents) {
            return bad("agents must be 1 to 100,000");
        }
        if !(0.0..=10_000.0).contains(&self.calls_per_sec) {
            return bad("calls_per_sec must be 0 to 10,000");
        }
        if self.duration_secs > 7 * 24 * 3600 {
            return bad("duration_secs must be at most a week");
        }
        if !(0.0..=1.0).contains(&self.chat_share) || !(0.0..=1.0).contains(&self.miss_share) {
            return bad("chat_share and miss_share must be 0 to 1");
        }
        for r in [self.answer_secs, self.talk_secs, self.wrap_up_secs] {
            if r.min > r.max || r.max > 24 * 3600 {
                return bad("a seconds range must have min <= max <= 86400");
            }
        }
        if self.back_after_miss_secs > 24 * 3600 {
            return bad("back_after_miss_secs must be at most a day");
        }
        Ok(())
    }
}

/// A scenario that could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The scenario file is not valid JSON for a scenario.
    #[error("scenario: {0}")]
    Parse(String),
    /// A value is out of its limits.
    #[error("scenario: {0}")]
    Invalid(&'static str),
    /// The engine refused the setup (a bug, reported rather than hidden).
    #[error("scenario: the engine refused: {0}")]
    Engine(String),
    /// The run lost engine events (a bug, reported rather than hidden).
    #[error("scenario: {0} engine events were lost")]
    Lagged(u64),
}

/// What a day came to. One JSON line with `serde_json::to_string`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// Interactions that arrived.
    pub interactions: u64,
    /// Of which completed (disposed by the agent or by the engine).
    pub completed: u64,
    /// Of which the engine disposed when wrap-up ran out.
    pub forced: u64,
    /// Of which missed (waited out the queue).
    pub missed: u64,
    /// Of which rejected or not connected.
    pub rejected: u64,
    /// Interactions the engine no longer knows. Must be 0.
    pub lost: u64,
    /// Interactions unfinished at the end. Must be 0.
    pub stuck: u64,
    /// Offers made (rings), re-offers included.
    pub offers: u64,
    /// Rings that ran out.
    pub ring_timeouts: u64,
    /// The longest wait from arrival to answer, in milliseconds.
    pub max_wait_ms: u64,
    /// The mean wait of answered interactions, in milliseconds.
    pub mean_wait_ms: u64,
    /// Simulated time from the first arrival to the end, in seconds.
    pub simulated_secs: u64,
}

#[derive(Debug, Clone)]
enum Action {
    Arrive,
    Answer(InteractionId),
    HangUp(InteractionId),
    Dispose(InteractionId),
    Return(AgentId),
}

fn pick(rng: &mut StdRng, r: Seconds) -> Duration {
    Duration::from_secs(rng.random_range(r.min..=r.max))
}

/// Runs a day and counts what became of it.
///
/// # Errors
///
/// [`ScenarioError::Invalid`] for a scenario out of limits; the other
/// variants report bugs.
pub fn run(scenario: &Scenario) -> Result<Summary, ScenarioError> {
    scenario.check()?;
    let t0 = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
    let clock = ManualClock::starting_at(t0);
    let config = EngineConfig {
        event_capacity: 1 << 16,
        ..EngineConfig::default()
    };
    let engine = Engine::new(config, clock.clone());
    let mut events = engine.subscribe();
    let queue = QueueId::new("support");
    engine.add_queue(queue.clone(), []);
    for n in 0..scenario.agents {
        let id = AgentId::new(format!("agent-{n}"));
        engine.add_agent(id.clone(), [queue.clone()], []);
        engine
            .set_available(&id)
            .map_err(|e| ScenarioError::Engine(e.to_string()))?;
    }
    let mut rng = StdRng::seed_from_u64(scenario.seed);
    let mut agenda: BTreeMap<(Timestamp, u64), Action> = BTreeMap::new();
    let mut seq = 0u64;
    let mut at = |agenda: &mut BTreeMap<(Timestamp, u64), Action>, when: Timestamp, a: Action| {
        seq += 1;
        agenda.insert((when, seq), a);
    };
    let end = crate::shard::after(t0, Duration::from_secs(scenario.duration_secs));
    if scenario.calls_per_sec > 0.0 {
        at(&mut agenda, t0, Action::Arrive);
    }
    let mut ids: Vec<InteractionId> = Vec::new();
    let (mut offers, mut ring_timeouts) = (0u64, 0u64);
    loop {
        // React to what the engine did.
        loop {
            match events.try_recv() {
                Ok(EngineEvent::Offered { id, .. }) => {
                    offers += 1;
                    if rng.random::<f64>() >= scenario.miss_share {
                        let when =
                            crate::shard::after(clock.now(), pick(&mut rng, scenario.answer_secs));
                        at(&mut agenda, when, Action::Answer(id));
                    }
                }
                Ok(EngineEvent::OfferMissed { agent, .. }) => {
                    ring_timeouts += 1;
                    let when = crate::shard::after(
                        clock.now(),
                        Duration::from_secs(scenario.back_after_miss_secs),
                    );
                    at(&mut agenda, when, Action::Return(agent));
                }
                Ok(_) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                Err(TryRecvError::Lagged(n)) => return Err(ScenarioError::Lagged(n)),
            }
        }
        let next_action = agenda.keys().next().map(|(t, _)| *t);
        let next = match (next_action, engine.next_deadline()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => break,
            },
        };
        let now = clock.now();
        if next > now {
            let by = next.duration_since(now);
            clock.advance(Duration::try_from(by).unwrap_or(Duration::ZERO));
        }
        let now = clock.now();
        while let Some(entry) = agenda.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Action::Arrive => {
                    let chat = rng.random::<f64>() < scenario.chat_share;
                    let (channel, who) = if chat {
                        (
                            Channel::Chat,
                            Party::address(format!("visitor-{}", ids.len())),
                        )
                    } else {
                        (
                            Channel::Voice,
                            Party::address(format!("+1415555{:04}", ids.len() % 10_000)),
                        )
                    };
                    let id = engine
                        .offer(channel, Direction::Inbound, who, &queue)
                        .map_err(|e| ScenarioError::Engine(e.to_string()))?;
                    ids.push(id);
                    // Exponential gaps: a Poisson stream of arrivals.
                    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                    let gap = -u.ln() / scenario.calls_per_sec;
                    let when = crate::shard::after(now, Duration::from_secs_f64(gap.min(86_400.0)));
                    if when < end {
                        at(&mut agenda, when, Action::Arrive);
                    }
                }
                Action::Answer(id) => {
                    // Refused when the ring ran out meanwhile: fine.
                    if engine.apply(&id, Op::Answer).is_ok() {
                        let when = crate::shard::after(now, pick(&mut rng, scenario.talk_secs));
                        at(&mut agenda, when, Action::HangUp(id));
                    }
                }
                Action::HangUp(id) => {
                    if engine.apply(&id, Op::HangUp).is_ok() {
                        let when = crate::shard::after(now, pick(&mut rng, scenario.wrap_up_secs));
                        at(&mut agenda, when, Action::Dispose(id));
                    }
                }
                Action::Dispose(id) => {
                    // Refused when the engine disposed first.
                    let _ = engine.apply(
                        &id,
                        Op::Dispose {
                            code: "resolved".into(),
                        },
                    );
                }
                Action::Return(agent) => {
                    let _ = engine.set_available(&agent);
                }
            }
        }
        engine.run_due();
    }

    let mut s = Summary {
        scenario: scenario.name.clone(),
        interactions: ids.len() as u64,
        completed: 0,
        forced: 0,
        missed: 0,
        rejected: 0,
        lost: 0,
        stuck: 0,
        offers,
        ring_timeouts,
        max_wait_ms: 0,
        mean_wait_ms: 0,
        simulated_secs: u64::try_from(clock.now().duration_since(t0).as_secs()).unwrap_or(0),
    };
    let (mut waited, mut answered) = (0u128, 0u128);
    for id in &ids {
        let Some(i) = engine.get(id) else {
            s.lost += 1;
            continue;
        };
        match i.state() {
            State::Completed => {
                s.completed += 1;
                s.forced += u64::from(i.was_forced());
            }
            State::Missed(_) => s.missed += 1,
            State::Rejected(_) | State::NotConnected(_) => s.rejected += 1,
            _ => s.stuck += 1,
        }
        if let (Some(offered), Some(connected)) = (i.times().offered, i.times().connected) {
            let ms = u64::try_from(connected.duration_since(offered).as_millis()).unwrap_or(0);
            s.max_wait_ms = s.max_wait_ms.max(ms);
            waited += u128::from(ms);
            answered += 1;
        }
    }
    if let Some(mean) = waited.checked_div(answered) {
        s.mean_wait_ms = u64::try_from(mean).unwrap_or(u64::MAX);
    }
    Ok(s)
}

/// A day's [`Summary`] with what running it cost this process. One JSON
/// line with `serde_json::to_string`: the summary's fields, then
/// `agents`, `wall_ms`, `cpu_ms` and `peak_rss_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Measured {
    /// What the day came to.
    #[serde(flatten)]
    pub summary: Summary,
    /// The scenario's agents.
    pub agents: u32,
    /// Wall-clock time of the run, in milliseconds.
    pub wall_ms: u64,
    /// User plus system CPU time of the whole process so far, in
    /// milliseconds (0 where `/proc` is missing).
    pub cpu_ms: u64,
    /// The process's peak resident memory, in bytes (0 where `/proc` is
    /// missing).
    pub peak_rss_bytes: u64,
}

/// [`run`], measured: wall time, and the process's CPU time and peak
/// memory read from Linux's `/proc/self`.
///
/// # Errors
///
/// As [`run`].
pub fn run_measured(scenario: &Scenario) -> Result<Measured, ScenarioError> {
    let started = std::time::Instant::now();
    let summary = run(scenario)?;
    Ok(Measured {
        summary,
        agents: scenario.agents,
        wall_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        cpu_ms: cpu_ms().unwrap_or(0),
        peak_rss_bytes: peak_rss_bytes().unwrap_or(0),
    })
}

/// `VmHWM` of `/proc/self/status`, in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    kb.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

/// Fields 14 and 15 of `/proc/self/stat` (user and system time, in clock
/// ticks of 10 ms on Linux), counted after the command name.
fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10)
}
