//! Producer id allocation. Ids are handed out from blocks whose upper bound is persisted
//! before any id of the block is used, so a restarted broker never reuses an id.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;

const BLOCK: i64 = 1000;

pub struct ProducerIdAllocator {
    path: PathBuf,
    state: Mutex<(i64, i64)>, // (next id, end of the persisted block)
}

impl ProducerIdAllocator {
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join("producer-id-block");
        let next = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(0);
        Ok(Self { path, state: Mutex::new((next, next)) })
    }

    /// Allocates a fresh producer id.
    pub fn next(&self) -> std::io::Result<i64> {
        let mut st = self.state.lock();
        if st.0 >= st.1 {
            let end = st.1 + BLOCK;
            crate::util::write_atomic(&self.path, end.to_string().as_bytes())?;
            st.1 = end;
        }
        let id = st.0;
        st.0 += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_not_reused_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let a = ProducerIdAllocator::open(dir.path()).unwrap();
        let first = a.next().unwrap();
        let second = a.next().unwrap();
        assert_eq!(second, first + 1);
        drop(a);
        let b = ProducerIdAllocator::open(dir.path()).unwrap();
        assert!(b.next().unwrap() > second);
    }
}
