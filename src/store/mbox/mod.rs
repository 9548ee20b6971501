//! One mbox file: open without rewriting, index of messages, client view of
//! a message, flag changes, expunge, append, and noticing other writers.
//!
//! STUB INTERFACE.

use super::{Flags, StoreError};
use std::path::Path;

/// How a mailbox is opened.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    pub read_only: bool,
    /// POP3: hold an exclusive session lock; a second such open gets `InUse`.
    /// Other (IMAP) sessions and deliveries keep working.
    pub exclusive_session: bool,
    /// Create an empty file if missing (INBOX).
    pub create: bool,
}

/// Per-message metadata kept in memory (no message text).
#[derive(Clone, Debug)]
pub struct Message {
    /// 0 until assigned by [`Mailbox::assign_uids`].
    pub uid: u32,
    pub flags: Flags,
    /// Indexes into [`Mailbox::keywords`].
    pub keywords: Vec<u16>,
    /// `Status:` lacked `O`: new since the last session (IMAP \Recent).
    pub recent: bool,
    /// INTERNALDATE from the From_ line: unix seconds and zone offset in minutes.
    pub internal_date: (i64, i32),
    /// Size of the client view with CRLF line ends (RFC822.SIZE, POP3 LIST).
    pub size: u64,
}

/// What another process changed, found by [`Mailbox::sync`].
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// Indexes (before this sync) of messages expunged by others, ascending.
    pub expunged: Vec<usize>,
    /// Indexes (after the expunges) whose flags or keywords changed.
    pub flags_changed: Vec<usize>,
    /// Number of messages appended (now at the end).
    pub new: usize,
}

pub struct Mailbox {
    _private: (),
}

impl Mailbox {
    pub fn open(_path: &Path, _opts: &OpenOptions) -> Result<Mailbox, StoreError> {
        todo!()
    }
    pub fn uid_validity(&self) -> u32 {
        todo!()
    }
    pub fn uid_next(&self) -> u32 {
        todo!()
    }
    pub fn len(&self) -> usize {
        todo!()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn messages(&self) -> &[Message] {
        todo!()
    }
    pub fn keywords(&self) -> &[String] {
        todo!()
    }
    /// Give UIDs to messages that have none (written back lazily, on the
    /// next write-back; POP3 UIDL and IMAP SELECT call this).
    pub fn assign_uids(&mut self) -> Result<(), StoreError> {
        todo!()
    }
    /// Client view of message `i` (hidden headers removed, CRLF line ends,
    /// mboxrd quoting undone) appended to `out`.
    pub fn read_message(&mut self, _i: usize, _out: &mut Vec<u8>) -> Result<(), StoreError> {
        todo!()
    }
    /// Client view of the header only (up to and including the blank line).
    pub fn read_header(&mut self, _i: usize, _out: &mut Vec<u8>) -> Result<(), StoreError> {
        todo!()
    }
    /// Change flags/keywords in memory; written by [`Mailbox::write_back`].
    pub fn set_flags(&mut self, _i: usize, _flags: Flags, _keywords: &[String]) {
        todo!()
    }
    /// Remove messages `idx` (ascending) and write back all pending flag
    /// changes, crash-safely.
    pub fn expunge(&mut self, _idx: &[usize]) -> Result<(), StoreError> {
        todo!()
    }
    /// Write pending flag/UID changes back to the file.
    pub fn write_back(&mut self) -> Result<(), StoreError> {
        todo!()
    }
    /// Notice appends, expunges and flag changes made by other processes.
    pub fn sync(&mut self) -> Result<Changes, StoreError> {
        todo!()
    }
}

/// One message to append: raw RFC 5322 bytes (LF or CRLF), envelope sender
/// for the From_ line, and initial flags.
pub struct NewMessage<'a> {
    pub data: &'a [u8],
    pub from: &'a str,
    /// unix seconds and zone offset in minutes.
    pub date: (i64, i32),
    pub flags: Flags,
    pub keywords: &'a [String],
}

/// Append messages to the mbox at `path` under its locks, all or nothing,
/// fsynced before returning. Returns (uidvalidity, uids) for UIDPLUS.
pub fn append(_path: &Path, _msgs: &[NewMessage<'_>]) -> Result<(u32, Vec<u32>), StoreError> {
    todo!()
}
