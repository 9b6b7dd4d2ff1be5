//! The advisory lock that keeps a second engine out of a history directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::storage_error;
use crate::error::Result;

/// The name of the lock file inside the history directory.
pub(crate) const LOCK_FILE: &str = "ssecast.lock";

/// An exclusive lock on a history directory, held until dropped (or until the
/// process dies: the kernel releases it, so a crash leaves no stale lock).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir`, or fails at once when another engine (in this
    /// process or another) holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                storage_error(format!(
                    "history_dir {}: cannot create the lock file {}: {e}",
                    dir.display(),
                    path.display()
                ))
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(storage_error(format!(
                "history_dir {} is in use by another engine (it holds the lock on {}); \
                 give each engine its own history_dir",
                dir.display(),
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(storage_error(format!(
                "history_dir {}: cannot lock {}: {e}",
                dir.display(),
                path.display()
            ))),
        }
    }
}
