//! The maildrop as POP3 sees it (RFC 1939 §3, §6): a fixed list of messages
//! numbered from 1, their sizes and unique ids, message text, and one
//! commit at the end of the session. [`MboxMaildrop`] is the real one over
//! `store::mbox::Mailbox`; [`MemoryMaildrop`] serves transcript tests.
//!
//! The session keeps the deleted/retrieved marks itself; a maildrop only
//! learns about them in [`Maildrop::commit`], which is only called by QUIT
//! from the TRANSACTION state (the UPDATE state). Dropping a maildrop
//! without commit changes nothing on disk.
//!
//! UIDL (RFC 1939 §7) is `format!("{:08x}{:08x}", uidvalidity, uid)`: the
//! same UID imapd reports, so a message keeps its UIDL whichever server
//! first assigned its UID, and it changes only when UIDVALIDITY does (then
//! clients must refetch anyway).

use crate::store::mbox::{Mailbox, OpenOptions};
use crate::store::{Flags, StoreError};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Messages of one locked maildrop, indexes 0-based.
pub trait Maildrop {
    /// Number of messages when the session entered TRANSACTION.
    fn count(&self) -> usize;
    /// Octets of message `i` as RETR sends it before dot-stuffing.
    fn size(&self, i: usize) -> u64;
    /// Unique-id listing of message `i` (RFC 1939 §7: 1..70 chars 0x21..0x7E).
    fn uidl(&self, i: usize) -> String;
    /// Message `i` with CRLF line ends, appended to `out`.
    fn read_message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError>;
    /// The UPDATE state: mark `seen` messages seen and remove `deleted`
    /// (both ascending), crash-safely.
    fn commit(&mut self, deleted: &[usize], seen: &[usize]) -> Result<(), StoreError>;
}

/// UIDL string for a UIDVALIDITY/UID pair.
pub fn format_uidl(uid_validity: u32, uid: u32) -> String {
    format!("{:08x}{:08x}", uid_validity, uid)
}

/// The user's mbox, opened with the exclusive POP3 session lock.
pub struct MboxMaildrop {
    mbox: Mailbox,
}

impl MboxMaildrop {
    /// Open `path` (creating an empty INBOX if missing), lock it for this
    /// session and give every message a UID so UIDL is stable.
    pub fn open(path: &Path) -> Result<MboxMaildrop, StoreError> {
        let opts = OpenOptions { read_only: false, exclusive_session: true, create: true };
        let mut mbox = Mailbox::open(path, &opts)?;
        mbox.assign_uids()?;
        Ok(MboxMaildrop { mbox })
    }
}

impl Maildrop for MboxMaildrop {
    fn count(&self) -> usize {
        self.mbox.len()
    }
    fn size(&self, i: usize) -> u64 {
        self.mbox.messages()[i].size
    }
    fn uidl(&self, i: usize) -> String {
        format_uidl(self.mbox.uid_validity(), self.mbox.messages()[i].uid)
    }
    fn read_message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
        self.mbox.read_message(i, out)
    }
    fn commit(&mut self, deleted: &[usize], seen: &[usize]) -> Result<(), StoreError> {
        for &i in seen {
            let m = &self.mbox.messages()[i];
            if m.flags.contains(Flags::SEEN) {
                continue;
            }
            let mut flags = m.flags;
            flags.insert(Flags::SEEN);
            let names = self.mbox.keywords();
            let keywords: Vec<String> =
                m.keywords.iter().filter_map(|&k| names.get(usize::from(k)).cloned()).collect();
            self.mbox.set_flags(i, flags, &keywords);
        }
        if deleted.is_empty() {
            // Also persists UIDs assigned at open, so UIDL stays stable.
            self.mbox.write_back()
        } else {
            self.mbox.expunge(deleted)
        }
    }
}

/// What a [`MemoryMaildrop`] was asked to commit, for tests to inspect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    pub deleted: Vec<usize>,
    pub seen: Vec<usize>,
}

/// A maildrop held in memory: messages (CRLF text) with UIDs. Commits are
/// recorded in a shared log so a test can check what QUIT did.
pub struct MemoryMaildrop {
    pub uid_validity: u32,
    pub messages: Vec<(u32, Vec<u8>)>,
    pub log: Arc<Mutex<Vec<Committed>>>,
    /// Make commit fail (to test the `-ERR` of a failed UPDATE).
    pub fail_commit: bool,
}

impl Maildrop for MemoryMaildrop {
    fn count(&self) -> usize {
        self.messages.len()
    }
    fn size(&self, i: usize) -> u64 {
        self.messages[i].1.len() as u64
    }
    fn uidl(&self, i: usize) -> String {
        format_uidl(self.uid_validity, self.messages[i].0)
    }
    fn read_message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
        out.extend_from_slice(&self.messages[i].1);
        Ok(())
    }
    fn commit(&mut self, deleted: &[usize], seen: &[usize]) -> Result<(), StoreError> {
        if self.fail_commit {
            return Err(StoreError::new(crate::store::ErrorKind::NoSpace, "test: disk full"));
        }
        if let Ok(mut log) = self.log.lock() {
            log.push(Committed { deleted: deleted.to_vec(), seen: seen.to_vec() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_mbox(name: &str, text: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("postern-pop3-{}-{}", name, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("inbox");
        std::fs::write(&path, text).expect("write mbox");
        path
    }

    const SPOOL: &[u8] = b"From a@example.org Mon Nov 23 10:00:00 2026\n\
Subject: one\n\
\n\
>From the start\n\
.dot\n\
\n\
From b@example.org Mon Nov 23 10:00:01 2026\n\
Subject: two\n\
\n\
body two\n\
\n\
From c@example.org Mon Nov 23 10:00:02 2026\n\
Subject: three\n\
\n\
body three\n\
";

    /// The mbox adapter: sizes equal the CRLF text, UIDL stable across
    /// opens, one exclusive session, and commit marks seen and expunges.
    #[test]
    fn mbox_maildrop_round_trip() {
        let path = temp_mbox("roundtrip", SPOOL);
        let mut m = MboxMaildrop::open(&path).expect("open");
        assert_eq!(m.count(), 3);
        let mut first = Vec::new();
        m.read_message(0, &mut first).expect("read");
        assert_eq!(first, b"Subject: one\r\n\r\nFrom the start\r\n.dot\r\n");
        assert_eq!(m.size(0), first.len() as u64);
        let uidls: Vec<String> = (0..3).map(|i| m.uidl(i)).collect();
        assert!(uidls.iter().all(|u| u.len() == 16 && u.bytes().all(|b| b.is_ascii_hexdigit())));
        match MboxMaildrop::open(&path) {
            Err(e) => assert_eq!(e.kind, crate::store::ErrorKind::InUse),
            Ok(_) => panic!("second POP3 session opened the same maildrop"),
        }
        m.commit(&[1], &[0]).expect("commit");
        drop(m);
        let mut m = MboxMaildrop::open(&path).expect("reopen");
        assert_eq!(m.count(), 2);
        assert_eq!(vec![m.uidl(0), m.uidl(1)], vec![uidls[0].clone(), uidls[2].clone()]);
        let mut third = Vec::new();
        m.read_message(1, &mut third).expect("read");
        assert_eq!(third, b"Subject: three\r\n\r\nbody three\r\n");
        let text = std::fs::read(&path).expect("read file");
        let one = &text[..memchr::memmem::find(&text, b"Subject: three").expect("three")];
        assert!(memchr::memmem::find(one, b"\nStatus: R").is_some(), "{}", String::from_utf8_lossy(one));
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }

    #[test]
    fn uidl_format() {
        assert_eq!(format_uidl(0x5f3e_0001, 7), "5f3e000100000007");
        assert_eq!(format_uidl(u32::MAX, u32::MAX), "ffffffffffffffff");
        assert_eq!(format_uidl(0, 0).len(), 16);
    }
}
