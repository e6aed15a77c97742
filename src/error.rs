//! The error model: every internal error type says which Kafka error code it becomes
//! ([`ErrorCode`]), and storage failures travel as one cloneable [`StorageError`] that keeps
//! what was being done, to which file, and the `io::ErrorKind` (a full disk and a failing
//! disk are told apart in logs and messages, though Kafka answers both
//! `KAFKA_STORAGE_ERROR`).
//!
//! Handlers build responses at one boundary: they turn an error into `code()` and
//! `to_string()` (Kafka's `error_message`) there, and nowhere else pick codes.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;

/// An error that has a Kafka error code.
pub trait ErrorCode {
    /// The code a response carries for this error.
    fn code(&self) -> i16;
}

/// What the storage layer was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageOp {
    Append,
    Roll,
    Fsync,
    Read,
    Open,
    Close,
    Checkpoint,
    Write,
    /// The broker stopped before the operation could run.
    Shutdown,
}

impl StorageOp {
    fn as_str(self) -> &'static str {
        match self {
            StorageOp::Append => "append",
            StorageOp::Roll => "segment roll",
            StorageOp::Fsync => "fsync",
            StorageOp::Read => "read",
            StorageOp::Open => "open",
            StorageOp::Close => "close",
            StorageOp::Checkpoint => "checkpoint",
            StorageOp::Write => "write",
            StorageOp::Shutdown => "shutdown",
        }
    }
}

/// A storage failure: cheap to clone (one failed fsync answers every request of its round).
#[derive(Debug, Clone)]
pub struct StorageError(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    op: StorageOp,
    path: Option<PathBuf>,
    kind: io::ErrorKind,
    message: String,
}

impl StorageError {
    /// `op` on `path` failed with `e`.
    pub fn new(op: StorageOp, path: Option<&Path>, e: &io::Error) -> Self {
        Self(Arc::new(Inner { op, path: path.map(Path::to_path_buf), kind: e.kind(), message: e.to_string() }))
    }

    /// The broker is shutting down: the operation was never attempted.
    pub fn shutting_down() -> Self {
        Self(Arc::new(Inner {
            op: StorageOp::Shutdown,
            path: None,
            kind: io::ErrorKind::Interrupted,
            message: "broker is shutting down".into(),
        }))
    }

    pub fn op(&self) -> StorageOp {
        self.0.op
    }

    pub fn kind(&self) -> io::ErrorKind {
        self.0.kind
    }

    pub fn path(&self) -> Option<&Path> {
        self.0.path.as_deref()
    }

    /// The file system is full (ENOSPC or a quota).
    pub fn is_disk_full(&self) -> bool {
        matches!(self.0.kind, io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        write!(f, "storage error: {}", i.op.as_str())?;
        if let Some(p) = &i.path {
            write!(f, " of {}", p.display())?;
        }
        write!(f, " failed: {}", i.message)
    }
}

impl std::error::Error for StorageError {}

impl From<StorageError> for io::Error {
    fn from(e: StorageError) -> Self {
        io::Error::new(e.kind(), e.to_string())
    }
}

impl ErrorCode for StorageError {
    /// Kafka answers every log-directory failure (full or failing) with KAFKA_STORAGE_ERROR,
    /// a retriable code: the client retries, and a full disk may have room again.
    fn code(&self) -> i16 {
        ResponseError::KafkaStorageError.code()
    }
}

/// Extension for `io::Result`: attach the operation and path.
pub trait StorageContext<T> {
    fn storage(self, op: StorageOp, path: Option<&Path>) -> Result<T, StorageError>;
}

impl<T> StorageContext<T> for io::Result<T> {
    fn storage(self, op: StorageOp, path: Option<&Path>) -> Result<T, StorageError> {
        self.map_err(|e| StorageError::new(op, path, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_keeps_its_kind_and_path_through_clones() {
        let e = io::Error::from_raw_os_error(28); // ENOSPC
        let s = StorageError::new(StorageOp::Fsync, Some(Path::new("/d/t-0")), &e);
        let c = s.clone();
        assert!(c.is_disk_full());
        assert_eq!(c.op(), StorageOp::Fsync);
        assert_eq!(c.path(), Some(Path::new("/d/t-0")));
        assert!(c.to_string().contains("fsync of /d/t-0 failed"), "{c}");
        assert_eq!(c.code(), ResponseError::KafkaStorageError.code());
        let back: io::Error = c.into();
        assert_eq!(back.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn an_io_error_is_not_a_full_disk() {
        let s = StorageError::new(StorageOp::Append, None, &io::Error::from_raw_os_error(5)); // EIO
        assert!(!s.is_disk_full());
        assert!(s.to_string().contains("append failed: Input/output error"), "{s}");
    }
}
