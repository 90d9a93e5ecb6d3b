//! `cti sim …`: drive the reference softphones' simulator (the demo's, or
//! your own) over its scripting API, without hand-written `curl`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

/// Simulator commands.
#[derive(Debug, Subcommand)]
pub(crate) enum SimCmd {
    /// Ring the agent: a new inbound interaction. Prints its id.
    Ring {
        #[command(flatten)]
        at: SimAt,
        /// Who calls (a number; an address for a chat).
        #[arg(long, default_value = "+14155550101")]
        from: String,
        /// The caller's name, as the phone shows it.
        #[arg(long)]
        name: Option<String>,
        /// A chat's first message.
        #[arg(long)]
        message: Option<String>,
        /// The channel.
        #[arg(long, value_enum, default_value = "voice")]
        channel: Channel,
    },
    /// Do what the agent would click on the phone.
    Act {
        #[command(flatten)]
        at: SimAt,
        /// The action.
        #[arg(value_enum)]
        op: Op,
        /// The disposition code, for `dispose`.
        #[arg(long, required_if_eq("op", "dispose"))]
        code: Option<String>,
        /// The number, for `dial`.
        #[arg(long, required_if_eq("op", "dial"))]
        number: Option<String>,
        /// The message, for `say` and `note`.
        #[arg(long, required_if_eq_any([("op", "say"), ("op", "note")]))]
        text: Option<String>,
    },
    /// Print the agent, the current interaction and the open phones.
    State {
        #[command(flatten)]
        at: SimAt,
    },
}

/// Where the simulator is, and its token.
#[derive(Debug, Args)]
pub(crate) struct SimAt {
    /// The simulator's origin (`crm-demo` prints it).
    #[arg(long, env = "CTI_DEMO_SIM", default_value = "http://127.0.0.1:8081")]
    sim: String,
    /// The environment variable holding the scripting API's token
    /// (`crm-demo` prints it).
    #[arg(long, value_name = "VAR", default_value = "CTI_DEMO_SIM_TOKEN")]
    token_env: String,
}

/// A channel of an inbound interaction.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Channel {
    /// A phone call.
    Voice,
    /// A web chat.
    Chat,
    /// A text message.
    Sms,
}

/// An agent action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Op {
    /// Answer the ringing interaction.
    Answer,
    /// Decline it.
    Reject,
    /// End the conversation.
    Hangup,
    /// Put the customer on hold.
    Hold,
    /// Take them off hold.
    Resume,
    /// Mute the agent.
    Mute,
    /// Unmute.
    Unmute,
    /// Set the disposition (`--code`) and complete.
    Dispose,
    /// Become available.
    Ready,
    /// Go offline.
    Offline,
    /// Call a number (`--number`).
    Dial,
    /// Write in the current chat (`--text`).
    Say,
    /// Add a note to the current interaction on the phone (`--text`).
    Note,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Reject => "reject",
            Self::Hangup => "hangup",
            Self::Hold => "hold",
            Self::Resume => "resume",
            Self::Mute => "mute",
            Self::Unmute => "unmute",
            Self::Dispose => "dispose",
            Self::Ready => "ready",
            Self::Offline => "offline",
            Self::Dial => "dial",
            Self::Say => "say",
            Self::Note => "note",
        }
    }
}

fn fail(what: &str, message: &str, code: u8) -> ExitCode {
    eprintln!("cti sim {what}: {message}");
    ExitCode::from(code)
}

/// Runs a `sim` command.
pub(crate) fn sim(cmd: SimCmd) -> ExitCode {
    let (what, at, method, route, body) = match cmd {
        SimCmd::Ring {
            at,
            from,
            name,
            message,
            channel,
        } => {
            let channel = match channel {
                Channel::Voice => "voice",
                Channel::Chat => "chat",
                Channel::Sms => "sms",
            };
            let mut body = json!({"channel": channel, "from": from});
            if let Value::Object(map) = &mut body {
                if let Some(n) = name {
                    map.insert("name".into(), json!(n));
                }
                if let Some(m) = message {
                    map.insert("message".into(), json!(m));
                }
            }
            ("ring", at, reqwest::Method::POST, "inbound", Some(body))
        }
        SimCmd::Act {
            at,
            op,
            code,
            number,
            text,
        } => {
            let mut body = json!({"op": op.name()});
            if let Value::Object(map) = &mut body {
                if let Some(c) = code.filter(|_| op == Op::Dispose) {
                    map.insert("code".into(), json!(c));
                }
                if let Some(n) = number.filter(|_| op == Op::Dial) {
                    map.insert("number".into(), json!(n));
                }
                if let Some(t) = text.filter(|_| matches!(op, Op::Say | Op::Note)) {
                    map.insert("text".into(), json!(t));
                }
            }
            ("act", at, reqwest::Method::POST, "action", Some(body))
        }
        SimCmd::State { at } => ("state", at, reqwest::Method::GET, "state", None),
    };
    let token = match std::env::var(&at.token_env) {
        Ok(t) if !t.is_empty() => t,
        _ => {
            return fail(
                what,
                &format!(
                    "the environment variable {} is not set (the simulator's API token; crm-demo prints it)",
                    at.token_env
                ),
                2,
            );
        }
    };
    let url = match reqwest::Url::parse(&at.sim).and_then(|u| u.join(&format!("/sim/api/{route}")))
    {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => {
            return fail(
                what,
                &format!("--sim {} is not an http(s) origin", at.sim),
                2,
            );
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(what, &e.to_string(), 1),
    };
    rt.block_on(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(c) => c,
            Err(e) => return fail(what, &e.to_string(), 1),
        };
        let mut request = client.request(method, url.clone()).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return fail(
                    what,
                    &format!("no simulator answers at {} (is crm-demo running?)", at.sim),
                    1,
                );
            }
            Err(e) if e.is_timeout() => {
                return fail(what, "the simulator did not answer in 10 s", 1);
            }
            Err(e) => return fail(what, &format!("the request failed: {}", e.without_url()), 1),
        };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let why = answer["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| text.chars().take(200).collect());
            let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
                " (is the token the one crm-demo printed?)"
            } else {
                ""
            };
            return fail(what, &format!("{why} (HTTP {}){hint}", status.as_u16()), 1);
        }
        match what {
            "ring" => println!("{}", answer["id"].as_str().unwrap_or(&text)),
            "state" => println!("{text}"),
            _ => {}
        }
        ExitCode::SUCCESS
    })
}
