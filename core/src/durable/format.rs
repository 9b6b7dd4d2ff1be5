//! The format version of a history directory, in a small text file of its own,
//! so that a directory written by a newer ssecast is refused before its store is
//! touched, whatever that store has become.

use std::fs::{self, File};
use std::io::{ErrorKind as IoErrorKind, Write};
use std::path::Path;

use super::storage_error;
use crate::error::Result;

/// The file holding the format version.
pub(crate) const FORMAT_FILE: &str = "FORMAT";
/// The format this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
const MAGIC: &str = "ssecast-history";

/// Checks the format of `dir`, or writes it (durably) when the directory holds
/// no history yet. `store_exists` says whether the store itself is there.
pub(crate) fn check_or_create(dir: &Path, store_exists: bool) -> Result<()> {
    let path = dir.join(FORMAT_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => check(dir, &text),
        Err(e) if e.kind() == IoErrorKind::NotFound && !store_exists => create(dir),
        Err(e) if e.kind() == IoErrorKind::NotFound => Err(storage_error(format!(
            "history_dir {}: the store is there but {FORMAT_FILE} is missing; \
             this is not a history ssecast can read",
            dir.display()
        ))),
        Err(e) => Err(storage_error(format!(
            "history_dir {}: cannot read {}: {e}",
            dir.display(),
            path.display()
        ))),
    }
}

fn check(dir: &Path, text: &str) -> Result<()> {
    let version = text
        .trim_end()
        .strip_prefix(MAGIC)
        .and_then(|rest| rest.strip_prefix(' '))
        .and_then(|v| v.parse::<u32>().ok());
    match version {
        Some(FORMAT_VERSION) => Ok(()),
        Some(v) if v > FORMAT_VERSION => Err(storage_error(format!(
            "history_dir {} was written by a newer ssecast (history format {v}; \
             this build reads format {FORMAT_VERSION}): upgrade ssecast or use another directory",
            dir.display()
        ))),
        _ => Err(storage_error(format!(
            "history_dir {}: {FORMAT_FILE} is not an ssecast history format ({:?})",
            dir.display(),
            text.chars().take(40).collect::<String>()
        ))),
    }
}

/// Writes the file under a temporary name, syncs it, renames it into place and
/// syncs the directory, so a crash leaves either no file or a whole one.
fn create(dir: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        storage_error(format!(
            "history_dir {}: cannot write {FORMAT_FILE}: {e}",
            dir.display()
        ))
    };
    let tmp = dir.join(format!("{FORMAT_FILE}.tmp"));
    let mut file = File::create(&tmp).map_err(fail)?;
    writeln!(file, "{MAGIC} {FORMAT_VERSION}").map_err(fail)?;
    file.sync_all().map_err(fail)?;
    fs::rename(&tmp, dir.join(FORMAT_FILE)).map_err(fail)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(fail)
}
