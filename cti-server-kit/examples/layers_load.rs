//! A bounded load run: requests per second through the policy layers
//! against the same handler without them, measured with `wrk` (Debian's
//! package) from a second process, alternating the two servers over
//! several rounds so both see the same machine.
//!
//! ```text
//! cargo run --release -p cti-server-kit --example layers_load [ROUNDS] [SECONDS]
//! ```
//!
//! Prints each round and the median ratio `rps(layered) / rps(bare)`.
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
        for app in [apps::bare(), apps::layered()] {
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
    if urls.len() != 2 {
        eprintln!("layers_load: could not bind two loopback ports");
        std::process::exit(1);
    }
    // Warm both up.
    let _ = rps(&urls[0], 1);
    let _ = rps(&urls[1], 1);
    let mut ratios = Vec::new();
    for round in 0..rounds {
        // Alternate which goes first, so drift hits both alike.
        let (b, l) = if round % 2 == 0 {
            let b = rps(&urls[0], seconds);
            (b, rps(&urls[1], seconds))
        } else {
            let l = rps(&urls[1], seconds);
            (rps(&urls[0], seconds), l)
        };
        let (Some(b), Some(l)) = (b, l) else {
            eprintln!("layers_load: wrk gave no figure in round {round}");
            std::process::exit(1);
        };
        println!(
            "round {round}: bare {b:.0} req/s, layered {l:.0} req/s, ratio {:.3}",
            l / b
        );
        ratios.push(l / b);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!("median ratio layered/bare: {median:.3} (goal >= 0.95)");
}
