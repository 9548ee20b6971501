//! The Selected state: one open mbox plus what this session alone knows
//! of it (`\Recent`, read-only, the keyword list already announced), the
//! [`MailView`] adapter FETCH/SEARCH/SORT/THREAD read through, and the
//! untagged EXISTS/RECENT/EXPUNGE/FETCH FLAGS that tell the client what
//! other processes changed (RFC 3501 §7.3-7.4, §5.2; RFC 2180 §4).
//!
//! Message `i` (0-based) is sequence number `i + 1`. The store keeps
//! messages expunged by others in the view until [`Mailbox::sync`] is
//! called, so the session decides when numbers may shift: never while
//! answering FETCH, STORE or SEARCH (RFC 3501 §7.4.1), which is why those
//! commands skip [`Selected::report_changes`].

use crate::imap::error::ImapError;
use crate::imap::sequence::SequenceSet;
use crate::imap::view::MailView;
use crate::imap::wire::{MailboxName, Response, Status};
use crate::store::mbox::{Mailbox, OpenOptions};
use crate::store::{Flags, StoreError};
use std::path::PathBuf;

/// System flags as they appear in FLAGS lists, in a fixed order.
pub(crate) const SYSTEM_FLAGS: [(Flags, &str); 5] = [
    (Flags::ANSWERED, "\\Answered"),
    (Flags::FLAGGED, "\\Flagged"),
    (Flags::DELETED, "\\Deleted"),
    (Flags::SEEN, "\\Seen"),
    (Flags::DRAFT, "\\Draft"),
];

/// The open mailbox of a session in the Selected state.
pub(crate) struct Selected {
    pub mbox: Mailbox,
    pub name: MailboxName,
    pub path: PathBuf,
    pub read_only: bool,
    /// `\Recent` per message, parallel to `mbox.messages()`.
    pub recent: Vec<bool>,
    /// Keywords announced in the last `* FLAGS`.
    announced_keywords: usize,
    /// FETCH set `\Seen`: write back after the command.
    pub seen_dirty: bool,
}

impl Selected {
    /// SELECT/EXAMINE: opens without rewriting (the store never writes on open).
    pub(crate) fn open(
        path: PathBuf,
        name: MailboxName,
        read_only: bool,
        create: bool,
    ) -> Result<Selected, StoreError> {
        let opts = OpenOptions {
            read_only,
            exclusive_session: false,
            create,
        };
        let mbox = match Mailbox::open(&path, &opts) {
            // A read-only file still opens for EXAMINE-like use.
            Err(e) if !read_only && e.kind == crate::store::ErrorKind::Permission => {
                return Selected::open(path, name, true, false).map(|mut s| {
                    s.read_only = true;
                    s
                })
            }
            r => r?,
        };
        let recent = mbox.messages().iter().map(|m| m.recent).collect();
        Ok(Selected {
            announced_keywords: mbox.keywords().len(),
            mbox,
            name,
            path,
            read_only,
            recent,
            seen_dirty: false,
        })
    }

    pub(crate) fn count(&self) -> u32 {
        self.mbox.len() as u32
    }

    pub(crate) fn recent_count(&self) -> u32 {
        self.recent.iter().filter(|&&r| r).count() as u32
    }

    pub(crate) fn uids(&self) -> Vec<u32> {
        self.mbox.messages().iter().map(|m| m.uid).collect()
    }

    /// Message indexes named by a sequence set (ascending). Sequence
    /// numbers past the end are `BAD`; UIDs that do not exist are skipped
    /// (RFC 3501 §6.4.8).
    pub(crate) fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, ImapError> {
        if uid {
            let uids = self.uids();
            let max = uids.last().copied().unwrap_or(0);
            let ranges = set.resolve_uid(max);
            let mut v: Vec<usize> = ranges.select_uids(&uids).collect();
            v.sort_unstable();
            v.dedup();
            Ok(v)
        } else {
            let ranges = set
                .resolve_seq(self.count())
                .map_err(|e| ImapError::bad(e.to_string()))?;
            Ok(ranges.iter().map(|n| n as usize - 1).collect())
        }
    }

    /// Keyword names of message `i`.
    pub(crate) fn keyword_names(&self, i: usize) -> Vec<String> {
        let all = self.mbox.keywords();
        self.mbox.messages()[i]
            .keywords
            .iter()
            .filter_map(|&k| all.get(k as usize).cloned())
            .collect()
    }

    /// The FLAGS list of message `i`, `\Recent` included.
    pub(crate) fn flag_atoms(&self, i: usize) -> Vec<String> {
        let m = &self.mbox.messages()[i];
        let mut v: Vec<String> = SYSTEM_FLAGS
            .iter()
            .filter(|(f, _)| m.flags.contains(*f))
            .map(|(_, n)| n.to_string())
            .collect();
        if self.recent.get(i).copied().unwrap_or(false) {
            v.push("\\Recent".into());
        }
        v.extend(self.keyword_names(i));
        v
    }

    /// `* n FETCH (FLAGS (...) [UID u])`.
    pub(crate) fn write_flags(&self, out: &mut Response, i: usize, with_uid: bool) {
        let atoms = self.flag_atoms(i);
        out.begin()
            .number(i as u32 + 1)
            .atom("FETCH")
            .open()
            .atom("FLAGS")
            .open();
        for a in &atoms {
            out.atom(a);
        }
        out.close();
        if with_uid {
            out.atom("UID").number(self.mbox.messages()[i].uid);
        }
        out.close().end();
    }

    /// `* FLAGS` and `* OK [PERMANENTFLAGS]` for the current keyword list.
    pub(crate) fn write_flag_lists(&mut self, out: &mut Response) {
        let mut names: Vec<&str> = SYSTEM_FLAGS.iter().map(|(_, n)| *n).collect();
        names.extend(self.mbox.keywords().iter().map(String::as_str));
        out.flags(&names);
        if self.read_only {
            out.untagged(
                Status::Ok,
                Some(crate::imap::wire::Code::PermanentFlags(&[])),
                "No permanent flags permitted",
            );
        } else {
            names.push("\\*");
            out.untagged(
                Status::Ok,
                Some(crate::imap::wire::Code::PermanentFlags(&names)),
                "Flags permitted",
            );
        }
        self.announced_keywords = self.mbox.keywords().len();
    }

    /// New `* FLAGS` / `PERMANENTFLAGS` when a keyword was added to the
    /// mailbox since the last announcement (RFC 3501 §7.2.6).
    pub(crate) fn announce_keywords(&mut self, out: &mut Response) {
        if self.mbox.keywords().len() != self.announced_keywords {
            self.write_flag_lists(out);
        }
    }

    /// Forgets our own expunged messages (`idx` ascending) and writes their
    /// `* n EXPUNGE` lines.
    pub(crate) fn announce_expunged(&mut self, idx: &[usize], out: &mut Response) {
        for (k, &i) in idx.iter().enumerate() {
            out.counted((i + 1).saturating_sub(k) as u32, "EXPUNGE");
        }
        let mut it = idx.iter().peekable();
        let mut j = 0;
        self.recent.retain(|_| {
            let drop = it.peek().is_some_and(|&&x| x == j);
            if drop {
                it.next();
            }
            j += 1;
            !drop
        });
    }

    /// Writes `\Seen` flags FETCH set (after every command, even those
    /// that may not report changes).
    pub(crate) fn write_seen(&mut self) -> Result<(), StoreError> {
        if self.seen_dirty {
            self.seen_dirty = false;
            self.mbox.write_back()?;
        }
        Ok(())
    }

    /// Picks up other processes' changes and writes them as untagged
    /// data. A changed UIDVALIDITY ends the session (`BYE`).
    pub(crate) fn report_changes(&mut self, out: &mut Response) -> Result<(), ImapError> {
        self.write_seen()?;
        let ch = self.mbox.sync()?;
        if ch.uid_validity_changed {
            return Err(ImapError::Bye(
                "Mailbox was changed by another program, UIDs are no longer valid".into(),
            ));
        }
        self.announce_expunged(&ch.expunged, out);
        self.announce_keywords(out);
        for &i in &ch.flags_changed {
            if i < self.mbox.len() {
                self.write_flags(out, i, false);
            }
        }
        if ch.new > 0 {
            let start = self.mbox.len() - ch.new;
            self.recent
                .extend(self.mbox.messages()[start..].iter().map(|m| m.recent));
            self.recent.truncate(self.mbox.len());
        }
        if ch.new > 0 {
            out.counted(self.count(), "EXISTS");
            out.counted(self.recent_count(), "RECENT");
        }
        Ok(())
    }
}

impl MailView for Selected {
    fn count(&self) -> usize {
        self.mbox.len()
    }
    fn uid(&self, i: usize) -> u32 {
        self.mbox.messages()[i].uid
    }
    fn flags(&self, i: usize) -> Flags {
        self.mbox.messages()[i].flags
    }
    fn recent(&self, i: usize) -> bool {
        self.recent.get(i).copied().unwrap_or(false)
    }
    fn keywords(&self, i: usize) -> Vec<&str> {
        let all = self.mbox.keywords();
        self.mbox.messages()[i]
            .keywords
            .iter()
            .filter_map(|&k| all.get(k as usize).map(String::as_str))
            .collect()
    }
    fn internal_date(&self, i: usize) -> (i64, i32) {
        self.mbox.messages()[i].internal_date
    }
    fn size(&self, i: usize) -> u64 {
        self.mbox.messages()[i].size
    }
    fn header(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
        self.mbox.read_header(i, out)
    }
    fn message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
        self.mbox.read_message(i, out)
    }
    fn set_seen(&mut self, i: usize) {
        if self.read_only {
            return;
        }
        let mut flags = self.mbox.messages()[i].flags;
        flags.insert(Flags::SEEN);
        let kws = self.keyword_names(i);
        self.mbox.set_flags(i, flags, &kws);
        self.seen_dirty = true;
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
}
