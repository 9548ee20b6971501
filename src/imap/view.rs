//! [`MailView`]: what FETCH, SEARCH, SORT and THREAD (`imap::command::*`)
//! need from the selected mailbox, and nothing more.
//!
//! The session implements it over `store::mbox::Mailbox` plus its own
//! per-session state (`\Recent`, read-only EXAMINE); the command modules
//! stay free of mbox, locking and session details and are tested against an
//! in-memory view. Indexes are 0-based (sequence number - 1) and always
//! `< count()`: callers resolve sequence sets before they ask.
//!
//! Cost model the commands rely on (keep it true in implementations):
//! the metadata methods (`uid` .. `size`) are O(1) memory lookups; `header`
//! reads only the header block from disk, `message` the whole message. So
//! `FETCH 1:* (FLAGS ENVELOPE)` and `SEARCH FROM x` never touch bodies.

use crate::store::{Flags, StoreError};

/// Read access to the selected mailbox, plus the one write FETCH makes.
pub trait MailView {
    /// Messages in the selected mailbox (the session's view: messages
    /// expunged by others but not yet announced still count).
    fn count(&self) -> usize;
    /// UID of message `i`.
    fn uid(&self, i: usize) -> u32;
    /// System flags of message `i` (without `\Recent`).
    fn flags(&self, i: usize) -> Flags;
    /// Whether message `i` is `\Recent` in this session.
    fn recent(&self, i: usize) -> bool;
    /// Keywords set on message `i`, in the mailbox's keyword order. An
    /// empty `Vec` does not allocate, and most messages have none.
    fn keywords(&self, i: usize) -> Vec<&str>;
    /// INTERNALDATE: unix seconds and the zone offset in minutes east.
    fn internal_date(&self, i: usize) -> (i64, i32);
    /// RFC822.SIZE: length of the client view (CRLF line ends), which is
    /// exactly what [`MailView::message`] appends.
    fn size(&self, i: usize) -> u64;
    /// Appends the client view of the header of message `i` (CRLF, hidden
    /// mbox metadata fields removed), including the empty line that ends it
    /// when there is one: the same bytes as the start of `message`.
    fn header(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError>;
    /// Appends the client view of the whole message `i`.
    fn message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError>;
    /// Sets `\Seen` on message `i` after a non-PEEK body fetch (RFC 3501
    /// §6.4.5). Only called when `read_only()` is false and the message is
    /// not seen yet; the session writes it back and must not announce this
    /// change again as an untagged FETCH (FETCH already includes FLAGS).
    fn set_seen(&mut self, i: usize);
    /// EXAMINE, or a mailbox the user cannot write: FETCH leaves `\Seen` alone.
    fn read_only(&self) -> bool;
}

/// An in-memory mailbox for the command modules' unit tests.
#[cfg(test)]
pub(crate) mod mem {
    use super::MailView;
    use crate::store::{ErrorKind, Flags, StoreError};

    /// One message of a [`MemView`].
    #[derive(Clone, Debug)]
    pub struct MemMessage {
        pub uid: u32,
        pub flags: Flags,
        pub recent: bool,
        pub keywords: Vec<String>,
        pub internal_date: (i64, i32),
        /// CRLF client view.
        pub data: Vec<u8>,
    }

    /// Counts reads so tests can check that header-only requests never
    /// read whole messages.
    #[derive(Clone, Debug, Default)]
    pub struct MemView {
        pub messages: Vec<MemMessage>,
        pub read_only: bool,
        pub header_reads: usize,
        pub message_reads: usize,
        /// Reads of this index fail with `NotFound` (expunged elsewhere).
        pub gone: Option<usize>,
    }

    /// Turns bare LF into CRLF, so fixtures can be written with `\n`.
    pub fn crlf(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() + s.len() / 16);
        for (i, &b) in s.iter().enumerate() {
            if b == b'\n' && (i == 0 || s[i - 1] != b'\r') {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }

    impl MemView {
        /// Messages with UIDs 1, 2, ... and no flags; internal dates one
        /// day apart starting 2026-11-20 12:00 UTC.
        pub fn new(messages: &[&[u8]]) -> MemView {
            let messages = messages
                .iter()
                .enumerate()
                .map(|(i, m)| MemMessage {
                    uid: i as u32 + 1,
                    flags: Flags::default(),
                    recent: false,
                    keywords: Vec::new(),
                    internal_date: (1_795_176_000 + i as i64 * 86_400, 0),
                    data: crlf(m),
                })
                .collect();
            MemView { messages, ..MemView::default() }
        }

        fn check(&self, i: usize) -> Result<(), StoreError> {
            match self.gone {
                Some(g) if g == i => Err(StoreError::new(ErrorKind::NotFound, "expunged")),
                _ => Ok(()),
            }
        }
    }

    impl MailView for MemView {
        fn count(&self) -> usize {
            self.messages.len()
        }
        fn uid(&self, i: usize) -> u32 {
            self.messages[i].uid
        }
        fn flags(&self, i: usize) -> Flags {
            self.messages[i].flags
        }
        fn recent(&self, i: usize) -> bool {
            self.messages[i].recent
        }
        fn keywords(&self, i: usize) -> Vec<&str> {
            self.messages[i].keywords.iter().map(String::as_str).collect()
        }
        fn internal_date(&self, i: usize) -> (i64, i32) {
            self.messages[i].internal_date
        }
        fn size(&self, i: usize) -> u64 {
            self.messages[i].data.len() as u64
        }
        fn header(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
            self.header_reads += 1;
            self.check(i)?;
            let d = &self.messages[i].data;
            out.extend_from_slice(&d[..crate::message::header::body_offset(d)]);
            Ok(())
        }
        fn message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
            self.message_reads += 1;
            self.check(i)?;
            out.extend_from_slice(&self.messages[i].data);
            Ok(())
        }
        fn set_seen(&mut self, i: usize) {
            assert!(!self.read_only, "set_seen on a read-only view");
            self.messages[i].flags.insert(Flags::SEEN);
        }
        fn read_only(&self) -> bool {
            self.read_only
        }
    }
}
