//! Store errors: a `kind` that picks the client-visible text and response
//! code, and a `detail` (paths, errno) that only goes to syslog.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Mailbox does not exist (`[NONEXISTENT]` / `[TRYCREATE]`).
    NotFound,
    /// Mailbox already exists (`[ALREADYEXISTS]`).
    Exists,
    /// Name refused: `..`, absolute, control characters, outside mail_dir.
    BadName,
    /// Another session holds an exclusive lock (`[IN-USE]`).
    InUse,
    /// Lock could not be had within the timeout (temporary).
    LockTimeout,
    /// Not permitted by the file system.
    Permission,
    /// Disk full or quota (`[OVERQUOTA]` / 452).
    NoSpace,
    /// Message too big.
    TooBig,
    /// Mailbox file is not an mbox we can parse.
    Corrupt,
    /// Any other I/O failure (`[SERVERBUG]`).
    Io,
}

#[derive(Debug)]
pub struct StoreError {
    pub kind: ErrorKind,
    /// For syslog only, never for the client.
    pub detail: String,
}

impl StoreError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> StoreError {
        StoreError {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for StoreError {}
