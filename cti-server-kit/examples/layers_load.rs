//! A bounded load run: requests per second through the policy layers
//! against the same handler without them, measured with `wrk` (Debian's
//! package) from a second process, alternating the two servers over
//! several rounds so both see the same machine.
//!
//! ```text
//! cargo run --release -p cti-server-kit --example layers_load [ROUNDS] [SECONDS]
//! ```
//!
//! Compares the bare handler, the three layers stacked, and the one-pass
//! `EmbedHeaders` layer; prints each round and the median ratios
//! `rps(x) / rps(bare)`.
//! Exits 2 when `wrk` is not installed.

use std::process::Command;

#[path = "../benches/common/apps.rs"]
mod apps;

fn rps(url: &str, seconds: u32) -> Option<f64> {
    let out = Command::new("wrk")
        .args(["-t1", "-c32", &format!("-d{seconds}s"), url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(6);
    let seconds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("layers_load: wrk is not installed (apt-get install wrk)");
        std::process::exit(2);
    }
    // One worker thread for the servers; wrk gets the other core.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("layers_load: {e}");
            std::process::exit(1);
        }
    };
    let urls: Vec<String> = rt.block_on(async {
        let mut urls = Vec::new();
        for app in [apps::bare(), apps::layered(), apps::combined()] {
            let Ok(l) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
                continue;
            };
            if let Ok(addr) = l.local_addr() {
                urls.push(format!("http://{addr}/"));
            }
            tokio::spawn(async move { axum::serve(l, app).await });
        }
        urls
    });
    if urls.len() != 3 {
        eprintln!("layers_load: could not bind three loopback ports");
        std::process::exit(1);
    }
    // Warm all up.
    for u in &urls {
        let _ = rps(u, 1);
    }
    let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Rotate the order, so drift hits all three alike.
        let mut got = [0.0f64; 3];
        for k in 0..3 {
            let i = (round + k) % 3;
            let Some(r) = rps(&urls[i], seconds) else {
                eprintln!("layers_load: wrk gave no figure in round {round}");
                std::process::exit(1);
            };
            got[i] = r;
        }
        println!(
            "round {round}: bare {:.0} req/s, layered {:.0} ({:.3}), combined {:.0} ({:.3})",
            got[0],
            got[1],
            got[1] / got[0],
            got[2],
            got[2] / got[0]
        );
        ratios[0].push(got[1] / got[0]);
        ratios[1].push(got[2] / got[0]);
    }
    for (name, r) in ["layered", "combined"].iter().zip(ratios.iter_mut()) {
        r.sort_by(f64::total_cmp);
        println!(
            "median ratio {name}/bare: {:.3} (goal >= 0.95)",
            r[r.len() / 2]
        );
    }
}
