//! Small filesystem and time helpers shared by the subsystems.

use std::io::Write;
use std::path::Path;

use crate::log::faults::{self, Point};

/// Writes a file atomically and durably: temp file, fsync, rename, fsync of the directory.
/// On failure the old file (if any) is untouched and the temp file removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_inner(None, path, bytes)
}

/// [`write_atomic`] with the failpoint `point` in front of the temp file's write (see
/// [`crate::log::faults`]).
pub fn write_atomic_failpoint(point: Point, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_inner(Some(point), path, bytes)
}

fn write_atomic_inner(point: Option<Point>, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        match point {
            Some(point) => faults::write_all(point, path, &mut f, bytes)?,
            None => f.write_all(bytes)?,
        }
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        // A full disk should not also keep a half-written temp file.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Microseconds on a monotonic clock that starts at the first call (for cheap "how long has
/// this been running" checks shared between threads).
pub fn monotonic_us() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_micros() as u64
}

/// Fsyncs a directory so new or renamed entries in it survive power loss.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// `syncfs(2)` on the file system holding `f`: writes back every dirty page and inode there and
/// commits the journal. Reports write-back errors seen on the file system since `f` was opened.
#[cfg(target_os = "linux")]
pub fn syncfs(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on a file descriptor we own for the duration of the call.
    if unsafe { libc::syncfs(f.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether `syncfs` returns write-back errors (Linux 5.8 and later); before that it always
/// succeeds, so a failed write would go unnoticed.
#[cfg(target_os = "linux")]
pub fn syncfs_reports_errors() -> bool {
    // SAFETY: uname fills the struct we pass.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return false;
    }
    // SAFETY: uname NUL-terminates `release`.
    let release = unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) }.to_string_lossy();
    kernel_at_least(&release, (5, 8))
}

#[cfg(not(target_os = "linux"))]
pub fn syncfs_reports_errors() -> bool {
    false
}

/// Whether a kernel release string ("6.18.44-fc", "5.4.0-42-generic") is at least `min`.
pub fn kernel_at_least(release: &str, min: (u32, u32)) -> bool {
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
    let major = parts.next().and_then(|s| s.parse::<u32>().ok());
    let minor = parts.next().and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    major.is_some_and(|m| (m, minor) >= min)
}

#[cfg(not(target_os = "linux"))]
pub fn syncfs(_f: &std::fs::File) -> std::io::Result<()> {
    Err(std::io::Error::other("syncfs is Linux-only"))
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_compare() {
        assert!(kernel_at_least("6.18.44-fc-v669", (5, 8)));
        assert!(kernel_at_least("5.8.0", (5, 8)));
        assert!(kernel_at_least("5.10.0-28-amd64", (5, 8)));
        assert!(!kernel_at_least("5.4.0-42-generic", (5, 8)));
        assert!(!kernel_at_least("4.19.0", (5, 8)));
        assert!(!kernel_at_least("", (5, 8)));
        #[cfg(target_os = "linux")]
        assert!(
            syncfs_reports_errors()
                == kernel_at_least(&std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default(), (5, 8))
        );
    }
}

/// Puts the calling thread at the lowest CPU priority (nice 19; on Linux a thread has its
/// own), for background work that must not take a core from request handling. Best effort:
/// a failure leaves the priority as it was.
pub fn lowest_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain syscalls about the calling thread; no memory is passed.
        let tid = unsafe { libc::gettid() };
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19) } != 0 {
            tracing::debug!("cannot lower the thread's priority: {}", std::io::Error::last_os_error());
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod priority_tests {
    #[test]
    fn the_calling_thread_alone_gets_nice_19() {
        let nice_of = |tid: i32| {
            let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).expect("stat");
            // Field 19 (nice), counted after the ')' that ends the thread's name.
            let rest = &stat[stat.rfind(')').expect("name") + 2..];
            rest.split(' ').nth(16).expect("nice").parse::<i32>().expect("number")
        };
        let main = unsafe { libc::gettid() };
        let before = nice_of(main);
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            super::lowest_thread_priority();
            tx.send(unsafe { libc::gettid() }).expect("send");
            let _ = done_rx.recv();
        });
        let tid = rx.recv().expect("tid");
        assert_eq!(nice_of(tid), 19, "the cleaner-like thread runs at nice 19");
        assert_eq!(nice_of(main), before, "other threads keep theirs");
        done_tx.send(()).expect("done");
        t.join().expect("join");
    }
}
