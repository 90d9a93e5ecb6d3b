//! Rendering engine events in the vendors' dialects: the messages a real
//! Zoom Smart Embed, LeadDesk Talk or CCAI agent adapter would post to
//! its host page at that moment, in the order it would post them.
//!
//! Every message is built and then decoded by `cti-protocol`'s own
//! decoder, so what comes out is a typed [`VendorMessage`] that encodes to
//! the exact wire JSON, and [`Renderer::events`] turns it into the
//! vendor-neutral [`CtiEvent`]s (each carrying its original message).
//!
//! | Moment | Zoom | LeadDesk Talk | CCAI adapter |
//! |---|---|---|---|
//! | rings at the agent | `zcc-call-ringing` (chat, SMS, video: `zcc-*-ringing`); outbound: `zcc-outbound-call-started` | `call` | — |
//! | connected | `zcc-call-connected` (`zcc-*-started`) | `connected` | `New_Call` / `New_Chat` |
//! | ended | `zcc-call-ended` (`zcc-*-ended`) | `disconnected` | `End_Call` / `End_Chat` |
//! | completed | `zcc-add-note` × notes, `zcc-end-post-engagement`, `zcc-phone-call-log`, `zcc-call-recording` when recorded | `completed` | chats: `Dismissed_Chat` |
//! | missed, rejected | `zcc-inbound-not-connected` | `disconnected`, `completed` (not answered) | `End_Call` / `End_Chat` |
//! | outbound not connected | `zcc-outbound-not-connected` | `disconnected`, `completed` | `End_Call` |
//! | agent state | `zcc-agent-status-notification` | — | — |
//!
//! Channels a dialect does not have render nothing (LeadDesk Talk is
//! voice only; Zoom has no e-mail or work items). Holds, mutes and DTMF
//! are not posted by any of the three softphones. Times are UTC
//! (LeadDesk's `yyyy-mm-dd hh:mm:ss` has no zone; render for a UTC
//! agent). Numeric-looking ids go out as JSON numbers where the vendor
//! uses numbers (LeadDesk, CCAI).
//!
//! # Examples
//!
//! ```
//! use cti_media::interaction::{Interaction, InteractionId, Op};
//! use cti_media::render::{Dialect, Moment, Renderer};
//! use cti_protocol::model::{Channel, Direction, Party};
//!
//! let t = jiff::Timestamp::from_second(1_800_000_000).unwrap();
//! let mut call = Interaction::offered(InteractionId::new("E1"), Channel::Voice, Direction::Inbound, Party::address("+14155552671"), t);
//! let changes = call.apply(Op::Answer, t).unwrap();
//! let zoom = Renderer::new(Dialect::Zoom);
//! let messages = zoom.render(&call, &Moment::Changed(&changes)).unwrap();
//! assert_eq!(messages[0].wire_type(), "zcc-call-connected");
//! ```

use cti_protocol::ccai::WireForm;
use cti_protocol::leaddesk::TalkMessage;
use cti_protocol::model::{Channel, CtiEvent, Direction, VendorMessage};
use cti_protocol::types::Str;
use cti_protocol::zoom::ZoomMessage;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::engine::{AgentState, EngineEvent};
use crate::interaction::{Change, Interaction, State};

/// A vendor's postMessage dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// Zoom Contact Center Smart Embed.
    Zoom,
    /// LeadDesk Talk.
    LeadDesk,
    /// Google CCAI Platform agent adapter.
    Ccai,
}

/// What happened, as the renderer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Moment<'a> {
    /// The interaction rings at the agent (or an outbound call starts).
    Ringing,
    /// An offer rang out at the agent unanswered (it goes back to the
    /// queue).
    RingMissed,
    /// The interaction changed: these changes, already applied.
    Changed(&'a [Change]),
}

/// The agent whose softphone is speaking, as the vendors name them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AgentProfile {
    /// The vendor's agent id (CCAI `agent_id`).
    pub id: Option<Str>,
    /// The agent's name (Zoom `agentName`).
    pub name: Option<Str>,
    /// The agent's e-mail (CCAI `agent_email`).
    pub email: Option<Str>,
}

/// A rendering that could not be decoded back: a bug in the renderer,
/// reported rather than posted.
#[derive(Debug, thiserror::Error)]
#[error("rendered {wire_type} does not decode: {source}")]
pub struct RenderError {
    wire_type: String,
    #[source]
    source: cti_protocol::Error,
}

/// Renders engine moments in one dialect (see the [module](self) docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renderer {
    dialect: Dialect,
    agent: AgentProfile,
    queue: Option<(Str, Str)>,
    recording_base: Option<String>,
}

/// JSON `id`: a number when the text is one, else the text.
fn id_value(id: &str) -> Value {
    id.parse::<u64>()
        .map_or_else(|_| Value::from(id), Value::from)
}

/// JavaScript's `Date` JSON form: `2027-01-15T08:00:00.000Z`.
fn iso(at: Option<Timestamp>) -> Value {
    at.map_or_else(|| Value::from(""), |t| Value::from(format!("{t:.3}")))
}

fn millis(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| Value::from(t.as_millisecond()))
}

fn talk_time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| {
        Value::from(t.strftime("%Y-%m-%d %H:%M:%S").to_string())
    })
}

fn seconds(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<i64> {
    Some(to?.duration_since(from?).as_secs().max(0))
}

/// Zoom's `m:ss` (unpadded minutes), `NaN:NaN` when there is none.
fn m_ss(secs: Option<i64>) -> String {
    secs.map_or_else(|| "NaN:NaN".into(), |s| format!("{}:{:02}", s / 60, s % 60))
}

/// Zoom's `HH:MM:SS`, `""` when there is none.
fn hh_mm_ss(secs: Option<i64>) -> String {
    secs.map_or_else(String::new, |s| {
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    })
}

fn customer(i: &Interaction) -> &str {
    i.parties()
        .first()
        .map_or("", |p| p.address.as_deref().unwrap_or(""))
}

fn customer_name(i: &Interaction) -> Option<&str> {
    i.parties().first().and_then(|p| p.name.as_deref())
}

impl Renderer {
    /// A renderer for `dialect`, with no agent or queue details.
    #[must_use]
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            agent: AgentProfile::default(),
            queue: None,
            recording_base: None,
        }
    }

    /// The agent whose softphone this is.
    #[must_use]
    pub fn agent(mut self, agent: AgentProfile) -> Self {
        self.agent = agent;
        self
    }

    /// The queue the interactions come from (its id and name).
    #[must_use]
    pub fn queue(mut self, id: impl Into<Str>, name: impl Into<Str>) -> Self {
        self.queue = Some((id.into(), name.into()));
        self
    }

    /// Where recordings are served: `{base}{interaction id}` goes into
    /// Zoom's `zcc-call-recording` and LeadDesk's `recordUrl`. Without
    /// it no recording URL is posted.
    #[must_use]
    pub fn recording_base(mut self, base: impl Into<String>) -> Self {
        self.recording_base = Some(base.into());
        self
    }

    /// The dialect.
    #[must_use]
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn recording_url(&self, i: &Interaction) -> Option<String> {
        let base = self.recording_base.as_ref()?;
        i.was_recorded().then(|| format!("{base}{}", i.id()))
    }

    /// The messages the softphone posts at `moment`, oldest first.
    /// `interaction` is its state after the moment.
    ///
    /// # Errors
    ///
    /// [`RenderError`] if a rendered message does not decode (a bug, not
    /// an input problem: nothing is posted).
    pub fn render(
        &self,
        interaction: &Interaction,
        moment: &Moment<'_>,
    ) -> Result<Vec<VendorMessage>, RenderError> {
        let raw = match self.dialect {
            Dialect::Zoom => self.zoom(interaction, moment),
            Dialect::LeadDesk => self.leaddesk(interaction, moment),
            Dialect::Ccai => self.ccai(interaction, moment),
        };
        raw.into_iter().map(|m| self.decode(&m)).collect()
    }

    /// What the softphone posts for an engine event. `interaction` is the
    /// interaction's state after it (ignored for agent events).
    ///
    /// # Errors
    ///
    /// As [`Self::render`].
    pub fn render_event(
        &self,
        event: &EngineEvent,
        interaction: &Interaction,
    ) -> Result<Vec<VendorMessage>, RenderError> {
        match event {
            EngineEvent::Offered { .. } => self.render(interaction, &Moment::Ringing),
            EngineEvent::OfferMissed { .. } => self.render(interaction, &Moment::RingMissed),
            EngineEvent::Changed { changes, .. } => {
                self.render(interaction, &Moment::Changed(changes))
            }
            EngineEvent::Agent { state, .. } => self.agent_state(*state),
            _ => Ok(Vec::new()),
        }
    }

    /// What the softphone posts when its agent's state changes (Zoom's
    /// status notification; the others post nothing).
    ///
    /// # Errors
    ///
    /// As [`Self::render`].
    pub fn agent_state(&self, state: AgentState) -> Result<Vec<VendorMessage>, RenderError> {
        if self.dialect != Dialect::Zoom {
            return Ok(Vec::new());
        }
        let (code, status) = match state {
            AgentState::Available => ("1", "Ready"),
            AgentState::Busy | AgentState::WrapUp => ("3", "Occupied"),
            _ => ("30", "Offline"),
        };
        let m = zoom_msg(
            "zcc-agent-status-notification",
            json!({"statusCode": code, "status": status}),
        );
        Ok(vec![self.decode(&m)?])
    }

    /// The neutral events of [`Self::render`]'s messages (messages with
    /// no neutral meaning are left out), each carrying its message.
    ///
    /// # Errors
    ///
    /// As [`Self::render`].
    pub fn events(
        &self,
        interaction: &Interaction,
        moment: &Moment<'_>,
    ) -> Result<Vec<CtiEvent>, RenderError> {
        Ok(self
            .render(interaction, moment)?
            .into_iter()
            .filter_map(|m| m.into_event().ok())
            .collect())
    }

    fn decode(&self, m: &Value) -> Result<VendorMessage, RenderError> {
        let text = m.to_string();
        let wire_type = || {
            m.get("type")
                .or_else(|| m.get("action"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        let decoded = match self.dialect {
            Dialect::Zoom => ZoomMessage::decode(&text).map(VendorMessage::Zoom),
            Dialect::LeadDesk => TalkMessage::decode(&text).map(VendorMessage::LeadDesk),
            Dialect::Ccai => cti_protocol::ccai::decode_with_form(&text)
                .map(|(e, _)| VendorMessage::Ccai(e, WireForm::Object)),
        };
        decoded.map_err(|source| RenderError {
            wire_type: wire_type(),
            source,
        })
    }

    fn zoom(&self, i: &Interaction, moment: &Moment<'_>) -> Vec<Value> {
        let kind = match i.channel() {
            Channel::Voice => "call",
            Channel::Chat => "chat",
            Channel::Sms => "sms",
            Channel::Video => "video",
            _ => return Vec::new(),
        };
        let id = i.id().as_str();
        let queue_name = self.queue.as_ref().map(|(_, n)| n.as_str());
        let queue_id = self.queue.as_ref().map(|(q, _)| q.as_str());
        let t = i.times();
        match moment {
            Moment::Ringing if i.direction() == Direction::Outbound => vec![zoom_msg(
                "zcc-outbound-call-started",
                json!({"engagementId": id, "from": self.agent.id, "to": customer(i), "queueName": queue_name, "startTs": millis(t.offered)}),
            )],
            Moment::Ringing => {
                let data = match i.channel() {
                    Channel::Voice => json!({
                        "channel": "voice", "createTs": millis(t.offered), "engagementId": id,
                        "from": customer(i), "queueName": queue_name, "to": self.agent.id,
                        "isConference": false, "isTransfer": false,
                    }),
                    Channel::Chat => {
                        json!({"queueId": queue_id, "queueName": queue_name, "engagementId": id, "customerName": customer_name(i), "customerEmail": customer(i)})
                    }
                    Channel::Sms => {
                        json!({"queueId": queue_id, "queueName": queue_name, "engagementId": id, "customerName": customer_name(i), "incomingPhoneNumber": customer(i)})
                    }
                    _ => {
                        json!({"queueId": queue_id, "queueName": queue_name, "engagementId": id, "customerEmail": customer(i)})
                    }
                };
                vec![zoom_msg(&format!("zcc-{kind}-ringing"), data)]
            }
            Moment::RingMissed => vec![zoom_msg(
                "zcc-inbound-not-connected",
                json!({"reasonCode": "TIMEOUT", "message": "Call missed.", "engagementId": id}),
            )],
            Moment::Changed(changes) => {
                let mut out = Vec::new();
                for to in states(changes) {
                    match to {
                        State::Connected if kind == "call" => out.push(zoom_msg(
                            "zcc-call-connected",
                            json!({
                                "acceptTs": millis(t.connected), "direction": direction(i), "engagementId": id,
                                "from": from(i, &self.agent), "queueId": queue_id, "queueName": queue_name, "to": to_party(i, &self.agent),
                            }),
                        )),
                        State::Connected => out.push(zoom_msg(
                            &format!("zcc-{kind}-started"),
                            json!({"engagementId": id, "createTs": millis(t.connected)}),
                        )),
                        State::Ended => out.push(zoom_msg(
                            &format!("zcc-{kind}-ended"),
                            json!({"completeTs": millis(t.ended), "engagementId": id}),
                        )),
                        State::Completed => out.extend(self.zoom_wrap_up(i)),
                        State::Missed(reason) | State::Rejected(reason) => {
                            let (code, message) = zoom_inbound_reason(to, reason);
                            out.push(zoom_msg(
                                "zcc-inbound-not-connected",
                                json!({"reasonCode": code, "message": message, "engagementId": id}),
                            ));
                        }
                        State::NotConnected(reason) => out.push(zoom_msg(
                            "zcc-outbound-not-connected",
                            json!({"engagementId": id, "reasonCode": reason.as_str(), "message": zoom_outbound_message(reason)}),
                        )),
                        _ => {}
                    }
                }
                out
            }
        }
    }

    /// Zoom at wrap-up: each note, the disposition, the call log, the
    /// recording.
    fn zoom_wrap_up(&self, i: &Interaction) -> Vec<Value> {
        let id = i.id().as_str();
        let t = i.times();
        let mut out: Vec<Value> = i
            .notes()
            .iter()
            .map(|n| zoom_msg("zcc-add-note", json!({"comment": n})))
            .collect();
        let disposition = i.disposition().unwrap_or("-");
        out.push(zoom_msg(
            "zcc-end-post-engagement",
            json!({"engagementId": id, "dispositionCode": disposition}),
        ));
        let kind = match i.channel() {
            Channel::Voice => "phone",
            Channel::Chat => "chat",
            Channel::Sms => "sms",
            _ => "video",
        };
        let extension = if i.direction() == Direction::Outbound {
            from(i, &self.agent)
        } else {
            to_party(i, &self.agent)
        };
        out.push(zoom_msg(
            "zcc-phone-call-log",
            json!({
                "objectRecord": {
                    "callType": direction(i),
                    "from": from(i, &self.agent),
                    "to": to_party(i, &self.agent),
                    "callDuration": m_ss(seconds(t.connected, t.ended)),
                    "callStartTime": iso(t.connected),
                    "callEndTime": iso(t.ended),
                    "callQueue": self.queue.as_ref().map_or("", |(_, n)| n.as_str()),
                    "agentExtension": extension,
                    "agentName": self.agent.name.as_deref().unwrap_or(""),
                    "wrapUpTimeDuration": hh_mm_ss(seconds(t.ended, t.completed)),
                    "notes": i.notes(),
                    "dispositionCode": disposition,
                    "type": kind,
                },
                "engagementId": id,
                "relateTo": "",
            }),
        ));
        if let Some(url) = self.recording_url(i) {
            out.push(zoom_msg(
                "zcc-call-recording",
                json!({"engagementId": id, "recordingUrl": url}),
            ));
        }
        out
    }

    fn leaddesk(&self, i: &Interaction, moment: &Moment<'_>) -> Vec<Value> {
        if i.channel() != Channel::Voice {
            return Vec::new();
        }
        let t = i.times();
        let dir = if i.direction() == Direction::Outbound {
            "out"
        } else {
            "in"
        };
        match moment {
            Moment::Ringing => vec![json!({
                "action": "call", "id": id_value(i.id().as_str()), "number": customer(i),
                "direction": dir, "ringStart": talk_time(t.offered),
            })],
            // Talk rings again when the call comes back; a missed ring
            // is a disconnect that was never connected.
            Moment::RingMissed => {
                vec![json!({"action": "disconnected", "callEnd": talk_time(t.last)})]
            }
            Moment::Changed(changes) => {
                let mut out = Vec::new();
                for to in states(changes) {
                    match to {
                        State::Connected => out.push(
                            json!({"action": "connected", "callStart": talk_time(t.connected)}),
                        ),
                        State::Ended => {
                            let mut m =
                                json!({"action": "disconnected", "callEnd": talk_time(t.ended)});
                            if let Some(url) = self.recording_url(i) {
                                m["recordUrl"] = url.into();
                            }
                            out.push(m);
                        }
                        State::Completed => out.push(self.talk_completed(i, dir)),
                        s if s.is_terminal() => {
                            out.push(
                                json!({"action": "disconnected", "callEnd": talk_time(t.ended)}),
                            );
                            out.push(self.talk_completed(i, dir));
                        }
                        _ => {}
                    }
                }
                out
            }
        }
    }

    fn talk_completed(&self, i: &Interaction, dir: &str) -> Value {
        let t = i.times();
        let (from, to) = if dir == "out" {
            (Value::Null, Value::from(customer(i)))
        } else {
            (Value::from(customer(i)), Value::Null)
        };
        let reason = i
            .disposition()
            .map_or(Value::Null, |d| json!({"name": d, "logicalName": d}));
        let comment = if i.notes().is_empty() {
            Value::Null
        } else {
            Value::from(i.notes().join("\n"))
        };
        json!({
            "action": "completed",
            "call": {
                "id": id_value(i.id().as_str()),
                "direction": dir,
                "to": to,
                "from": from,
                "answered": t.connected.is_some(),
                "callStart": talk_time(t.offered),
                "talkStart": talk_time(t.connected),
                "callEnd": talk_time(t.ended),
                "duration": seconds(t.connected, t.ended),
                "comment": comment,
                "recordUrl": self.recording_url(i),
                "reason": reason,
            }
        })
    }

    fn ccai(&self, i: &Interaction, moment: &Moment<'_>) -> Vec<Value> {
        let call = match i.channel() {
            Channel::Voice | Channel::Video => true,
            Channel::Chat | Channel::Sms => false,
            _ => return Vec::new(),
        };
        let Moment::Changed(changes) = moment else {
            // The adapter posts nothing while a session rings.
            return Vec::new();
        };
        let mut data = Map::new();
        if let Some(a) = &self.agent.id {
            data.insert("agent_id".into(), id_value(a));
        }
        if let Some(e) = &self.agent.email {
            data.insert("agent_email".into(), e.as_str().into());
        }
        if let Some((q, name)) = &self.queue {
            data.insert("queue_id".into(), id_value(q));
            data.insert("queue_path".into(), name.as_str().into());
        }
        let session_type = match (call, i.direction()) {
            (true, Direction::Outbound) => "Voice Outbound",
            (true, _) => "Voice Inbound",
            (false, _) => "Messaging Inbound (Web Chat)",
        };
        data.insert(
            if call { "call_id" } else { "chat_id" }.into(),
            id_value(i.id().as_str()),
        );
        data.insert("session_type".into(), session_type.into());
        let msg = |kind: &str| json!({"type": kind, "data": Value::Object(data.clone())});
        let mut out = Vec::new();
        for to in states(changes) {
            match (to, call) {
                (State::Connected, true) => out.push(msg("New_Call")),
                (State::Connected, false) => out.push(msg("New_Chat")),
                (State::Ended, true) => out.push(msg("End_Call")),
                (State::Ended, false) => out.push(msg("End_Chat")),
                (State::Completed, false) => out.push(msg("Dismissed_Chat")),
                (s, true) if s.is_terminal() && *s != State::Completed => {
                    out.push(msg("End_Call"));
                }
                (s, false) if s.is_terminal() && *s != State::Completed => {
                    out.push(msg("End_Chat"));
                }
                _ => {}
            }
        }
        out
    }
}

/// The states entered, in order. Coming off hold is not a new
/// connection, so only connecting from an offer counts as connected.
fn states(changes: &[Change]) -> impl Iterator<Item = &State> {
    changes.iter().filter_map(|c| match c {
        Change::State { from, to } if *to != State::Connected || *from == State::Offered => {
            Some(to)
        }
        _ => None,
    })
}

fn zoom_msg(kind: &str, mut data: Value) -> Value {
    // Zoom leaves out what it does not know rather than sending null.
    if let Value::Object(m) = &mut data {
        m.retain(|_, v| !v.is_null());
    }
    json!({"type": kind, "data": data})
}

fn direction(i: &Interaction) -> &'static str {
    if i.direction() == Direction::Outbound {
        "outbound"
    } else {
        "inbound"
    }
}

fn from<'a>(i: &'a Interaction, agent: &'a AgentProfile) -> &'a str {
    if i.direction() == Direction::Outbound {
        agent.id.as_deref().unwrap_or("")
    } else {
        customer(i)
    }
}

fn to_party<'a>(i: &'a Interaction, agent: &'a AgentProfile) -> &'a str {
    if i.direction() == Direction::Outbound {
        customer(i)
    } else {
        agent.id.as_deref().unwrap_or("")
    }
}

fn zoom_inbound_reason<'a>(state: &State, reason: &'a str) -> (&'a str, &'static str) {
    match state {
        State::Rejected(_) => ("agent-rejected", "Call rejected by agent."),
        _ if reason.contains("abandon") || reason.contains("hang") => {
            ("customer-hangup", "Consumer hung up.")
        }
        _ => (reason, "Call missed."),
    }
}

fn zoom_outbound_message(reason: &str) -> &'static str {
    match reason {
        "busy" => "The number you have dialed is busy, please try your call again later.",
        "no_answer" => {
            "The number you have dialed is not available, please try your call again later."
        }
        "invalid_number" => "The number you have dialed does not exist or is no longer in service.",
        "declined" => "The number you have dialed has rejected your call.",
        "canceled" | "cancelled" | "outbound-call-canceled" => "Outbound call cancelled by Agent.",
        _ => {
            "The call to the number dialed cannot be completed at this time. Please check the phone number and try again later."
        }
    }
}
