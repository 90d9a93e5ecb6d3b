//! Runs a scripted day on the engine and prints its summary as one JSON
//! line, with the CPU time and the peak memory it took.
//!
//! ```text
//! cargo run --release -p cti-media --example scenario                       # the builtin day
//! cargo run --release -p cti-media --example scenario -- --agents 1000 --calls-per-sec 10 --seconds 60
//! cargo run --release -p cti-media --example scenario -- day.json           # a scenario file
//! ```

use cti_media::scenario::{Scenario, run};

/// A `/proc/self/status` field in bytes (0 where there is none).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

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
    let started = std::time::Instant::now();
    match run(&day) {
        Ok(summary) => {
            let mut line = serde_json::to_value(&summary).unwrap_or_default();
            if let Some(map) = line.as_object_mut() {
                map.insert(
                    "wall_ms".into(),
                    (started.elapsed().as_millis() as u64).into(),
                );
                map.insert("peak_rss_bytes".into(), status_kb("VmHWM:").into());
            }
            println!("{line}");
            if summary.lost > 0 || summary.stuck > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
