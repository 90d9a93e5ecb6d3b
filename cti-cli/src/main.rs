//! `cti`: the cti-rs command line.
//!
//! `cti decode <zoom|leaddesk|ccai>` reads one postMessage payload per line
//! on standard input and writes one JSON result per line. `cti demo`
//! decodes a bundled sample conversation of each dialect and shows each
//! raw message beside its vendor-neutral form.

mod net;
mod sim;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cti_protocol::Vendor;
use serde_json::{Value, json};

/// Tools for contact-center (CTI) embedding.
#[derive(Debug, Parser)]
#[command(name = "cti", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Decode postMessage payloads, one per line on standard input.
    ///
    /// Each input line is the JSON value exactly as the frame posted it (an
    /// object; for `ccai` also a JSON string holding the object). Each
    /// output line is
    /// `{"ok":true,"vendor":…,"type":…,"known":…,"event":…,"raw":…}` or
    /// `{"ok":false,"error":…}`. A known message with fields that could not
    /// be read as modelled is still decoded, and its line adds
    /// `"unreadable":[{"path":…,"found":…}]`. The exit status is 0 once
    /// standard input has been read to the end.
    Decode {
        /// The dialect.
        #[arg(value_parser = dialect, value_name = "zoom|leaddesk|ccai")]
        vendor: Vendor,
    },
    /// Expand a CCAI lookup-URL template or generic-API parameter.
    ///
    /// Prints one JSON line: `{"ok":true,"value":"…"}`, `{"ok":true,"value":null}`
    /// when the parameter drops out, or `{"ok":false,"error":"…"}` (exit 1).
    /// A template with `://` is a URL template; anything else is a
    /// parameter, possibly `=DEFAULT_VALUE(…)`, `=CONCAT_OR(…)` or
    /// `=CONCAT_AND(…)`.
    Template {
        /// The template, e.g. `https://crm.example/lookup?phone={ANI}` or
        /// `=CONCAT_OR((Id:equals:{ACCOUNT_ID}),(Email:equals:{EMAIL}))`.
        #[arg(long)]
        template: String,
        /// A variable's value, `KEY=VALUE` (`KEY=` for empty); repeatable.
        #[arg(long = "var", value_name = "KEY=VALUE")]
        vars: Vec<String>,
    },
    /// Format a phone number as a CCAI CRM request would.
    ///
    /// Prints the formatted number; an invalid number exits 1 with the
    /// reason on standard error.
    Phone {
        /// The format.
        #[arg(long, value_parser = ["e164", "us-local", "us-local-standard", "international", "automatic-create", "automatic-search"])]
        format: String,
        /// The region for numbers written without a country code.
        #[arg(long, default_value = "US")]
        region: String,
        /// The number.
        number: String,
    },
    /// Build a vendor URL and print it.
    Url {
        #[command(subcommand)]
        kind: UrlCmd,
    },
    /// Call Ameyo's APIs: dispose, dial, dispose-and-dial, voice logs.
    ///
    /// Each command exits 0 on success (printing Ameyo's reason) and 1 with
    /// the vendor's reason on standard error on failure.
    Ameyo {
        #[command(subcommand)]
        cmd: net::AmeyoCmd,
    },
    /// Call a CRM's SSO endpoint: `login` prints the `crmSessionId`.
    Sso {
        #[command(subcommand)]
        cmd: net::SsoCmd,
    },
    /// Check whether a page can be embedded: fetch URL's headers and say,
    /// in plain words, whether a host page at ORIGIN can frame it and use
    /// the microphone and camera inside it (frame-ancestors,
    /// X-Frame-Options, Permissions-Policy, HTTPS, redirects).
    ///
    /// Exits 0 when everything works, 1 when something blocks the embed,
    /// 2 when the page could not be fetched.
    Preflight {
        /// The origin of the host page that would frame URL.
        #[arg(long = "host-origin", value_name = "ORIGIN")]
        host_origin: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The page to embed.
        url: String,
    },
    /// Drive a simulator (the demo's, by default): ring the agent, act on
    /// the phone, print its state.
    ///
    /// Needs the scripting API's token in an environment variable
    /// (`CTI_DEMO_SIM_TOKEN` unless `--token-env` names another).
    Sim {
        #[command(subcommand)]
        cmd: sim::SimCmd,
    },
    /// Decode a bundled sample conversation of each dialect and print each
    /// raw message beside its vendor-neutral form.
    Demo {
        /// Only this dialect.
        #[arg(long, value_parser = dialect, value_name = "zoom|leaddesk|ccai")]
        vendor: Option<Vendor>,
    },
}

#[derive(Debug, Subcommand)]
enum UrlCmd {
    /// A Streem `/embed` invite URL.
    StreemEmbed {
        /// The company site, e.g. `https://acme.streempro.app`.
        #[arg(long)]
        base: String,
        /// The customer's name.
        #[arg(long)]
        name: Option<String>,
        /// The customer's phone number, without country code.
        #[arg(long)]
        phone: Option<String>,
        /// The reference id grouping calls.
        #[arg(long)]
        ref_id: Option<String>,
        /// Where the invite comes from.
        #[arg(long)]
        source: Option<String>,
        /// The calling code.
        #[arg(long, default_value = "+1")]
        calling_code: String,
        /// After the call: a URL, or `call` for the call details page.
        #[arg(long, value_name = "URL|call")]
        redirect: Option<String>,
    },
    /// A Streem `/streems?refId=` call-log URL.
    StreemCalls {
        /// The company site.
        #[arg(long)]
        base: String,
        /// The reference id.
        #[arg(long)]
        ref_id: String,
    },
    /// The Zoom Smart Embed callbar URL for a host page.
    ZoomCallbar {
        /// The host page's origin, e.g. `https://crm.example.com`.
        #[arg(long)]
        origin: String,
        /// A vanity name for SSO (`https://{vanity}.zoom.us`).
        #[arg(long, conflicts_with = "gov")]
        vanity: Option<String>,
        /// Use the government cluster (`www.zoomgov.com`).
        #[arg(long)]
        gov: bool,
        /// Print the whole `<iframe>` element instead of the URL.
        #[arg(long)]
        html: bool,
    },
    /// An Ameyo customer (or preview) screen-pop URL on a CRM base URL, as
    /// Ameyo would open it on connect.
    AmeyoCustomer {
        /// The CRM page, e.g. `https://crm.example.com/ameyo/customer`.
        #[arg(long)]
        base: String,
        /// The agent's Ameyo session id.
        #[arg(long)]
        session_id: String,
        /// The campaign.
        #[arg(long)]
        campaign_id: String,
        /// The call.
        #[arg(long)]
        crt_object_id: String,
        /// The agent's voice extension.
        #[arg(long)]
        user_crt_object_id: String,
        /// The Ameyo user id.
        #[arg(long)]
        user_id: String,
        /// The caller id or dialled number.
        #[arg(long)]
        phone: String,
        /// The customer record.
        #[arg(long)]
        customer_id: Option<String>,
        /// The inbound queue's id.
        #[arg(long)]
        queue_id: Option<String>,
        /// The inbound queue's name.
        #[arg(long)]
        queue_name: Option<String>,
        /// Read the CRM session id (SSO) from this environment variable.
        #[arg(long, value_name = "VAR")]
        crm_session_id_env: Option<String>,
    },
    /// A CCAI Platform agent-adapter URL.
    CcaiAdapter {
        /// The tenant (subdomain).
        #[arg(long)]
        tenant: String,
        /// The region code, e.g. `us1`.
        #[arg(long)]
        region: String,
        /// `call` or `chat`.
        #[arg(long = "type", value_parser = ["call", "chat"], default_value = "call")]
        kind: String,
        /// Print the whole `<iframe>` element instead of the URL.
        #[arg(long)]
        html: bool,
    },
}

/// A vendor with a postMessage dialect (`zoom`, `leaddesk`, `ccai`).
fn dialect(name: &str) -> Result<Vendor, String> {
    Vendor::dialect_named(name).map_err(|e| format!("{e} (use zoom, leaddesk or ccai)"))
}

/// The longest line `decode` reads; longer lines are answered with an
/// error and skipped without being held in memory.
const MAX_LINE: usize = 16 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Decode { vendor } => decode(vendor, io::stdin().lock(), io::stdout().lock()),
        Cmd::Demo { vendor } => demo(vendor, io::stdout().lock()),
        Cmd::Ameyo { cmd } => return net::ameyo(cmd),
        Cmd::Sso { cmd } => return net::sso(cmd),
        Cmd::Sim { cmd } => return sim::sim(cmd),
        Cmd::Preflight {
            host_origin,
            json,
            url,
        } => return net::preflight(&host_origin, &url, json),
        Cmd::Url { kind } => match build_url(kind) {
            Ok(text) => writeln!(io::stdout().lock(), "{text}"),
            Err(e) => {
                eprintln!("cti url: {e}");
                return ExitCode::from(1);
            }
        },
        Cmd::Template { template, vars } => {
            let line = expand_template(&template, &vars);
            let ok = line["ok"] == json!(true);
            let mut out = io::stdout().lock();
            let written = serde_json::to_writer(&mut out, &line)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out));
            match written {
                Ok(()) if ok => Ok(()),
                Ok(()) => return ExitCode::from(1),
                Err(e) => Err(e),
            }
        }
        Cmd::Phone {
            format,
            region,
            number,
        } => {
            let formatted = format
                .parse::<cti_protocol::phone::PhoneFormat>()
                .and_then(|f| cti_protocol::phone::format_phone(&number, f, &region));
            match formatted {
                Ok(text) => writeln!(io::stdout().lock(), "{text}"),
                Err(e) => {
                    eprintln!("cti phone: {e}");
                    return ExitCode::from(1);
                }
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cti: {e}");
            ExitCode::from(2)
        }
    }
}

/// The result line for one input line.
fn decode_line(vendor: Vendor, line: &[u8]) -> Value {
    let Ok(text) = std::str::from_utf8(line) else {
        return json!({ "ok": false, "error": "the line is not valid UTF-8" });
    };
    if text.trim().is_empty() {
        return json!({ "ok": false, "error": "the line is empty" });
    }
    match cti_protocol::decode(vendor, text) {
        Ok(msg) => {
            let event = msg.event_kind().map_or(Value::Null, |kind| {
                let mut v = serde_json::to_value(&kind).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut v {
                    map.insert("vendor".into(), json!(vendor.name()));
                }
                v
            });
            let mut out = json!({
                "ok": true,
                "vendor": vendor.name(),
                "type": msg.wire_type(),
                "known": msg.is_known(),
                "event": event,
                "raw": msg.to_value(),
            });
            // Fields of a known message that could not be read as
            // modelled: the message still decodes, and says which.
            if !msg.unreadable().is_empty()
                && let Value::Object(map) = &mut out
            {
                map.insert("unreadable".into(), json!(msg.unreadable()));
            }
            out
        }
        Err(e) => json!({ "ok": false, "error": e.to_string() }),
    }
}

fn decode(vendor: Vendor, mut input: impl BufRead, mut out: impl Write) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let (n, too_long) = read_line_bounded(&mut input, &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let result = if too_long {
            json!({ "ok": false, "error": format!("the line is longer than {MAX_LINE} bytes") })
        } else {
            decode_line(vendor, &line)
        };
        serde_json::to_writer(&mut out, &result)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
}

/// Reads one line into `buf`, keeping at most `MAX_LINE` bytes of it.
/// Returns the bytes consumed and whether the line was cut.
fn read_line_bounded(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut too_long = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((consumed, too_long));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take > MAX_LINE + 1 {
            too_long = true;
            buf.clear();
        } else if !too_long {
            buf.extend_from_slice(&chunk[..take]);
        }
        input.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, too_long));
        }
    }
}

/// Builds the URL (or frame) `cti url` asks for.
fn build_url(kind: UrlCmd) -> Result<String, String> {
    build_url_inner(kind).map_err(|e| e.to_string())
}

fn build_url_inner(kind: UrlCmd) -> Result<String, Box<dyn std::error::Error>> {
    use cti_protocol::embed::{AdapterKind, EmbedFrame, ZoomHost};
    use cti_protocol::streem::{EmbedUrl, Redirect, StreemsUrl};
    Ok(match kind {
        UrlCmd::StreemEmbed {
            base,
            name,
            phone,
            ref_id,
            source,
            calling_code,
            redirect,
        } => {
            let mut e = EmbedUrl::new(&base)?.calling_code(calling_code);
            e.name = name.map(Into::into);
            e.phone = phone.map(Into::into);
            e.ref_id = ref_id.map(Into::into);
            e.source = source.map(Into::into);
            e.redirect = match redirect.as_deref() {
                None => None,
                Some("call") => Some(Redirect::Call),
                Some(url) => {
                    // Validate through the parser so the URL is checked once.
                    let probe = EmbedUrl::new(&base)?.redirect(Redirect::Url(url.to_owned()));
                    EmbedUrl::parse(&probe.to_url())?.redirect
                }
            };
            e.to_url()
        }
        UrlCmd::StreemCalls { base, ref_id } => StreemsUrl::new(&base, ref_id)?.to_url(),
        UrlCmd::ZoomCallbar {
            origin,
            vanity,
            gov,
            html,
        } => {
            let host = match (vanity, gov) {
                (Some(v), _) => ZoomHost::Vanity(v),
                (None, true) => ZoomHost::Gov,
                (None, false) => ZoomHost::Default,
            };
            let frame = EmbedFrame::zoom(&cti_protocol::origin::Origin::parse(&origin)?, &host)?;
            if html { frame.to_html() } else { frame.src }
        }
        UrlCmd::AmeyoCustomer {
            base,
            session_id,
            campaign_id,
            crt_object_id,
            user_crt_object_id,
            user_id,
            phone,
            customer_id,
            queue_id,
            queue_name,
            crm_session_id_env,
        } => {
            let mut params = cti_protocol::ameyo::CustomerParams::new(
                session_id,
                campaign_id,
                crt_object_id,
                user_crt_object_id,
                user_id,
                phone,
            )?;
            params.customer_id = customer_id;
            params.queue_id = queue_id;
            params.queue_name = queue_name;
            if let Some(var) = crm_session_id_env {
                let token = std::env::var(&var)
                    .map_err(|_| format!("environment variable `{var}` is not set"))?;
                params.crm_session_id = Some(cti_protocol::types::SecretText::new(token));
            }
            params.to_url(&base)?
        }
        UrlCmd::CcaiAdapter {
            tenant,
            region,
            kind,
            html,
        } => {
            let kind = if kind == "chat" {
                AdapterKind::Chat
            } else {
                AdapterKind::Call
            };
            let frame = EmbedFrame::ccai(&tenant, &region, kind)?;
            if html { frame.to_html() } else { frame.src }
        }
    })
}

/// Expands a template for `cti template`, as the JSON result line.
fn expand_template(template: &str, vars: &[String]) -> Value {
    use cti_protocol::ccai::template::{Parameter, UrlTemplate, Values, Variable};
    let mut values = Values::new();
    for var in vars {
        let Some((key, value)) = var.split_once('=') else {
            return json!({ "ok": false, "error": format!("`--var {var}` is not KEY=VALUE") });
        };
        match key.trim().parse::<Variable>() {
            Ok(v) => {
                values.set(v, value);
            }
            Err(e) => return json!({ "ok": false, "error": e.to_string() }),
        }
    }
    let result = if template.trim_start().starts_with('=') || !template.contains("://") {
        Parameter::parse(template).map(|p| p.evaluate(&values))
    } else {
        UrlTemplate::parse(template)
            .and_then(|t| t.expand(&values))
            .map(Some)
    };
    match result {
        Ok(value) => json!({ "ok": true, "value": value }),
        Err(e) => json!({ "ok": false, "error": e.to_string() }),
    }
}

const SAMPLES: [(Vendor, &str); 3] = [
    (Vendor::Zoom, include_str!("../samples/zoom.jsonl")),
    (Vendor::LeadDesk, include_str!("../samples/leaddesk.jsonl")),
    (Vendor::Ccai, include_str!("../samples/ccai.jsonl")),
];

fn demo(only: Option<Vendor>, mut out: impl Write) -> io::Result<()> {
    for (vendor, sample) in SAMPLES {
        if only.is_some_and(|o| o != vendor) {
            continue;
        }
        writeln!(
            out,
            "== {vendor}: a sample conversation, raw message → neutral event"
        )?;
        for line in sample.lines().filter(|l| !l.trim().is_empty()) {
            let result = decode_line(vendor, line.as_bytes());
            let ty = result["type"].as_str().unwrap_or("?");
            let known = if result["known"] == json!(true) {
                ""
            } else {
                " (unknown type, kept raw)"
            };
            let event = match &result["event"] {
                Value::Null => "—".to_owned(),
                e => e.to_string(),
            };
            writeln!(out, "{ty}{known}\n    raw:   {line}\n    event: {event}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Decode your own traffic: `cti decode <zoom|leaddesk|ccai> < messages.jsonl`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vendor: Vendor, input: &str) -> Vec<Value> {
        let mut out = Vec::new();
        decode(vendor, input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn one_output_line_per_input_line_in_order() {
        let input = "{\"type\":\"zcc-init-config-request\"}\n\nnot json\r\n{\"type\":\"zcc-new\",\"data\":1}";
        let out = run(Vendor::Zoom, input);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0]["ok"], true);
        assert_eq!(out[0]["type"], "zcc-init-config-request");
        assert_eq!(out[0]["event"]["event"], "config_requested");
        assert_eq!(out[1]["ok"], false);
        assert_eq!(out[2]["ok"], false);
        assert!(out[2]["error"].as_str().unwrap().contains("line 1"));
        assert_eq!(out[3]["known"], false);
        assert_eq!(out[3]["raw"], json!({"type":"zcc-new","data":1}));
    }

    #[test]
    fn odd_fields_are_named_and_the_message_kept() {
        let out = run(
            Vendor::LeadDesk,
            "{\"action\":\"disconnected\",\"callEnd\":\"\"}\n{\"action\":\"logout\"}\n",
        );
        assert_eq!(out[0]["ok"], true);
        assert_eq!(out[0]["known"], true);
        assert_eq!(out[0]["event"]["event"], "interaction_ended");
        assert_eq!(
            out[0]["unreadable"],
            json!([{"path": "callEnd", "found": "string"}])
        );
        assert_eq!(
            out[0]["raw"],
            json!({"action": "disconnected", "callEnd": ""})
        );
        // A message read whole has exactly the documented keys.
        let keys: Vec<&str> = out[1]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["event", "known", "ok", "raw", "type", "vendor"]);
    }

    #[test]
    fn ccai_string_form_gives_the_object_as_raw() {
        let out = run(
            Vendor::Ccai,
            r#""{\"type\":\"CRM_Record_Pop\",\"data\":{\"recordUrl\":\"u\"}}""#,
        );
        assert_eq!(
            out[0]["raw"],
            json!({"type":"CRM_Record_Pop","data":{"recordUrl":"u"}})
        );
        assert_eq!(out[0]["event"]["event"], "screen_pop");
    }

    #[test]
    fn commands_have_no_event() {
        let out = run(Vendor::LeadDesk, "{\"action\":\"getJwt\"}");
        assert_eq!(out[0]["known"], true);
        assert_eq!(out[0]["event"], Value::Null);
    }

    #[test]
    fn non_utf8_and_overlong_lines_are_errors_not_failures() {
        let mut out = Vec::new();
        decode(Vendor::Zoom, &b"\xff\xfe\n{}\n"[..], &mut out).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0]["error"].as_str().unwrap().contains("UTF-8"));
        assert!(lines[1]["error"].as_str().unwrap().contains("type"));

        let big = format!(
            "{}\n{{\"type\":\"zcc-resize\"}}\n",
            "x".repeat(MAX_LINE + 10)
        );
        let out = run(Vendor::Zoom, &big);
        assert_eq!(out.len(), 2);
        assert!(out[0]["error"].as_str().unwrap().contains("longer"));
        assert_eq!(out[1]["ok"], true);
    }

    #[test]
    fn template_command_results() {
        let v = |t: &str, vars: &[&str]| {
            expand_template(t, &vars.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(
            v(
                "https://crm.example/l?phone={ANI}&e={EMAIL}",
                &["ANI=+1 415", "EMAIL="]
            ),
            json!({"ok": true, "value": "https://crm.example/l?phone=%2B1%20415"})
        );
        assert_eq!(
            v("=CONCAT_AND(a:{EMAIL},b:{CUID})", &["EMAIL=x@y"]),
            json!({"ok": true, "value": "a:x@y"})
        );
        assert_eq!(
            v("=CONCAT_OR({EMAIL})", &[]),
            json!({"ok": true, "value": null})
        );
        assert_eq!(v("{LAST_NAME}", &[]), json!({"ok": true, "value": "--"}));
        assert_eq!(v("{NOPE}", &[])["ok"], false);
        assert_eq!(v("{EMAIL}", &["NOPE=1"])["ok"], false);
        assert_eq!(v("{EMAIL}", &["EMAIL"])["ok"], false);
    }

    #[test]
    fn demo_decodes_every_sample_line() {
        let mut out = Vec::new();
        demo(None, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("zcc-phone-call-log"));
        assert!(text.contains("interaction_completed"));
        assert!(!text.contains("\"ok\":false"));
    }
}
