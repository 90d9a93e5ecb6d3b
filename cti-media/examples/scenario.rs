//! Runs a scripted day on the engine and prints its summary as one JSON
//! line, with the CPU time and the peak memory it took.
//!
//! ```text
//! cargo run --release -p cti-media --example scenario                       # the builtin day
//! cargo run --release -p cti-media --example scenario -- --agents 1000 --calls-per-sec 10 --seconds 60
//! cargo run --release -p cti-media --example scenario -- day.json           # a scenario file
//! ```

use cti_media::scenario::{Scenario, run_measured};

fn main() {
    let mut day = Scenario::builtin();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse::<f64>().ok());
        if a.starts_with("--") {
            day.name = "custom".into();
        }
        match a.as_str() {
            "--agents" => day.agents = number().map_or(0, |v| v as u32),
            "--calls-per-sec" => day.calls_per_sec = number().unwrap_or(-1.0),
            "--seconds" => day.duration_secs = number().map_or(0, |v| v as u64),
            "--seed" => day.seed = number().map_or(0, |v| v as u64),
            path if !path.starts_with('-') => {
                let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
                    eprintln!("scenario: {path}: {e}");
                    std::process::exit(2)
                });
                day = Scenario::from_json(&text).unwrap_or_else(|e| {
                    eprintln!("scenario: {path}: {e}");
                    std::process::exit(2)
                });
            }
            other => {
                eprintln!("scenario: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    match run_measured(&day) {
        Ok(measured) => {
            println!("{}", serde_json::to_string(&measured).unwrap_or_default());
            if measured.summary.lost > 0 || measured.summary.stuck > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
