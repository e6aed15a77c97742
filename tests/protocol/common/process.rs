//! A broker running as its own process (the `brook` binary): for what only a process shows
//! (its peak memory, an abort, its log output).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};

/// A broker process on a fresh data dir; killed on drop.
pub struct BrokerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// The broker's standard output after its startup line (its log lines).
    pub stdout: Option<BufReader<ChildStdout>>,
    _dir: tempfile::TempDir,
}

impl BrokerProcess {
    pub fn start() -> Self {
        Self::start_with_address_space(None)
    }

    /// A broker whose address space is capped at `limit` bytes (RLIMIT_AS), as on a host with
    /// that much RAM plus swap: an allocation past it fails and aborts the process. Its log
    /// lines are read and dropped (a full pipe would block the broker's logging).
    pub fn start_with_address_space(limit: Option<u64>) -> Self {
        let mut p = Self::start_with(&["--log-level", "warn"], limit);
        let mut out = p.stdout.take().expect("stdout");
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        p
    }

    /// A broker started with `args` besides its address and data dir; whoever starts it reads
    /// its `stdout`.
    pub fn start_with(args: &[&str], address_space: Option<u64>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_brook"));
        cmd.args(["--listen", "127.0.0.1:0", "--advertised-listener", "127.0.0.1:0"])
            .args(["--metrics-listen", "127.0.0.1:0"]) // several of these run at once
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(limit) = address_space {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let r = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                    if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().expect("start brook");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        // Log lines written before the startup line (at debug) come first.
        let mut line = String::new();
        let addr = loop {
            line.clear();
            let n = out.read_line(&mut line).expect("read the startup line");
            assert!(n > 0, "the broker exited before listening");
            // "brook listening on 127.0.0.1:PORT (advertised ...)"
            if let Some(rest) = line.strip_prefix("brook listening on ") {
                break rest
                    .split_whitespace()
                    .next()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| panic!("no address in startup line {line:?}"));
            }
        };
        Self { child, addr, stdout: Some(out), _dir: dir }
    }

    /// (current, peak) resident set of the broker process, in MiB.
    pub fn rss_mib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("broker is alive");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .map(|kib| kib / 1024)
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn assert_alive(&mut self, after: &str) {
        assert!(self.child.try_wait().expect("wait").is_none(), "the broker died after {after}");
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
