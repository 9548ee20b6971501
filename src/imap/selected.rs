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
use std::collections::HashMap;
use std::path::PathBuf;

/// System flags as they appear in FLAGS lists, in a fixed order.
pub(crate) const SYSTEM_FLAGS: [(Flags, &str); 5] = [
    (Flags::ANSWERED, "\\Answered"),
    (Flags::FLAGGED, "\\Flagged"),
    (Flags::DELETED, "\\Deleted"),
    (Flags::SEEN, "\\Seen"),
    (Flags::DRAFT, "\\Draft"),
];

/// Largest mailbox in which a session takes `\Recent` on disk (see
/// [`Selected::claim_recent`]): rewriting this much takes a few ms.
const CLAIM_RECENT_MAX_BYTES: u64 = 8 << 20;

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
    /// The file did not exist and could not be created (INBOX in a spool
    /// directory only the MDA writes): `mbox` is an empty stand-in until
    /// the file appears.
    missing: bool,
    /// (dev, inode, size, mtime s, mtime ns) of the file when this session
    /// last looked at or wrote it: STORE rereads flags when it differs.
    disk_stamp: Option<(u64, u64, u64, i64, i64)>,
    /// The client has been told of at least one message (so it may hold
    /// UIDs, and a UIDVALIDITY change must end the session).
    uids_reported: bool,
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
        let recent: Vec<bool> = mbox.messages().iter().map(|m| m.recent).collect();
        let mut sel = Selected {
            announced_keywords: mbox.keywords().len(),
            mbox,
            name,
            path,
            read_only,
            missing: false,
            disk_stamp: None,
            uids_reported: !recent.is_empty(),
            recent,
            seen_dirty: false,
        };
        sel.claim_recent(0);
        sel.note_disk();
        Ok(sel)
    }

    fn disk_now(&self) -> Option<(u64, u64, u64, i64, i64)> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
    }

    /// Remembers the file as this session now knows it.
    pub(crate) fn note_disk(&mut self) {
        self.disk_stamp = self.disk_now();
    }

    /// Flags and keywords by UID as the file holds them now, when another
    /// process wrote it since this session last looked (`None`: our view is
    /// current). STORE +FLAGS/-FLAGS apply to these, so two sessions
    /// changing different flags of one message do not undo each other
    /// (imaptest `store`); the view itself is not synced, so no sequence
    /// number moves during STORE (RFC 3501 §7.4.1).
    pub(crate) fn flags_on_disk(&self) -> Option<HashMap<u32, (Flags, Vec<String>)>> {
        if self.missing || self.disk_now() == self.disk_stamp {
            return None;
        }
        let opts = OpenOptions {
            read_only: true,
            exclusive_session: false,
            create: false,
        };
        let fresh = Mailbox::open(&self.path, &opts).ok()?;
        let all = fresh.keywords();
        Some(
            fresh
                .messages()
                .iter()
                .map(|m| {
                    let kws = m
                        .keywords
                        .iter()
                        .filter_map(|&k| all.get(k as usize).cloned())
                        .collect();
                    (m.uid, (m.flags, kws))
                })
                .collect(),
        )
    }

    /// Sets flags of message `i` to be written back even if they equal
    /// what this session last saw (the file may hold others).
    pub(crate) fn set_flags_forced(&mut self, i: usize, flags: Flags, kws: &[String]) {
        self.mbox.set_flags_exact(i, flags, kws);
    }

    /// SELECT of an INBOX whose spool file is missing and cannot be
    /// created: an empty mailbox (UIDVALIDITY from the empty file's mtime,
    /// as the store derives it) backed by an unlinked empty temporary file, replaced by the
    /// real one once a delivery creates it (see [`Selected::report_changes`]).
    pub(crate) fn open_missing(
        path: PathBuf,
        name: MailboxName,
        read_only: bool,
    ) -> Result<Selected, StoreError> {
        let tmp = std::env::temp_dir().join(format!(
            "postern-empty-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| crate::store::mbox::io_error("create", &tmp, e));
        let opened = made.and_then(|_| Selected::open(tmp.clone(), name, true, false));
        let _ = std::fs::remove_file(&tmp);
        let mut sel = opened?;
        sel.path = path;
        sel.read_only = read_only;
        sel.missing = true;
        Ok(sel)
    }

    /// Takes `\Recent` of messages `from..` for this session alone (RFC
    /// 3501 §2.3.2): a read-write session marks them old on disk
    /// (`Status: O`), so other sessions and STATUS stop counting them, as
    /// UW does on SELECT and when it sees new mail. Best effort: if the
    /// write fails, or a message's metadata cannot take the `O` in place
    /// (`Mailbox::mark_old` never rewrites the file), others see it as
    /// recent too.
    ///
    /// Only in mailboxes up to [`CLAIM_RECENT_MAX_BYTES`]: messages without
    /// a metadata block (another MDA's, a fresh import) need a whole-file
    /// rewrite, which must not happen on a cold SELECT of a large mailbox
    /// (issue #5 performance bounds; the store never writes on open).
    /// Larger mailboxes keep sharing `\Recent`, as before.
    fn claim_recent(&mut self, from: usize) -> bool {
        if self.read_only
            || std::fs::metadata(&self.path).map_or(true, |m| m.len() > CLAIM_RECENT_MAX_BYTES)
        {
            return false;
        }
        let mut any = false;
        for i in from..self.mbox.len() {
            if !self.mbox.messages()[i].recent {
                continue;
            }
            if !self.mbox.mark_old(i) {
                // No metadata block (another MDA's message): `O` comes
                // with a rewrite, affordable below the size bound.
                let flags = self.mbox.messages()[i].flags;
                let kws = self.keyword_names(i);
                self.mbox.set_flags_exact(i, flags, &kws);
            }
            any = true;
        }
        if any {
            let _ = self.mbox.write_back();
        }
        any
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
    /// data. A changed UIDVALIDITY ends the session (`BYE`) once the
    /// client may hold UIDs; before that (an empty mailbox whose implicit
    /// UIDVALIDITY became the first message's) the session carries on
    /// with the new value (RFC 3501 §2.3.1.1 only forbids reusing UIDs).
    pub(crate) fn report_changes(&mut self, out: &mut Response) -> Result<(), ImapError> {
        if self.missing {
            if std::fs::symlink_metadata(&self.path).is_err() {
                return Ok(());
            }
            let real = Selected::open(self.path.clone(), self.name.clone(), self.read_only, false)?;
            *self = real;
            self.write_flag_lists(out);
            out.untagged(
                Status::Ok,
                Some(crate::imap::wire::Code::UidValidity(
                    self.mbox.uid_validity(),
                )),
                "UIDs valid",
            );
            out.counted(self.count(), "EXISTS");
            out.counted(self.recent_count(), "RECENT");
            return Ok(());
        }
        self.write_seen()?;
        let before = self.disk_now();
        let ch = self.mbox.sync()?;
        if ch.uid_validity_changed {
            if self.uids_reported {
                return Err(ImapError::Bye(
                    "Mailbox was changed by another program, UIDs are no longer valid".into(),
                ));
            }
            out.untagged(
                Status::Ok,
                Some(crate::imap::wire::Code::UidValidity(
                    self.mbox.uid_validity(),
                )),
                "UIDs valid",
            );
        }
        self.announce_expunged(&ch.expunged, out);
        self.announce_keywords(out);
        let mut claimed = false;
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
            claimed = self.claim_recent(start);
        }
        self.disk_stamp = if claimed { self.disk_now() } else { before };
        if ch.new > 0 {
            self.uids_reported |= self.count() > 0;
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
