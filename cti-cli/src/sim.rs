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
    /// Do what the agent would do on the phone.
    ///
    /// OP is one of the simulator's actions (its scripting API lists them:
    /// `answer`, `hangup`, `dispose --code C`, `dial --number N`, `say
    /// --text T`, …); the simulator checks it and says what is wrong.
    Act {
        #[command(flatten)]
        at: SimAt,
        /// The action.
        op: String,
        /// The disposition code (`dispose`).
        #[arg(long)]
        code: Option<String>,
        /// The number (`dial`).
        #[arg(long)]
        number: Option<String>,
        /// The text (`say`, `note`).
        #[arg(long)]
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
            // The simulator's own `Action` is the one list of actions:
            // what it refuses, it names.
            let mut body = json!({"op": op});
            if let Value::Object(map) = &mut body {
                for (key, value) in [("code", code), ("number", number), ("text", text)] {
                    if let Some(v) = value {
                        map.insert(key.into(), json!(v));
                    }
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
