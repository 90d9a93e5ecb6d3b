//! Starting Debian's chromedriver for the browser tests. Shared by the
//! kit's bridge test (`tests/kit/browser.rs`) and the workspace's
//! end-to-end suite (`tests/e2e`), each of which includes this file.

use std::process::Stdio;
use std::time::Duration;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A running chromedriver, killed when dropped.
pub(crate) struct Driver(tokio::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Starts chromedriver on a free loopback port and waits until it
/// listens. `None` when Chromium or chromedriver is not installed (the
/// caller decides whether that skips or fails).
pub(crate) async fn start() -> Res<Option<(Driver, u16)>> {
    let have = |p: &str| std::path::Path::new(p).exists();
    if !have("/usr/bin/chromium") || !have("/usr/bin/chromedriver") {
        return Ok(None);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = tokio::process::Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let driver = Driver(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(Some((driver, port)));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("chromedriver did not start listening".into())
}
