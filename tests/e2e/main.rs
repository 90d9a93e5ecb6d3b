//! End to end: Debian's Chromium (through chromium-driver and fantoccini)
//! drives the CRM demo for each dialect, the softphone coming from the
//! simulator's origin.
//!
//! For Zoom, LeadDesk and CCAI:
//! - a full call: ring, screen pop (and Zoom's contact lookup shown on the
//!   phone), answer on the phone, a note in the CRM, hang up, dispose
//!   through the Ameyo API, the call-log entry, the recording as WAV and
//!   MP3;
//! - a chat from ring to call log (Zoom and CCAI; LeadDesk Talk is voice
//!   only);
//! - a click-to-dial from a contact (by postMessage for Zoom and LeadDesk,
//!   by Ameyo's API for CCAI);
//! - for Zoom and LeadDesk, a dial clicked before the agent signs in on
//!   the phone, reaching the phone after the sign-in; and one to a phone
//!   that never signs in, refused as not ready;
//! - a screenshot of the page, saved under `target/e2e-screenshots/`.
//!
//! And the origin attacks: a page on another origin can frame neither the
//! CRM (its frame-ancestors policy) nor the
//! phone (and its socket refuses that host), and messages posted by a
//! window of another origin reach neither the CRM's bridge nor the phone.
//!
//! Without chromium and chromium-driver the test skips loudly, and fails
//! under `CI=true` or `CTI_REQUIRE_SERVICES=1`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use cti_examples::crm::{Demo, DemoConfig, start};
use cti_protocol::Vendor;
use cti_server_kit::simulator::Inbound;
use fantoccini::Client;
use serde_json::{Value, json};

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[path = "../support/services.rs"]
mod services;

#[path = "../../cti-server-kit/tests/support/chromedriver.rs"]
mod chromedriver;

async fn browser(port: u16, profile: &std::path::Path) -> Res<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--window-size=1440,1100",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    Ok(
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await?,
    )
}

async fn js(client: &Client, script: &str) -> Res<Value> {
    client
        .execute(script, vec![])
        .await
        .map_err(|e| format!("{e}\n  in: {script}").into())
}

/// Polls `script` until it returns something other than null, false or
/// "" (15 s at most).
async fn until(client: &Client, what: &str, script: &str) -> Res<Value> {
    let mut last = Value::Null;
    for _ in 0..150 {
        let v = js(client, script).await?;
        let done = !matches!(&v, Value::Null | Value::Bool(false))
            && v.as_str().is_none_or(|s| !s.is_empty());
        if done {
            return Ok(v);
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("timed out waiting for {what} (last: {last})").into())
}

/// Runs `script` inside the softphone frame.
async fn in_phone(client: &Client, script: &str) -> Res<Value> {
    client.enter_frame(0).await?;
    let v = js(client, script).await;
    client.enter_parent_frame().await?;
    v
}

async fn until_in_phone(client: &Client, what: &str, script: &str) -> Res<Value> {
    for _ in 0..150 {
        let v = in_phone(client, script).await?;
        if !matches!(&v, Value::Null | Value::Bool(false))
            && v.as_str().is_none_or(|s| !s.is_empty())
        {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("timed out waiting in the phone for {what}").into())
}

async fn phone_click(client: &Client, op: &str) -> Res {
    let script = format!(
        "const b = document.querySelector('button[data-op=\"{op}\"]'); if (!b || b.disabled) return false; b.click(); return true;"
    );
    until_in_phone(client, &format!("the phone's {op} button"), &script).await?;
    Ok(())
}

async fn sim_state(demo: &Demo) -> Value {
    demo.sim.state()
}

async fn until_sim(demo: &Demo, what: &str, check: impl Fn(&Value) -> bool) -> Res<Value> {
    for _ in 0..150 {
        let s = sim_state(demo).await;
        if check(&s) {
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "timed out waiting in the simulator for {what}: {}",
        sim_state(demo).await
    )
    .into())
}

const POP_NAME: &str = "return document.getElementById('pop-name').textContent;";
const POP_STATE: &str = "return document.getElementById('pop-card').hidden ? '' : document.getElementById('pop-state').textContent;";

/// The call-log row of the newest call with `disposition`, as
/// `[id, contact, channel, direction, disposition, notes, files, time,
/// duration]`.
fn row_script(disposition: &str) -> String {
    format!(
        "const r = [...document.querySelectorAll('#calls tbody tr')].find(r => r.querySelector('td.disposition').textContent === '{disposition}'); \
         const t = (c) => r.querySelector('td.' + c).textContent; \
         return r ? [r.dataset.id, ...['contact', 'channel', 'direction', 'disposition', 'notes', 'files', 'time', 'duration'].map(t)] : null;"
    )
}

async fn dispose(client: &Client, disposition: &str) -> Res<Value> {
    js(
        client,
        &format!(
            "document.getElementById('disposition').value = '{disposition}'; \
             document.querySelector('#dispose-form button').click(); return true;"
        ),
    )
    .await?;
    until(client, "the call-log entry", &row_script(disposition)).await
}

async fn full_call(client: &Client, demo: &Demo, vendor: Vendor, http: &reqwest::Client) -> Res {
    let name = vendor.name();
    demo.sim.inbound(&Inbound::voice("+1 (415) 555-0101"))?;
    until_sim(demo, "the ring", |s| s["interaction"]["state"] == "offered").await?;
    if vendor != Vendor::Ccai {
        // The CRM pops the contact while it rings (CCAI's adapter says
        // nothing until the call connects).
        let who = until(client, "the screen pop", POP_NAME).await?;
        assert_eq!(who, "Ada Lovelace", "{name}");
        let state = until(client, "ringing", POP_STATE).await?;
        assert!(
            state.as_str().is_some_and(|s| s.contains("ringing")),
            "{name}: {state}"
        );
    }
    if vendor == Vendor::Zoom {
        // Zoom asked the CRM who calls; the phone shows the answer.
        let matched = until_in_phone(
            client,
            "the CRM match",
            "return document.getElementById('contact').textContent;",
        )
        .await?;
        assert_eq!(matched, "CRM match: Ada Lovelace");
    }
    // The Ameyo-style screen pop link on the phone leads to the contact.
    let pop = until_in_phone(
        client,
        "the Ameyo pop link",
        "const a = document.getElementById('ameyo-pop'); return a.hidden ? null : a.href;",
    )
    .await?;
    let pop = pop.as_str().ok_or("no pop link")?;
    // A screen pop shows personal data: only with the agent's session.
    assert_eq!(http.get(pop).send().await?.status(), 401, "{pop}");
    let answer = http
        .get(pop)
        .header("cookie", session_cookie(client).await?)
        .send()
        .await?;
    assert_eq!(answer.status(), 303, "{pop}");
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // It opens the customer's record page, not a second CRM page with a
    // second softphone.
    assert_eq!(location, "/contacts/003A1", "{pop}");
    let record = http
        .get(format!("{}{location}", demo.crm_url))
        .header("cookie", session_cookie(client).await?)
        .send()
        .await?;
    assert_eq!(record.status(), 200);
    let record = record.text().await?;
    assert!(record.contains("<h1>Ada Lovelace</h1>"), "{record}");
    assert!(!record.contains("<iframe"), "a second softphone: {record}");

    phone_click(client, "answer").await?;
    let state = until(
        client,
        "connected",
        "const s = document.getElementById('pop-state').textContent; return s.includes('connected') ? s : null;",
    )
    .await?;
    assert!(
        state
            .as_str()
            .is_some_and(|s| s.starts_with("voice · inbound")),
        "{state}"
    );
    assert_eq!(js(client, POP_NAME).await?, "Ada Lovelace", "{name}");

    js(
        client,
        "document.getElementById('note').value = 'Wants the yearly plan'; \
         document.querySelector('#note-form button').click(); return true;",
    )
    .await?;
    until(
        client,
        "the note",
        "const li = document.querySelector('#notes li'); return li ? li.textContent : null;",
    )
    .await?;
    // Talk for a second so the recording has some length.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    phone_click(client, "hangup").await?;
    until(
        client,
        "ended",
        "const s = document.getElementById('pop-state').textContent; return s.includes('ended') ? s : null;",
    )
    .await?;

    // A disposition outside the plan is refused, and nothing is lost.
    js(
        client,
        "const s = document.getElementById('disposition'); const o = document.createElement('option'); \
         o.value = 'bogus'; s.append(o); s.value = 'bogus'; document.querySelector('#dispose-form button').click(); return true;",
    )
    .await?;
    let refused = until(
        client,
        "the refusal",
        "const t = document.getElementById('dispose-result').textContent; return t.startsWith('Refused') ? t : null;",
    )
    .await?;
    assert!(
        refused.as_str().is_some_and(|t| t.contains("disposition")),
        "{refused}"
    );

    dispose(client, "sale").await?;
    // The entry may show before the recording is fetched.
    let row = until(
        client,
        "the recording links",
        &row_script("sale").replace(
            "return r ?",
            "return r && r.querySelector('td.files').textContent ?",
        ),
    )
    .await?;
    assert_eq!(row[1], "Ada Lovelace", "{name}: {row}");
    assert_eq!(row[2], "voice");
    assert_eq!(row[3], "inbound");
    assert_eq!(row[5], "Wants the yearly plan");
    assert_eq!(row[6], "WAV MP3 ", "{name}: the recording links: {row}");
    assert!(
        row[7].as_str().is_some_and(|t| !t.is_empty()),
        "{name}: no time: {row}"
    );
    // The confirmation is outside the pop card, which hid: it is seen.
    let flash = until(
        client,
        "the dispose confirmation, visible",
        "const f = document.getElementById('flash'); \
         return !f.hidden && f.offsetParent !== null && document.getElementById('pop-card').hidden ? f.textContent : null;",
    )
    .await?;
    assert!(
        flash
            .as_str()
            .is_some_and(|t| t.starts_with("Disposed: Ada Lovelace as sale")),
        "{name}: {flash}"
    );
    if vendor != Vendor::Ccai {
        // The phone reports the talk time (CCAI's adapter does not).
        let talk = until(
            client,
            "the duration",
            &row_script("sale").replace(
                "return r ?",
                "return r && r.querySelector('td.duration').textContent ?",
            ),
        )
        .await?;
        assert!(
            talk[8]
                .as_str()
                .is_some_and(|d| d.len() >= 4 && d.contains(':')),
            "{name}: {talk}"
        );
    }
    let id = row[0].as_str().ok_or("no id")?;
    // The recordings are behind the session: without it, 401.
    let anonymous = http
        .get(format!(
            "{}/api/calls/{id}/voicelog?format=wav",
            demo.crm_url
        ))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    let session = session_cookie(client).await?;
    let wav = http
        .get(format!(
            "{}/api/calls/{id}/voicelog?format=wav",
            demo.crm_url
        ))
        .header("cookie", &session)
        .send()
        .await?;
    assert_eq!(wav.status(), 200);
    let wav = wav.bytes().await?;
    assert!(
        wav.starts_with(b"RIFF") && wav.len() > 8000,
        "{} bytes",
        wav.len()
    );
    let mp3 = http
        .get(format!(
            "{}/api/calls/{id}/voicelog?format=mp3",
            demo.crm_url
        ))
        .header("cookie", &session)
        .send()
        .await?
        .bytes()
        .await?;
    assert!(
        mp3.starts_with(b"ID3") || mp3.first() == Some(&0xFF),
        "{name}: not MP3: {:?}",
        mp3.get(..4)
    );
    // The pop is cleared, the phone is idle again.
    until(
        client,
        "the pop to clear",
        "return document.getElementById('pop-card').hidden;",
    )
    .await?;
    until_sim(demo, "the agent to be available", |s| {
        s["agent"]["state"] == "available" && s["interaction"].is_null()
    })
    .await?;
    Ok(())
}

async fn chat(client: &Client, demo: &Demo) -> Res {
    demo.sim.inbound(
        &Inbound::chat("grace@compilers.example", "Grace Hopper")
            .message("My compiler rejects a valid program."),
    )?;
    until_sim(demo, "the chat to ring", |s| {
        s["interaction"]["state"] == "offered"
    })
    .await?;
    phone_click(client, "answer").await?;
    let who = until(
        client,
        "the chat's pop",
        "const s = document.getElementById('pop-state').textContent; return s.includes('chat') && s.includes('connected') ? document.getElementById('pop-name').textContent : null;",
    )
    .await?;
    assert_eq!(who, "Grace Hopper");
    // The agent writes back on the phone.
    until_in_phone(
        client,
        "the chat box",
        "const f = document.getElementById('say'); if (f.hidden) return false; \
         document.getElementById('say-text').value = 'Which version are you on?'; \
         f.querySelector('button').click(); return true;",
    )
    .await?;
    // The socket keeps order: the message is in before the hang-up.
    phone_click(client, "hangup").await?;
    let row = dispose(client, "resolved").await?;
    assert_eq!(row[1], "Grace Hopper", "{row}");
    assert_eq!(row[2], "chat");
    // No recording; the transcript, delivered at the end of the session.
    let row = until(
        client,
        "the transcript link",
        &row_script("resolved").replace(
            "return r ?",
            "return r && r.querySelector('td.files').textContent ?",
        ),
    )
    .await?;
    assert_eq!(row[6], "Transcript ", "{row}");
    let id = row[0].as_str().ok_or("no id")?;
    let transcript = reqwest::Client::new()
        .get(format!("{}/api/calls/{id}/transcript", demo.crm_url))
        .header("cookie", session_cookie(client).await?)
        .send()
        .await?;
    assert_eq!(transcript.status(), 200);
    let text = transcript.text().await?;
    assert!(
        text.contains("Grace Hopper: My compiler rejects a valid program.")
            && text.contains("Alex Agent: Which version are you on?"),
        "{text}"
    );
    until_sim(demo, "the agent to be free", |s| s["interaction"].is_null()).await?;
    Ok(())
}

async fn click_to_dial(client: &Client, demo: &Demo, vendor: Vendor) -> Res {
    js(
        client,
        "document.querySelector('button.dial[data-contact=\"003A3\"]').click(); return true;",
    )
    .await?;
    let via = until(
        client,
        "the dial",
        "const b = document.querySelector('button.dial[data-contact=\"003A3\"]'); return b.textContent.startsWith('Calling') ? b.textContent : null;",
    )
    .await?;
    let expected = if vendor == Vendor::Ccai {
        "Calling (ameyo)"
    } else {
        "Calling (postMessage)"
    };
    assert_eq!(via, expected);
    let s = until_sim(demo, "the outbound call", |s| {
        s["interaction"]["direction"] == "outbound"
    })
    .await?;
    assert_eq!(s["interaction"]["customer"], "+442075550103");
    // The customer picks up.
    demo.sim.act(&cti_server_kit::simulator::Action::Answer)?;
    until(
        client,
        "the outbound call connected",
        "const s = document.getElementById('pop-state').textContent; return s.includes('outbound') && s.includes('connected') ? document.getElementById('pop-name').textContent : null;",
    )
    .await?;
    phone_click(client, "hangup").await?;
    let row = dispose(client, "callback").await?;
    assert_eq!(row[1], "Alan Turing", "{row}");
    assert_eq!(row[3], "outbound");
    until_sim(demo, "the agent to be free", |s| s["interaction"].is_null()).await?;
    Ok(())
}

/// A dial sent before the phone is ready waits for it: the agent signs
/// in on the phone after the click, and the phone dials. A phone that
/// never signs in leaves the command refused with the bridge's typed
/// `NotReady` (after the demo's 5 s), which the demo turns into a dial
/// through Ameyo's API and says so. CCAI's adapter takes no commands, so
/// there is nothing to wait for.
async fn commands_wait_for_the_phone(client: &Client, demo: &Demo) -> Res {
    const BUTTON: &str = "document.querySelector('button.dial[data-contact=\"003A3\"]')";
    demo.sim.set_manual_sign_in(true);
    for sign_in in [true, false] {
        client.refresh().await?;
        until(
            client,
            "the bridge after the reload",
            "return window.ctiBridge && window.ctiBridge.connected;",
        )
        .await?;
        until_in_phone(
            client,
            "the signed-out phone",
            "return window.simPhone && window.simPhone.signedOut && !document.getElementById('signed-out').hidden;",
        )
        .await?;
        until(
            client,
            "the contacts",
            "return document.querySelectorAll('#contact-list li').length === 5;",
        )
        .await?;
        js(client, &format!("{BUTTON}.click(); return true;")).await?;
        // The command waits in the bridge: the phone has not dialled.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let text = js(client, &format!("return {BUTTON}.textContent;")).await?;
        assert_eq!(text, "Call", "the dial answered before the phone was ready");
        assert!(sim_state(demo).await["interaction"].is_null());
        if !sign_in {
            // Nobody signs in: the bridge gives up with NotReady and the
            // demo tries Ameyo's API instead, which refuses too (the agent
            // is signed out), and says both.
            let via = until(
                client,
                "the fallback dial",
                &format!("const t = {BUTTON}.textContent; return t === 'Call' ? null : t;"),
            )
            .await?;
            let via = via.as_str().unwrap_or_default();
            assert!(via.contains("the phone is not signed in"), "{via}");
            break;
        }
        in_phone(
            client,
            "document.getElementById('sign-in').click(); return true;",
        )
        .await?;
        let via = until(
            client,
            "the dial after sign-in",
            &format!("const t = {BUTTON}.textContent; return t === 'Call' ? null : t;"),
        )
        .await?;
        assert_eq!(via, "Calling (postMessage)");
        let s = until_sim(demo, "the outbound call", |s| {
            s["interaction"]["direction"] == "outbound"
        })
        .await?;
        assert_eq!(s["interaction"]["customer"], "+442075550103");
        let id = s["interaction"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // The customer picks up; the agent ends and disposes on the phone.
        demo.sim.act(&cti_server_kit::simulator::Action::Answer)?;
        demo.sim.act(&cti_server_kit::simulator::Action::Dispose {
            code: "callback".into(),
        })?;
        until_sim(demo, "the agent to be free", |s| s["interaction"].is_null()).await?;
        // The CRM has the completion before the page reloads.
        until(
            client,
            "the call in the call log",
            &format!("return !!document.querySelector('#calls tbody tr[data-id=\"{id}\"]');"),
        )
        .await?;
    }
    demo.sim.set_manual_sign_in(false);
    // Back to a phone that signs in at once, for the steps that follow.
    client.refresh().await?;
    until_sim(demo, "the phone to sign the agent in", |s| {
        s["agent"]["state"] == "available"
    })
    .await?;
    Ok(())
}

/// The page as a newcomer meets it: signed in on every vendor's page and
/// after a reload, every link answering, CCAI's record pop and the
/// simulator's root found, and the event log's filter, clear and export.
async fn page_polish(client: &Client, demo: &Demo, vendor: Vendor, http: &reqwest::Client) -> Res {
    let cookie = session_cookie(client).await?;
    // Every link on the page answers 2xx or 3xx (with the session, as the
    // browser sends it).
    let links = js(
        client,
        "return [...document.querySelectorAll('a[href]')].map(a => a.href);",
    )
    .await?;
    let mut links: Vec<String> = links
        .as_array()
        .ok_or("no links")?
        .iter()
        .filter_map(|l| l.as_str().map(str::to_owned))
        .collect();
    links.extend([
        format!("{}/", demo.sim_url),
        format!("{}/favicon.ico", demo.sim_url),
        format!("{}/favicon.ico", demo.crm_url),
        format!("{}/lookup?phone=%2B14155550101&email=", demo.crm_url),
        format!("{}/lookup?phone=%2B19995550000&email=", demo.crm_url),
    ]);
    assert!(links.len() > 10, "{links:?}");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for link in &links {
        let mut request = no_redirects.get(link);
        if link.starts_with(&demo.crm_url) {
            request = request.header("cookie", &cookie);
        }
        let status = request.send().await?.status();
        assert!(
            status.is_success() || status.is_redirection(),
            "{}: {link} answered {status}",
            vendor.name()
        );
    }
    // CCAI's record pop opens the record.
    let pop = http
        .get(format!(
            "{}/lookup?phone=%2B14155550101&email=",
            demo.crm_url
        ))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(pop.status(), 303);
    assert_eq!(
        pop.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/contacts/003A1")
    );
    let nobody = http
        .get(format!(
            "{}/lookup?phone=%2B19995550000&email=",
            demo.crm_url
        ))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(nobody.status(), 200);
    assert!(nobody.text().await?.contains("No contact has"));
    let root = http
        .get(format!("{}/", demo.sim_url))
        .send()
        .await?
        .text()
        .await?;
    assert!(root.contains("softphone simulator"), "{root}");

    // The event log: a filter, clear, and an export of what it shows.
    let wire = match vendor {
        Vendor::Zoom => "zcc-phone-call-log",
        Vendor::LeadDesk => "completed",
        _ => "End_Call",
    };
    js(
        client,
        &format!("const f = document.getElementById('event-filter'); f.value = '{wire}'; f.dispatchEvent(new Event('input')); return true;"),
    )
    .await?;
    let shown = js(
        client,
        "return [...document.querySelectorAll('#event-rows tr')].map(r => r.children[2].textContent + ' ' + r.children[3].textContent);",
    )
    .await?;
    let shown = shown.as_array().ok_or("no rows")?;
    assert!(
        !shown.is_empty(),
        "{}: nothing matches {wire}",
        vendor.name()
    );
    assert!(
        shown
            .iter()
            .all(|r| r.as_str().is_some_and(|r| r.contains(wire))),
        "{shown:?}"
    );
    let exported = js(
        client,
        "let blob = null; const make = URL.createObjectURL; URL.createObjectURL = (b) => { blob = b; return make(b); }; \
         document.getElementById('event-export').click(); URL.createObjectURL = make; \
         return blob ? blob.text() : null;",
    )
    .await?;
    let exported: Value = serde_json::from_str(exported.as_str().ok_or("no export")?)?;
    assert_eq!(
        exported.as_array().map(Vec::len),
        Some(shown.len()),
        "the export is what the filter shows"
    );
    js(
        client,
        "const f = document.getElementById('event-filter'); f.value = ''; f.dispatchEvent(new Event('input')); \
         document.getElementById('event-clear').click(); return true;",
    )
    .await?;
    let left = js(
        client,
        "return document.querySelectorAll('#event-rows tr').length;",
    )
    .await?;
    assert_eq!(left, 0);

    // Signed in across a vendor switch, and after a reload.
    let other = if vendor == Vendor::Zoom {
        "leaddesk"
    } else {
        "zoom"
    };
    js(
        client,
        &format!(
            "document.querySelector('#vendors a[data-vendor=\"{other}\"]').click(); return true;"
        ),
    )
    .await?;
    for step in ["the switch", "the reload"] {
        let state = until(
            client,
            &format!("the signed-in state after {step}"),
            &format!("const m = document.querySelector('main.crm'); const s = document.getElementById('sso-state'); \
             return m && m.dataset.vendor === '{other}' && s && s.textContent.startsWith('Signed in as') ? s.textContent : null;"),
        )
        .await?;
        assert_eq!(state, "Signed in as agent");
        let form = js(client, "return !!document.getElementById('sso-pass');").await?;
        assert_eq!(form, false, "the sign-in form after {step}");
        if step == "the switch" {
            client.refresh().await?;
        }
    }
    client
        .goto(&format!("{}/?vendor={}", demo.crm_url, vendor.name()))
        .await?;
    until(
        client,
        "the bridge back on the first vendor",
        "return window.ctiBridge && window.ctiBridge.connected;",
    )
    .await?;
    until_sim(demo, "the phone to sign the agent in", |s| {
        s["agent"]["state"] == "available"
    })
    .await?;
    Ok(())
}

/// The reset button ends the phone's call and empties the logs.
async fn reset(client: &Client, demo: &Demo) -> Res {
    demo.sim.inbound(&Inbound::voice("+1 (415) 555-0101"))?;
    until_sim(demo, "the ring", |s| s["interaction"]["state"] == "offered").await?;
    js(
        client,
        "document.getElementById('reset').click(); return true;",
    )
    .await?;
    let flash = until(
        client,
        "the reset",
        "const f = document.getElementById('flash'); return !f.hidden && f.textContent.startsWith('Demo reset') ? f.textContent : null;",
    )
    .await?;
    assert_eq!(flash, "Demo reset: the call on the phone was ended");
    until_sim(demo, "the call to end", |s| s["interaction"].is_null()).await?;
    until(
        client,
        "empty logs",
        "return document.querySelectorAll('#calls tbody tr').length === 0 && document.getElementById('pop-card').hidden;",
    )
    .await?;
    Ok(())
}

fn screenshot_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("e2e-screenshots")
}

async fn dialect(client: &Client, vendor: Vendor, http: &reqwest::Client) -> Res {
    let demo = start(DemoConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        sim_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        vendor,
        sim_token: None,
    })
    .await?;
    client
        .goto(&format!("{}/?vendor={}", demo.crm_url, vendor.name()))
        .await?;
    sign_in(client).await?;
    until(
        client,
        "the bridge",
        "return window.ctiBridge && window.ctiBridge.connected;",
    )
    .await?;
    until_sim(demo_ref(&demo), "the phone to sign the agent in", |s| {
        s["agent"]["state"] == "available"
    })
    .await?;
    until(
        client,
        "the contacts",
        "return document.querySelectorAll('#contact-list li').length === 5;",
    )
    .await?;
    if vendor == Vendor::LeadDesk {
        // Talk runs from a second origin, as a real Talk frame moves to
        // another login host (seed 004): the frame's `src` was the
        // simulator's first origin, and the bridge heard the login from
        // the second and pinned it.
        let talk = in_phone(client, "return location.origin;").await?;
        let talk = talk.as_str().ok_or("no Talk origin")?.to_owned();
        assert_ne!(talk, demo.sim_url, "Talk did not move to its own origin");
        let src = js(client, "return document.querySelector('iframe').src;").await?;
        assert!(
            src.as_str().is_some_and(|s| s.starts_with(&demo.sim_url)),
            "{src}"
        );
        let allow = js(
            client,
            "return document.querySelector('iframe').getAttribute('allow');",
        )
        .await?;
        assert_eq!(allow, "microphone *");
    }

    let mut steps = full_call(client, &demo, vendor, http).await;
    if steps.is_ok() {
        // Zoom and LeadDesk post the wrap-up; CCAI's adapter posts nothing,
        // and the platform's post call actions reach the CRM's generic API.
        steps = call_disposed_on_the_phone(client, &demo, vendor).await;
    }
    if steps.is_ok() && vendor != Vendor::LeadDesk {
        steps = chat(client, &demo).await;
    }
    if steps.is_ok() {
        steps = click_to_dial(client, &demo, vendor).await;
    }
    if steps.is_ok() && vendor != Vendor::Ccai {
        steps = commands_wait_for_the_phone(client, &demo).await;
    }
    if let Err(e) = steps {
        // Leave evidence: the page as it was, and the CRM's state.
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        if let Ok(png) = client.screenshot().await {
            std::fs::write(dir.join(format!("failed-{}.png", vendor.name())), png)?;
        }
        let state = js(client, "return window.crmDemo && window.crmDemo.state;")
            .await
            .unwrap_or_default();
        return Err(format!("{e}\nCRM state: {state}\nsimulator: {}", demo.sim.state()).into());
    }

    // The event log shows raw messages beside their normalized form.
    let events = js(
        client,
        "return [...document.querySelectorAll('#event-rows tr')].map(r => [r.children[2].textContent, r.children[3].textContent, r.children[4].textContent]);",
    )
    .await?;
    let lines = events.as_array().ok_or("no event rows")?;
    let completed_wire = match vendor {
        Vendor::Zoom => "zcc-phone-call-log",
        Vendor::LeadDesk => "completed",
        _ => "End_Call",
    };
    assert!(
        lines
            .iter()
            .any(|l| l[0].as_str().is_some_and(|w| w.ends_with(completed_wire)) && l[2] != "—"),
        "{}: {events}",
        vendor.name()
    );

    if vendor == Vendor::Zoom {
        sso_and_streem(client, &demo).await?;
    }
    page_polish(client, &demo, vendor, http).await?;

    let png = client.screenshot().await?;
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("crm-{}.png", vendor.name()));
    std::fs::write(&path, &png)?;
    eprintln!("screenshot: {}", path.display());
    assert!(png.starts_with(b"\x89PNG"));
    reset(client, &demo).await?;
    Ok(())
}

/// The SSO sign-in (a wrong password refused, then `agent`/`agent`), and
/// a contact's Streem invite opened on the simulator.
async fn sso_and_streem(client: &Client, demo: &Demo) -> Res {
    let state = until(
        client,
        "the signed-in user",
        "const s = document.getElementById('sso-state'); return s.dataset.ok === 'yes' && s.textContent.includes(' as ') ? s.textContent : null;",
    )
    .await?;
    assert_eq!(state, "Signed in as agent");
    let href = js(
        client,
        "return document.querySelector('#contact-003A1 a').href;",
    )
    .await?;
    let href = href.as_str().ok_or("no Streem link")?;
    assert!(
        href.starts_with(&format!("{}/embed?", demo.sim_url)),
        "{href}"
    );
    let back = format!("{}/?vendor=zoom", demo.crm_url);
    client.goto(href).await?;
    let name = until(
        client,
        "the Streem invite",
        "const n = document.getElementById('invite-name'); return n ? n.textContent : null;",
    )
    .await?;
    assert_eq!(name, "Ada Lovelace");
    client.goto(&back).await?;
    until(
        client,
        "the bridge again",
        "return window.ctiBridge && window.ctiBridge.connected;",
    )
    .await?;
    until(
        client,
        "the contacts",
        "return document.querySelectorAll('#contact-list li').length === 5;",
    )
    .await?;
    Ok(())
}

/// A call disposed on the phone after a reload of the CRM page mid-wrap-up:
/// the vendor's wrap-up messages (CCAI: its post call actions over the
/// generic API) bring it into the call log once, with its disposition and
/// recording links, and the pop clears.
async fn call_disposed_on_the_phone(client: &Client, demo: &Demo, vendor: Vendor) -> Res {
    let name = vendor.name();
    demo.sim.inbound(&Inbound::voice("+1 (415) 555-0101"))?;
    until_sim(demo, "the second ring", |s| {
        s["interaction"]["state"] == "offered"
    })
    .await?;
    phone_click(client, "answer").await?;
    until_sim(demo, "the second call to connect", |s| {
        s["interaction"]["state"] == "connected"
    })
    .await?;
    // The agent notes something in the phone's own notes box.
    until_in_phone(
        client,
        "the phone's notes box",
        "const b = document.querySelector('#note-form button'); if (b.disabled) return false; \
         document.getElementById('note-text').value = 'Call back on Monday'; b.click(); return true;",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    phone_click(client, "hangup").await?;
    until_sim(demo, "the second call to end", |s| {
        s["interaction"]["state"] == "ended" || s["interaction"]["state"] == "wrap-up"
    })
    .await?;
    // A reload mid-wrap-up: the CRM page and its softphone come back, and
    // the call is still the one being wrapped up.
    client.refresh().await?;
    until(
        client,
        "the bridge after the reload",
        "return window.ctiBridge && window.ctiBridge.connected;",
    )
    .await?;
    until_in_phone(
        client,
        "the phone's dispose form",
        "const c = document.getElementById('code'); if (!c) return false; c.value = 'phone_wrap_up'; \
         document.querySelector('#wrap button').click(); return true;",
    )
    .await?;
    let row = until(
        client,
        "the phone-disposed call with its recording links",
        &row_script("phone_wrap_up").replace(
            "return r ?",
            "return r && r.querySelector('td.files').textContent ?",
        ),
    )
    .await?;
    assert_eq!(row[1], "Ada Lovelace", "{name}: {row}");
    assert_eq!(row[6], "WAV MP3 ", "{name}: the recording links: {row}");
    // The phone's notes reach the CRM's row: Zoom's call log, LeadDesk's
    // `completed` (its `comment`) and CCAI's disposition comment carry them.
    assert_eq!(row[5], "Call back on Monday", "{name}: {row}");
    let rows = js(
        client,
        "return [...document.querySelectorAll('#calls tbody tr')].filter(r => r.querySelector('td.disposition').textContent === 'phone_wrap_up').length;",
    )
    .await?;
    assert_eq!(rows, 1, "{name}: the call is logged once");
    // A dispose in the CRM after the phone's: the call is final already,
    // nothing changes and no second row appears.
    let again = js(
        client,
        "return fetch('/api/dispose', {method: 'POST', headers: {'Content-Type': 'application/json'}, \
         body: JSON.stringify({disposition: 'sale'})}).then(async (r) => [r.status, await r.json()]);",
    )
    .await?;
    assert_eq!(again[0], 200, "{name}: {again}");
    assert_eq!(again[1]["already_disposed"], true, "{name}: {again}");
    assert_eq!(again[1]["disposition"], "phone_wrap_up", "{name}: {again}");
    let rows = js(
        client,
        "return [...document.querySelectorAll('#calls tbody tr')].filter(r => r.querySelector('td.disposition').textContent === 'phone_wrap_up').length;",
    )
    .await?;
    assert_eq!(rows, 1, "{name}: still one row");
    until(
        client,
        "the pop to clear after the phone's dispose",
        "return document.getElementById('pop-card').hidden;",
    )
    .await?;
    until_sim(demo, "the agent to be available again", |s| {
        s["agent"]["state"] == "available" && s["interaction"].is_null()
    })
    .await?;
    Ok(())
}

/// Signs in on the sign-in page the CRM shows first: a wrong password is
/// refused, `agent`/`agent` reloads the page as the CRM.
async fn sign_in(client: &Client) -> Res {
    until(
        client,
        "the sign-in form",
        "return document.getElementById('sso-pass') ? true : null;",
    )
    .await?;
    // Nothing of the CRM shows before signing in.
    let leaked = js(
        client,
        "return !!document.getElementById('contact-list') || !!document.querySelector('iframe');",
    )
    .await?;
    assert_eq!(leaked, false, "the CRM showed before sign-in");
    js(
        client,
        "document.getElementById('sso-pass').value = 'wrong'; document.querySelector('#sso button').click(); return true;",
    )
    .await?;
    until(
        client,
        "the refused sign-in",
        "return document.getElementById('sso-state').dataset.ok === 'no';",
    )
    .await?;
    js(
        client,
        "document.getElementById('sso-pass').value = 'agent'; document.querySelector('#sso button').click(); return true;",
    )
    .await?;
    until(
        client,
        "the CRM after sign-in",
        "return document.getElementById('contact-list') && document.getElementById('sso-state').dataset.ok === 'yes' ? true : null;",
    )
    .await?;
    Ok(())
}

/// The session cookie, for requests made outside the browser.
async fn session_cookie(client: &Client) -> Res<String> {
    let cookie = client.get_named_cookie("acme_crm_session").await?;
    Ok(format!("{}={}", cookie.name(), cookie.value()))
}

fn demo_ref(demo: &Demo) -> &Demo {
    demo
}

/// The attacks: framing from another origin, posting from another origin.
async fn origin_attacks(client: &Client, http: &reqwest::Client) -> Res {
    let demo = start(DemoConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        sim_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        vendor: Vendor::Zoom,
        sim_token: None,
    })
    .await?;
    // An attacker's page on a third origin: it frames the phone, and opens
    // the CRM to post into it.
    let sim = demo.sim_url.clone();
    let crm = demo.crm_url.clone();
    let evil_page = format!(
        "<!doctype html><meta charset=utf-8><title>evil</title>\
         <iframe id=f src=\"{sim}/leaddesk/\"></iframe>\
         <iframe id=z src=\"{sim}/zoom/?origin={crm}\"></iframe>"
    );
    // A page framing the CRM (clickjacking) beside a control frame of a
    // CRM route that sets no framing policy.
    let framing_page = format!(
        "<!doctype html><meta charset=utf-8><title>clickjack</title>\
         <iframe id=crm src=\"{crm}/\"></iframe><iframe id=control src=\"{crm}/healthz\"></iframe>"
    );
    let evil = axum::Router::new()
        .route(
            "/",
            get(move || {
                let page = evil_page.clone();
                async move { Html(page) }
            }),
        )
        .route(
            "/frames",
            get(move || {
                let page = framing_page.clone();
                async move { Html(page) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let evil_url = format!("http://localhost:{}", listener.local_addr()?.port());
    tokio::spawn(async move { axum::serve(listener, evil).await });

    // 1. The phone refuses to be framed by that origin: the browser
    //    enforces frame-ancestors, so no phone ever connects.
    client.goto(&format!("{evil_url}/")).await?;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        demo.sim.state()["phones"],
        json!({"zoom": 0, "leaddesk": 0, "ccai": 0})
    );
    // Even a client that skips the browser's check gets no phone: the
    // socket refuses a host outside the allowlist.
    let refused = http
        .get(format!("{sim}/zoom/?origin={evil_url}"))
        .send()
        .await?;
    assert_eq!(refused.status(), 403);

    // 1b. Chromium refuses to render the CRM page inside that origin's
    //     frame (frame-ancestors 'self'), while the control frame renders.
    client.goto(&format!("{evil_url}/frames")).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client.enter_frame(1).await?;
    let control = js(
        client,
        "return document.body ? document.body.textContent : '';",
    )
    .await;
    client.enter_parent_frame().await?;
    assert_eq!(control?, "ok", "the control frame should render");
    client.enter_frame(0).await?;
    let framed = js(
        client,
        "return [location.href, !!document.getElementById('sso'), document.title];",
    )
    .await;
    client.enter_parent_frame().await?;
    let framed = framed?;
    assert_eq!(
        framed[1], false,
        "the CRM rendered inside another origin's frame: {framed}"
    );
    assert!(
        !framed[0].as_str().unwrap_or_default().starts_with(&crm),
        "the framed document is the CRM's: {framed}"
    );

    // 2. The CRM with its phone; a call rings.
    client.goto(&format!("{crm}/?vendor=zoom")).await?;
    sign_in(client).await?;
    until(
        client,
        "the bridge",
        "return window.ctiBridge && window.ctiBridge.connected;",
    )
    .await?;
    until_sim(&demo, "the agent", |s| s["agent"]["state"] == "available").await?;
    demo.sim.inbound(&Inbound::voice("+14155550102"))?;
    until(client, "the pop", POP_NAME).await?;
    let events_before = demo.crm.events_since(0).len();

    // The attacker's window (another origin) gets a handle on the CRM and
    // posts a forged lookup to it and a forged accept to its phone.
    let crm_handle = client.window().await?;
    client.new_window(true).await?;
    let windows = client.windows().await?;
    let evil_window = windows
        .into_iter()
        .find(|w| *w != crm_handle)
        .ok_or("no second window")?;
    client.switch_to_window(evil_window).await?;
    client.goto(&format!("{evil_url}/")).await?;
    js(
        client,
        &format!("window.crm = window.open('{crm}/?vendor=zoom', 'crm-target'); return true;"),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    js(
        client,
        "const forged = {type: 'zcc-incomingPhone-request', data: {incomingPhoneNumber: '+19995550000', engagementId: 'forged', channel: 'voice'}}; \
         window.crm.postMessage(forged, '*'); \
         window.crm.frames[0].postMessage({type: 'zcc-accept-engagement', data: {}}, '*'); return true;",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // The popup is the CRM page the attacker posted into.
    let evil_handle = client.window().await?;
    let popup = client
        .windows()
        .await?
        .into_iter()
        .find(|w| *w != crm_handle && *w != evil_handle);
    if let Some(popup) = popup {
        client.switch_to_window(popup).await?;
        let ignored = until(
            client,
            "the bridge to ignore the forged message",
            "return window.ctiBridge && window.ctiBridge.ignored >= 1 ? window.ctiBridge.ignored : null;",
        )
        .await?;
        assert!(ignored.as_u64() >= Some(1));
        let phone_ignored = in_phone(
            client,
            "return window.simPhone ? window.simPhone.ignored : null;",
        )
        .await?;
        assert!(
            phone_ignored.as_u64() >= Some(1),
            "the phone ignored the forged accept: {phone_ignored}"
        );
        client.close_window().await?;
        client.switch_to_window(evil_handle).await?;
        client.close_window().await?;
    } else {
        return Err("the attacker's popup did not open".into());
    }
    client.switch_to_window(crm_handle).await?;
    // Nothing forged got through: the call still rings, no forged lookup
    // reached the CRM.
    assert_eq!(demo.sim.state()["interaction"]["state"], "offered");
    let forged = demo.crm.events_since(0).iter().any(|e| {
        e.raw.to_string().contains("forged") || e.raw.to_string().contains("+19995550000")
    });
    assert!(!forged, "a forged message reached the CRM");
    assert!(demo.crm.events_since(0).len() >= events_before);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_drives_the_demo() -> Res {
    let Some((_driver, port)) = chromedriver::start().await? else {
        services::skipped(
            "chromium_drives_the_demo",
            "Chromium",
            "chromium and chromium-driver (/usr/bin) are not installed; install them or run .ci/run",
        );
        return Ok(());
    };
    services::ran("chromium_drives_the_demo", "Chromium");
    let profile = tempfile::tempdir()?;
    let client = browser(port, profile.path()).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut outcome = Ok(());
    for vendor in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
        outcome = dialect(&client, vendor, &http)
            .await
            .map_err(|e| format!("{}: {e}", vendor.name()).into());
        if outcome.is_err() {
            break;
        }
    }
    if outcome.is_ok() {
        outcome = origin_attacks(&client, &http).await;
    }
    let _ = client.close().await;
    outcome
}
