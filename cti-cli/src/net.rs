//! `cti ameyo …` and `cti sso …`: the API clients on the command line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_client::sso::SsoClient;
use cti_protocol::ameyo::api::{
    ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest, DispositionParams,
    VoiceLogFormat,
};
use secrecy::{ExposeSecret as _, SecretString};

/// Ameyo API calls.
#[derive(Debug, Subcommand)]
pub(crate) enum AmeyoCmd {
    /// Dispose the agent's current call (`disposeCallForUser`).
    Dispose(DisposeArgs),
    /// Dial a number for an agent (`clickToDialWithTokenAsync`).
    Dial(DialArgs),
    /// Dispose the call and dial a number at once (`disposeAndManualDial`).
    DisposeAndDial(DisposeAndDialArgs),
    /// Download a call's recording to a file (`downloadVoiceLog`).
    Voicelog(VoicelogArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DisposeArgs {
    /// The Ameyo server, e.g. `https://ameyo.example.com:8887`.
    #[arg(long)]
    base: String,
    /// The `Authorization` token (visible to other users of this machine
    /// in the process list: prefer `--token-env`).
    #[arg(
        long,
        required_unless_present = "token_env",
        conflicts_with = "token_env"
    )]
    token: Option<String>,
    /// The environment variable holding the `Authorization` token (never
    /// printed).
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// The agent's user id.
    #[arg(long)]
    user_id: String,
    /// The disposition code.
    #[arg(long)]
    disposition: String,
    /// The customer's number.
    #[arg(long, default_value = "")]
    phone: String,
    /// The callback time, in Ameyo's format.
    #[arg(long, default_value = "")]
    callback_time: String,
    /// The callback goes to the same agent.
    #[arg(long)]
    self_callback: bool,
    /// The request id that makes a retry safe (a fresh UUID when absent).
    #[arg(long)]
    request_id: Option<String>,
    /// Notes.
    #[arg(long, default_value = "")]
    notes: String,
}

#[derive(Debug, Args)]
pub(crate) struct DialArgs {
    /// The Ameyo server.
    #[arg(long)]
    base: String,
    /// The token-policy `hash-key` (prefer `--hash-key-env`).
    #[arg(long, conflicts_with_all = ["token", "token_env", "hash_key_env"])]
    hash_key: Option<String>,
    /// The environment variable holding the token-policy `hash-key`.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["token", "token_env"])]
    hash_key_env: Option<String>,
    /// The token-policy `requesting-host` (with `--hash-key` or
    /// `--hash-key-env`).
    #[arg(long)]
    requesting_host: Option<String>,
    /// An `Authorization` token, for deployments without the token policy
    /// (prefer `--token-env`).
    #[arg(long, conflicts_with = "token_env")]
    token: Option<String>,
    /// The environment variable holding the `Authorization` token.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// The agent's user id.
    #[arg(long)]
    user_id: String,
    /// The campaign.
    #[arg(long)]
    campaign_id: String,
    /// The number to dial.
    #[arg(long)]
    phone: String,
    /// Send the body as the form field `data=` instead of JSON.
    #[arg(long)]
    form: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DisposeAndDialArgs {
    /// The Ameyo server.
    #[arg(long)]
    base: String,
    /// The agent's Ameyo session id (sent as the `sessionId` header).
    #[arg(long)]
    session_id: String,
    /// The campaign context.
    #[arg(long)]
    campaign_context_id: i64,
    /// The agent's voice extension.
    #[arg(long)]
    user_crt_object_id: String,
    /// The call to dispose.
    #[arg(long)]
    crt_object_id: String,
    /// The disposition code.
    #[arg(long)]
    disposition: String,
    /// The number to dial next.
    #[arg(long)]
    phone: String,
    /// The customer (`-1` for none).
    #[arg(long, default_value = "-1", allow_hyphen_values = true)]
    customer_id: String,
    /// The request id that makes a retry safe (a fresh UUID when absent).
    #[arg(long)]
    request_id: Option<String>,
}

/// A recording format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// WAV.
    Wav,
    /// MP3.
    Mp3,
}

#[derive(Debug, Args)]
pub(crate) struct VoicelogArgs {
    /// The Ameyo server.
    #[arg(long)]
    base: String,
    /// The call.
    #[arg(long)]
    crt_object_id: String,
    /// The format.
    #[arg(long, value_enum, default_value = "wav")]
    format: Format,
    /// The token-policy `hash-key`, where the deployment wants it (prefer
    /// `--hash-key-env`).
    #[arg(long, requires = "requesting_host", conflicts_with = "hash_key_env")]
    hash_key: Option<String>,
    /// The environment variable holding the token-policy `hash-key`.
    #[arg(long, value_name = "VAR", requires = "requesting_host")]
    hash_key_env: Option<String>,
    /// The token-policy `requesting-host`.
    #[arg(long)]
    requesting_host: Option<String>,
    /// The file to write; it appears only once the download is complete.
    #[arg(long)]
    output: PathBuf,
}

/// SSO calls against a CRM endpoint.
#[derive(Debug, Subcommand)]
pub(crate) enum SsoCmd {
    /// Log in and print the `crmSessionId`.
    Login {
        /// The CRM's SSO endpoint.
        #[arg(long)]
        url: String,
        /// The user id.
        #[arg(long)]
        user_id: String,
        /// The environment variable holding the password (never printed).
        #[arg(long)]
        password_env: String,
        /// Send `request=<json>` as a form instead of JSON.
        #[arg(long)]
        form: bool,
    },
    /// End a CRM session.
    Logout {
        /// The CRM's SSO endpoint.
        #[arg(long)]
        url: String,
        /// The session to end.
        #[arg(long)]
        crm_session_id: String,
        /// Send `request=<json>` as a form instead of JSON.
        #[arg(long)]
        form: bool,
    },
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn fail(what: &str, e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("cti {what}: {e}");
    ExitCode::from(1)
}

/// A usage error: exit status 2, as clap's own.
fn usage(what: &str, message: &str) -> ExitCode {
    eprintln!("cti {what}: {message}");
    ExitCode::from(2)
}

/// A secret given on the command line (`flag`) or, better, named by the
/// environment variable holding it.
fn secret(
    what: &str,
    flag: &str,
    given: Option<String>,
    env: Option<String>,
) -> Result<Option<String>, ExitCode> {
    match (given, env) {
        (Some(v), _) => Ok(Some(v)),
        (None, Some(var)) => match std::env::var(&var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(usage(
                what,
                &format!("the environment variable {var} (for {flag}) is not set"),
            )),
        },
        (None, None) => Ok(None),
    }
}

fn report(
    what: &str,
    result: cti_client::Result<cti_protocol::ameyo::api::AmeyoResult>,
) -> ExitCode {
    match result {
        Ok(r) => {
            println!("{}", r.explanation());
            ExitCode::SUCCESS
        }
        Err(e) => fail(what, &e),
    }
}

/// Runs an `ameyo` command.
pub(crate) fn ameyo(cmd: AmeyoCmd) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail("ameyo", &e),
    };
    rt.block_on(async move {
        match cmd {
            AmeyoCmd::Dispose(a) => {
                let what = "ameyo dispose";
                let token = match secret(what, "--token", a.token, a.token_env) {
                    Ok(Some(t)) => t,
                    Ok(None) => return usage(what, "give --token-env VAR (or --token)"),
                    Err(code) => return code,
                };
                let client = match AmeyoClient::new(&a.base, AmeyoAuth::new().token(token)) {
                    Ok(c) => c,
                    Err(e) => return fail(what, &e),
                };
                let mut params = DispositionParams::new(a.phone);
                if !a.callback_time.is_empty() || a.self_callback {
                    params = params.callback(a.callback_time, a.self_callback);
                }
                let req = DisposeCallForUserRequest::new(
                    a.user_id,
                    a.disposition,
                    a.request_id.unwrap_or_default(),
                )
                .params(params)
                .notes(a.notes);
                report(what, client.dispose_call_for_user(&req).await)
            }
            AmeyoCmd::Dial(a) => {
                let what = "ameyo dial";
                let mut auth = AmeyoAuth::new();
                let hash_key = match secret(what, "--hash-key", a.hash_key, a.hash_key_env) {
                    Ok(k) => k,
                    Err(code) => return code,
                };
                let token = match secret(what, "--token", a.token, a.token_env) {
                    Ok(t) => t,
                    Err(code) => return code,
                };
                match (hash_key, a.requesting_host, token) {
                    (Some(k), Some(h), None) => auth = auth.token_policy(k, h),
                    (None, None, Some(t)) => auth = auth.token(t),
                    (Some(_), None, _) => {
                        return usage(what, "the token policy needs --requesting-host too");
                    }
                    (None, Some(_), _) => {
                        return usage(
                            what,
                            "--requesting-host goes with --hash-key-env (or --hash-key)",
                        );
                    }
                    _ => {
                        return usage(
                            what,
                            "give --hash-key-env VAR with --requesting-host (the token policy), or --token-env VAR",
                        );
                    }
                }
                let client = match AmeyoClient::new(&a.base, auth) {
                    Ok(c) => c,
                    Err(e) => return fail(what, &e),
                };
                let req = ClickToDialRequest::new(a.user_id, a.campaign_id, a.phone);
                let result = if a.form {
                    client.click_to_dial_form(&req).await
                } else {
                    client.click_to_dial(&req).await
                };
                report(what, result)
            }
            AmeyoCmd::DisposeAndDial(a) => {
                let what = "ameyo dispose-and-dial";
                let client =
                    match AmeyoClient::new(&a.base, AmeyoAuth::new().session_id(a.session_id)) {
                        Ok(c) => c,
                        Err(e) => return fail(what, &e),
                    };
                let req = DisposeAndManualDialRequest::new(
                    a.campaign_context_id,
                    a.user_crt_object_id,
                    a.crt_object_id,
                    a.disposition,
                    a.phone,
                )
                .customer_id(a.customer_id)
                .request_id(a.request_id.unwrap_or_default());
                report(what, client.dispose_and_manual_dial(&req).await)
            }
            AmeyoCmd::Voicelog(a) => voicelog(a).await,
        }
    })
}

async fn voicelog(a: VoicelogArgs) -> ExitCode {
    let what = "ameyo voicelog";
    let mut auth = AmeyoAuth::new();
    let hash_key = match secret(what, "--hash-key", a.hash_key, a.hash_key_env) {
        Ok(k) => k,
        Err(code) => return code,
    };
    match (hash_key, a.requesting_host) {
        (Some(k), Some(h)) => auth = auth.token_policy(k, h),
        (None, None) => {}
        _ => {
            return usage(
                what,
                "--requesting-host goes with --hash-key-env (or --hash-key)",
            );
        }
    }
    let client = match AmeyoClient::new(&a.base, auth) {
        Ok(c) => c,
        Err(e) => return fail(what, &e),
    };
    let format = match a.format {
        Format::Wav => VoiceLogFormat::Wav,
        Format::Mp3 => VoiceLogFormat::Mp3,
    };
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let result = client
        .download_voice_log(a.crt_object_id, format)
        .on_progress(move |p| {
            if let Some(t) = p.total {
                progress.set_length(t);
            }
            progress.set_position(p.bytes);
        })
        .to_path(&a.output)
        .await;
    bar.finish_and_clear();
    match result {
        Ok(s) => {
            eprintln!(
                "{} bytes written to {}{}",
                s.bytes,
                a.output.display(),
                if s.resumes > 0 {
                    format!(" ({} resumes)", s.resumes)
                } else {
                    String::new()
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(what, &e),
    }
}

/// Runs an `sso` command.
pub(crate) fn sso(cmd: SsoCmd) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail("sso", &e),
    };
    rt.block_on(async move {
        match cmd {
            SsoCmd::Login {
                url,
                user_id,
                password_env,
                form,
            } => {
                let what = "sso login";
                let Ok(password) = std::env::var(&password_env) else {
                    eprintln!("cti {what}: the environment variable {password_env} is not set");
                    return ExitCode::from(2);
                };
                let password = SecretString::from(password);
                let client = match SsoClient::new(&url) {
                    Ok(c) => c.form(form),
                    Err(e) => return fail(what, &e),
                };
                match client.login(&user_id, &password).await {
                    Ok(session) => {
                        let mut out = io::stdout().lock();
                        match writeln!(out, "{}", session.expose_secret()) {
                            Ok(()) => ExitCode::SUCCESS,
                            Err(e) => fail(what, &e),
                        }
                    }
                    Err(e) => fail(what, &e),
                }
            }
            SsoCmd::Logout {
                url,
                crm_session_id,
                form,
            } => {
                let what = "sso logout";
                let client = match SsoClient::new(&url) {
                    Ok(c) => c.form(form),
                    Err(e) => return fail(what, &e),
                };
                match client.logout(&SecretString::from(crm_session_id)).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(what, &e),
                }
            }
        }
    })
}

/// Runs `preflight`.
pub(crate) fn preflight(host_origin: &str, url: &str, as_json: bool) -> ExitCode {
    use cti_server_kit::preflight::{Options, Verdict, check};
    let host = match cti_protocol::origin::Origin::parse(host_origin) {
        Ok(o) if !o.is_opaque() => o,
        Ok(_) => {
            return fail(
                "preflight",
                &"--host-origin must be a real origin, not `null`",
            );
        }
        Err(e) => return fail("preflight", &e),
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cti-preflight/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => return fail("preflight", &e),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail("preflight", &e),
    };
    let report = match rt.block_on(check(&client, url, &host, &Options::default())) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cti preflight: {e}");
            return ExitCode::from(2);
        }
    };
    if as_json {
        let verdict = |v: &Verdict| match v {
            Verdict::Allowed => serde_json::json!({"ok": true}),
            Verdict::Blocked(why) => serde_json::json!({"ok": false, "reason": why}),
            _ => serde_json::json!({"ok": false}),
        };
        let features: serde_json::Map<String, serde_json::Value> = report
            .features
            .iter()
            .map(|(p, v)| (p.name().to_owned(), verdict(v)))
            .collect();
        let line = serde_json::json!({
            "host_origin": report.host_origin.to_string(),
            "hops": report.hops.iter().map(|h| serde_json::json!({"url": h.url, "status": h.status})).collect::<Vec<_>>(),
            "framing": verdict(&report.framing),
            "features": features,
            "notes": report.notes,
            "all_clear": report.all_clear(),
        });
        println!("{line}");
    } else {
        println!("{report}");
    }
    if report.all_clear() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
