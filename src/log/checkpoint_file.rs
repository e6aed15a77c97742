//! Kafka's text checkpoint files (`leader-epoch-checkpoint`, `log-start-offset-checkpoint`):
//! a version line `0`, a line with the entry count, then one entry per line. Reading is
//! bounded by the file's size and the count is checked against the lines present.

use std::path::Path;

/// Reads the entries of the checkpoint at `path` with `entry` (one line each); `None` if the
/// file is missing, larger than `max_bytes`, or malformed (a bad header, a bad line, fewer or
/// more lines than the count says).
pub fn read<T>(path: &Path, max_bytes: u64, mut entry: impl FnMut(&str) -> Option<T>) -> Option<Vec<T>> {
    if std::fs::metadata(path).ok()?.len() > max_bytes {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()?.trim() != "0" {
        return None;
    }
    let count: usize = lines.next()?.trim().parse().ok()?;
    let mut entries = Vec::new();
    for line in lines.by_ref().take(count) {
        entries.push(entry(line)?);
    }
    (entries.len() == count && lines.all(|l| l.trim().is_empty())).then_some(entries)
}

/// The file's text for `entries` (each already formatted as its line).
pub fn render(entries: &[String]) -> String {
    let mut text = format!("0\n{}\n", entries.len());
    for e in entries {
        text.push_str(e);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_lying_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        std::fs::write(&path, render(&["a 1".into(), "b 2".into()])).unwrap();
        let parse = |l: &str| Some(l.to_string());
        assert_eq!(read(&path, 1 << 20, parse), Some(vec!["a 1".to_string(), "b 2".to_string()]));
        for bad in ["0\n3\na 1\n", "0\n1\na\nb\n", "1\n0\n", "0\nx\n", ""] {
            std::fs::write(&path, bad).unwrap();
            assert_eq!(read(&path, 1 << 20, parse), None, "{bad:?}");
        }
        std::fs::write(&path, render(&["a 1".into()])).unwrap();
        assert_eq!(read(&path, 4, parse), None, "larger than the bound");
    }
}
