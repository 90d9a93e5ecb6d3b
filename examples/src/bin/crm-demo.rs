//! `crm-demo`: a small CRM with an embedded softphone, all on loopback.
//!
//! ```text
//! crm-demo [--addr 127.0.0.1:8080] [--sim-addr 127.0.0.1:8081] [--vendor zoom|leaddesk|ccai] [--sim-token TOKEN]
//! crm-demo --headless-scenario builtin|FILE
//! ```
//!
//! The first form serves the CRM and the simulator and prints their URLs;
//! it runs until interrupted. The second runs a scripted day of calls and
//! chats on the engine with no browser, prints one JSON summary line (with
//! the CPU time and peak memory it took) and exits: 0 when nothing was
//! lost or stuck, 1 otherwise, 2 for a bad scenario.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use cti_examples::crm::{DemoConfig, start};
use cti_media::scenario::{Scenario, run_measured};
use cti_protocol::Vendor;

/// A vendor with a postMessage dialect (`zoom`, `leaddesk`, `ccai`).
fn dialect(name: &str) -> Result<Vendor, String> {
    Vendor::dialect_named(name).map_err(|e| format!("{e} (use zoom, leaddesk or ccai)"))
}

/// A small CRM embedding a simulated contact-center softphone.
#[derive(Debug, Parser)]
#[command(name = "crm-demo", version)]
struct Args {
    /// The CRM's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The simulator's address (the softphones' origin).
    #[arg(long, default_value = "127.0.0.1:8081")]
    sim_addr: SocketAddr,
    /// The dialect the CRM page embeds first (switch in the page).
    #[arg(long, value_parser = dialect, value_name = "zoom|leaddesk|ccai", default_value = "zoom")]
    vendor: Vendor,
    /// The token the simulator's scripting API requires
    /// (`Authorization: Bearer TOKEN`); a random one, printed at start,
    /// when not given.
    #[arg(long, value_name = "TOKEN")]
    sim_token: Option<String>,
    /// Run a scripted day with no browser and print a JSON summary:
    /// `builtin` or a scenario file.
    #[arg(long, value_name = "builtin|FILE")]
    headless_scenario: Option<String>,
}

fn headless(which: &str) -> ExitCode {
    let scenario = if which == "builtin" {
        Scenario::builtin()
    } else {
        let text = match std::fs::read_to_string(which) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("crm-demo: {which}: {e}");
                return ExitCode::from(2);
            }
        };
        match Scenario::from_json(&text) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("crm-demo: {which}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let measured = match run_measured(&scenario) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("crm-demo: {e}");
            return ExitCode::from(2);
        }
    };
    match serde_json::to_string(&measured) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("crm-demo: {e}");
            return ExitCode::FAILURE;
        }
    }
    if measured.summary.lost == 0 && measured.summary.stuck == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(which) = &args.headless_scenario {
        return headless(which);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("crm-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let vendor = args.vendor;
        let config = DemoConfig {
            addr: args.addr,
            sim_addr: args.sim_addr,
            vendor,
            sim_token: args.sim_token.clone(),
        };
        let demo = match start(config).await {
            Ok(d) => d,
            Err(e) => {
                eprintln!("crm-demo: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("CRM:       {}/", demo.crm_url);
        println!("simulator: {}/ (phones at /zoom/, /leaddesk/, /ccai/)", demo.sim_url);
        println!("Simulator API token: {}", demo.sim_token);
        println!("Ring the agent: cti sim ring (after the export line below), or curl -X POST {}/sim/api/inbound -H 'authorization: Bearer {}' -H 'content-type: application/json' -d '{{\"from\":\"+14155550101\"}}'", demo.sim_url, demo.sim_token);
        println!("Sign in with agent / agent. Stop with Ctrl-C.");
        println!();
        println!("The README's `cti` examples run against this demo after, in their shell:");
        println!(
            "  export CTI_DEMO_SIM={sim} CTI_DEMO_CRM={crm} CTI_DEMO_SIM_TOKEN={tok} \\\n    CTI_DEMO_AMEYO_TOKEN={at} CTI_DEMO_AMEYO_HASH_KEY={hk} CTI_DEMO_REQUESTING_HOST={rh} CRM_PASSWORD=agent",
            sim = demo.sim_url,
            crm = demo.crm_url,
            tok = demo.sim_token,
            at = demo.ameyo_token,
            hk = demo.ameyo_hash_key,
            rh = cti_examples::crm::AMEYO_REQUESTING_HOST,
        );
        let _ = tokio::signal::ctrl_c().await;
        ExitCode::SUCCESS
    })
}
