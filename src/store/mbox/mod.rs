//! One mbox file: open without rewriting, index of messages, client view of
//! a message, flag changes, expunge, append, and noticing other writers.
//!
//! # UIDs without writing (implicit UIDs)
//!
//! Opening never writes. Every process derives the same UIDs from the same
//! bytes, exactly as UW would assign them:
//! * UIDVALIDITY and the starting UIDNEXT come from `X-IMAPbase:` in the
//!   first message (or UW's `X-IMAP:` pseudo-message); without one,
//!   UIDVALIDITY is the first message's From_ date.
//! * A file without messages (0 bytes as an MDA or `touch` made it, or
//!   only bytes before any From_ line) has UIDVALIDITY = its mtime in
//!   seconds ([`empty_validity`]). Appending to such a file does not
//!   change its mtime before the append takes the lock, so `append` stats
//!   it under the lock and writes that same value into the X-IMAPbase of
//!   the first message: every reader computes the same UIDVALIDITY before
//!   and after the first delivery through the store (smtpd, APPEND, COPY).
//!   A foreign MDA's first delivery writes no X-IMAPbase, so then the
//!   value becomes that message's From_ date (a UIDVALIDITY change, which
//!   for a mailbox that held no messages costs clients nothing). Folders
//!   made by `Folders::create` never take this path: they start with UW's
//!   pseudo-message holding a fresh value (`folders.rs`).
//! * A message with `X-UID:` larger than the previous message's UID keeps
//!   it. A message without one gets `max(UIDNEXT-1, highest UID so far)+1`.
//! * An `X-UID:` not larger than its predecessor's (duplicate, decreasing)
//!   means the UIDs are broken: as UW does, UIDVALIDITY becomes the old
//!   value + 1 and all messages are numbered 1..n.
//!
//! These implicit values are materialized (X-IMAPbase, X-UID) by the next
//! full rewrite. So a cold SELECT/STAT is a pure scan. UIDs match what UW
//! and Dovecot assign; UIDVALIDITY of a never-written mailbox does not
//! (Dovecot takes the time of its first SELECT), but both agree as soon as
//! either has written X-IMAPbase (tests/store_dovecot.rs).
//!
//! # Noticing other processes ([`Mailbox::sync`])
//! A `stat` of the path and `fstat` of our descriptor decide: unchanged →
//! nothing read; grown (same inode) → only the tail from the last message's
//! From_ line is scanned; otherwise (rewritten in place, or replaced by a
//! rename) the file is scanned again and mapped onto our view by UID.
//! Messages that vanished stay in the view as "gone" until `sync` reports
//! them, so indexes the session holds stay valid between commands.
//!
//! When the file grew, the new tail is scanned, and the question is whether
//! someone also changed flags in place meanwhile (the only other change a
//! same-inode file can have had without a full rescan being forced: any
//! structural rewrite either renames a new file in — new inode — or, for
//! UW/Dovecot rewriting in place, moves bytes our samples see). Re-reading
//! every metadata region answers it but costs one `pread` per message
//! (168 ms for 100k messages), after every IMAP command. So it is skipped
//! when all of these say "pure append":
//! * the change counter in the `user.postern.flagseq` xattr, which every
//!   postern in-place flag write bumps before writing (under the write
//!   lock), is what it was at our last look (a file system without xattrs
//!   makes this check fail, so it always re-reads, as before);
//! * the first and the last 64 KiB before the old end hash as they did
//!   then, digits aside (the first messages' flags, and the old last
//!   message, which an in-place rewrite of the tail or a file that was cut
//!   and re-grown would change; digits are left out because appenders,
//!   ours included, bump the last UID of X-IMAPbase in place);
//! * the last full re-read is less than [`VERIFY_EVERY`] old.
//!
//! The remaining blind spot, stated plainly: a foreign program (UW,
//! Dovecot) that changes one message's flags in place in the middle of the
//! file *and* an append in the same interval is noticed at the next
//! periodic re-read (at most [`VERIFY_EVERY`] later), not at once. Foreign
//! in-place changes without an append are noticed at once (same size, new
//! mtime: full rescan), and so is everything postern writes.
//!
//! # Writing back
//! See `rewrite.rs` (flags in place; structure by temp file + rename) and
//! `append.rs` (append, truncate back on failure).
//!
//! # How the servers use it
//! `Mailbox::open` (POP3: `exclusive_session`) → `sync()` after every
//! command and in IDLE (render `Changes`: expunged indexes descending, then
//! new count, then flag changes; `uid_validity_changed` → BYE) →
//! `read_message`/`read_header` (a message another process expunged since
//! the last `sync` gives `NotFound`) → `set_flags` + `write_back` (STORE,
//! POP3 RETR \Seen) / `expunge` (EXPUNGE, CLOSE, POP3 QUIT). Delivery and
//! APPEND/COPY use the free function [`append`] (the selected mailbox then
//! sees the message at its next `sync`). RENAME INBOX is
//! `Folders::rename_inbox` (append all, fsync, then expunge). The store ignores SIGXFSZ so that
//! a file-size limit gives an error instead of killing the process.

mod append;
#[doc(hidden)]
pub mod fuzzing;
mod headers;
mod lock;
mod rewrite;
mod scan;

pub use append::{append, append_with_receipt, undo_append, AppendReceipt};
pub(crate) use rewrite::pseudo_message;

use super::{ErrorKind, Flags, StoreError};
use scan::RawEntry;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a pure-append sync may go without re-reading every metadata
/// region (see module doc; UW polls every 60 s).
pub const VERIFY_EVERY: Duration = Duration::from_secs(30);

/// What the file looked like at our last look (see module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileState {
    size: u64,
    seq: Option<u64>,
    hash: u64,
}

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
    /// Always assigned (see module doc: implicit UIDs).
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
    /// The file's UIDVALIDITY changed (UIDs renumbered by a repair or the
    /// file was replaced): every old message is in `expunged`, every
    /// current one counted in `new`. IMAP should end the session (BYE).
    pub uid_validity_changed: bool,
}

/// Where a message lives in the current file.
#[derive(Clone, Debug)]
pub(crate) struct Loc {
    pub from_start: u64,
    pub hdr_start: u64,
    pub body_start: u64,
    pub end: u64,
    /// Contiguous metadata header lines (in-place flag updates).
    pub region: Option<(u64, u64)>,
    /// The region holds an X-IMAPbase line.
    pub region_has_base: bool,
    /// The file holds this UID as an `X-UID:` header.
    pub explicit_uid: bool,
    /// The file's `Status:` has `O` (not \Recent for new sessions).
    pub old: bool,
    /// Flags changed here, not yet written.
    pub dirty: bool,
    /// Expunged by another process, not yet reported.
    pub gone: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
        }
    }
}

/// The index built from one scan of a whole file.
pub(crate) struct Index {
    uid_validity: u32,
    uid_next: u32,
    keywords: Vec<String>,
    preamble_end: u64,
    /// Keyword indexes of `msgs` point into `keywords` above.
    msgs: Vec<Message>,
    locs: Vec<Loc>,
}

pub struct Mailbox {
    path: PathBuf,
    file: File,
    read_only: bool,
    stamp: Stamp,
    preamble_end: u64,
    msgs: Vec<Message>,
    locs: Vec<Loc>,
    /// Found in the file (by a sync under a write lock), not yet reported.
    unreported: Vec<(Message, Loc)>,
    /// UIDs whose flags another process changed, not yet reported.
    flag_changed: Vec<u32>,
    validity_changed: bool,
    keywords: Vec<String>,
    uid_validity: u32,
    uid_next: u32,
    _session: Option<File>,
    seen: Option<FileState>,
    /// When every metadata region was last read (scan or re-read).
    verified: Instant,
    /// How many times all metadata regions were re-read (tests).
    pub(crate) region_rereads: u64,
    /// Window reads of the last rewrite (tests).
    pub(crate) rewrite_reads: std::sync::atomic::AtomicU64,
    /// Dirty messages changed by [`Mailbox::set_flags`]: their flags and
    /// keywords as the file had them when first changed. A write-back
    /// applies only our difference to what the file holds by then (see
    /// [`merge_flags`]). Messages set by [`Mailbox::set_flags_exact`] are
    /// not here: they are written as set.
    flag_base: HashMap<u32, (Flags, Vec<u16>)>,
    /// Dirty only to gain `Status: O` ([`Mailbox::mark_old`]): written if
    /// that fits in place, else dropped (never a whole-file rewrite).
    old_only: std::collections::HashSet<u32>,
}

/// Three-way merge of one message's flags (base = what the file held when
/// we changed them): the file's current flags plus what we added minus
/// what we removed, so a flag another process changed meanwhile survives
/// our write-back.
pub(crate) fn merge_flags(
    file: (Flags, &[u16]),
    base: (Flags, &[u16]),
    ours: (Flags, &[u16]),
) -> (Flags, Vec<u16>) {
    let added = ours.0 .0 & !base.0 .0;
    let removed = base.0 .0 & !ours.0 .0;
    let flags = Flags((file.0 .0 | added) & !removed);
    let mut kw: Vec<u16> = file
        .1
        .iter()
        .copied()
        .filter(|k| !(base.1.contains(k) && !ours.1.contains(k)))
        .collect();
    for k in ours.1 {
        if !base.1.contains(k) && !kw.contains(k) {
            kw.push(*k);
        }
    }
    kw.sort_unstable();
    (flags, kw)
}

pub(crate) fn io_error(what: &str, path: &Path, e: io::Error) -> StoreError {
    let kind = match e.raw_os_error() {
        Some(libc::ENOENT) => ErrorKind::NotFound,
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => ErrorKind::Permission,
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => ErrorKind::NoSpace,
        _ => ErrorKind::Io,
    };
    StoreError::new(kind, format!("{what} {}: {e}", path.display()))
}

fn open_file(path: &Path, read_only: bool, create: bool) -> Result<File, StoreError> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).custom_flags(libc::O_NOFOLLOW);
    if !read_only {
        o.write(true);
    }
    if create && !read_only {
        o.create(true).mode(0o600);
    }
    let f = o.open(path).map_err(|e| io_error("open", path, e))?;
    let m = f.metadata().map_err(|e| io_error("fstat", path, e))?;
    if !m.file_type().is_file() {
        return Err(StoreError::new(
            ErrorKind::Corrupt,
            format!("not a regular file: {}", path.display()),
        ));
    }
    Ok(f)
}

/// UIDVALIDITY of a file without messages: its mtime in seconds (see the
/// module doc, which explains why this survives the first append).
pub(crate) fn empty_validity(m: &std::fs::Metadata) -> u32 {
    m.mtime().clamp(1, i64::from(u32::MAX)) as u32
}

/// Build the index (UIDs, keywords) from a scan; see the module doc.
pub(crate) fn build_index(
    mut entries: Vec<RawEntry>,
    preamble_end: u64,
    empty_validity: u32,
) -> Index {
    let first = entries.first().map(|e| e.meta.clone()).unwrap_or_default();
    if first.pseudo {
        entries.remove(0);
    }
    let (mut validity, base_next) = match first.base {
        Some(b) => b,
        None => (
            entries
                .first()
                .map_or(empty_validity, |e| {
                    e.date.0.clamp(1, i64::from(u32::MAX)) as u32
                }),
            1,
        ),
    };
    if validity == 0 {
        validity = 1;
    }
    let mut keywords = first.base_keywords.clone();
    let mut uids = Vec::with_capacity(entries.len());
    let mut prev = 0u32;
    let mut counter = base_next.saturating_sub(1);
    let mut broken = false;
    for e in &entries {
        let uid = match e.meta.uid {
            Some(u) if u > prev => u,
            Some(_) => {
                broken = true;
                break;
            }
            None => counter.saturating_add(1),
        };
        if uid == u32::MAX {
            broken = true;
            break;
        }
        counter = counter.max(uid);
        prev = uid;
        uids.push(uid);
    }
    if broken {
        validity = validity.wrapping_add(1).max(1);
        uids = (1..=entries.len() as u32).collect();
        counter = entries.len() as u32;
    }
    let mut msgs = Vec::with_capacity(entries.len());
    let mut locs = Vec::with_capacity(entries.len());
    for (n, (e, uid)) in entries.into_iter().zip(uids).enumerate() {
        let explicit = !broken && e.meta.uid == Some(uid);
        let msg = Message {
            uid,
            flags: e.meta.flags,
            keywords: if e.meta.keywords.is_empty() {
                Vec::new()
            } else {
                keyword_indexes(&mut keywords, &e.meta.keywords)
            },
            recent: !e.meta.old,
            internal_date: e.date,
            size: e.size,
        };
        let loc = Loc {
            from_start: e.from_start,
            hdr_start: e.hdr_start,
            body_start: e.body_start,
            end: e.end,
            region: if broken { None } else { e.meta_region },
            region_has_base: n == 0 && !first.pseudo && first.base.is_some(),
            explicit_uid: explicit,
            old: e.meta.old,
            dirty: false,
            gone: false,
        };
        msgs.push(msg);
        locs.push(loc);
    }
    Index {
        uid_validity: validity,
        uid_next: counter.saturating_add(1),
        keywords,
        preamble_end,
        msgs,
        locs,
    }
}

/// Index of each of `names` in `all` (added if missing), in `names` order.
fn keyword_indexes_unsorted(all: &mut Vec<String>, names: &[String]) -> Vec<u16> {
    names
        .iter()
        .map(|n| {
            let i = all.iter().position(|k| k == n).unwrap_or_else(|| {
                all.push(n.clone());
                all.len() - 1
            });
            u16::try_from(i).unwrap_or(u16::MAX)
        })
        .collect()
}

fn keyword_indexes(all: &mut Vec<String>, names: &[String]) -> Vec<u16> {
    let mut v = Vec::with_capacity(names.len());
    for n in names {
        let i = match all.iter().position(|k| k == n) {
            Some(i) => i,
            None => {
                all.push(n.clone());
                all.len() - 1
            }
        };
        if let Ok(i) = u16::try_from(i) {
            if !v.contains(&i) {
                v.push(i);
            }
        }
    }
    v.sort_unstable();
    v
}

impl Mailbox {
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<Mailbox, StoreError> {
        let session = if opts.exclusive_session {
            Some(lock::session_lock(path)?)
        } else {
            None
        };
        let file = open_file(path, opts.read_only, opts.create)?;
        let mut mb = Mailbox {
            path: path.to_path_buf(),
            file,
            read_only: opts.read_only,
            stamp: Stamp::default(),
            preamble_end: 0,
            msgs: Vec::new(),
            locs: Vec::new(),
            unreported: Vec::new(),
            flag_changed: Vec::new(),
            validity_changed: false,
            keywords: Vec::new(),
            uid_validity: 0,
            uid_next: 1,
            _session: session,
            seen: None,
            verified: Instant::now(),
            region_rereads: 0,
            rewrite_reads: Default::default(),
            flag_base: HashMap::new(),
            old_only: Default::default(),
        };
        {
            let _l = mb.lock(false)?;
            mb.refresh_locked()?;
        }
        mb.validity_changed = false;
        mb.flag_changed.clear();
        mb.msgs.extend(mb.unreported.iter().map(|(m, _)| m.clone()));
        mb.locs.extend(mb.unreported.drain(..).map(|(_, l)| l));
        Ok(mb)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }
    pub fn uid_next(&self) -> u32 {
        self.uid_next
    }
    pub fn len(&self) -> usize {
        self.msgs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn messages(&self) -> &[Message] {
        &self.msgs
    }
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }
    /// Every message already has a UID (implicit UIDs, see module doc);
    /// they are written at the next full rewrite. Kept for the callers.
    pub fn assign_uids(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Take the dot-lock and an OFD lock, making sure our descriptor is
    /// still the file at `path` (another process may have renamed a new
    /// file into place); reopens and rescans if not.
    fn lock(&mut self, write: bool) -> Result<lock::Locked, StoreError> {
        for _ in 0..5 {
            let dup = self
                .file
                .try_clone()
                .map_err(|e| io_error("dup", &self.path, e))?;
            let l = lock::Locked::take(&self.path, dup, write)?;
            let pm = std::fs::metadata(&self.path).map_err(|e| io_error("stat", &self.path, e))?;
            let fm = self
                .file
                .metadata()
                .map_err(|e| io_error("fstat", &self.path, e))?;
            if pm.ino() == fm.ino() && pm.dev() == fm.dev() {
                return Ok(l);
            }
            drop(l);
            self.file = open_file(&self.path, self.read_only, false)?;
            self.stamp = Stamp::default();
        }
        Err(StoreError::new(
            ErrorKind::LockTimeout,
            format!("file keeps being replaced: {}", self.path.display()),
        ))
    }

    /// Bring the index up to date with the file; caller holds the lock.
    fn refresh_locked(&mut self) -> Result<(), StoreError> {
        let fm = self
            .file
            .metadata()
            .map_err(|e| io_error("fstat", &self.path, e))?;
        let st = Stamp::of(&fm);
        if st == self.stamp {
            return Ok(());
        }
        let old = self.stamp;
        let grown = old.ino == st.ino && old.dev == st.dev && st.size > old.size && old.size > 0;
        if grown && self.try_tail(old.size, st.size)? {
            self.stamp = st;
            if !self.pure_append(old.size) || self.verified.elapsed() >= VERIFY_EVERY {
                self.reread_regions()?;
            }
            self.remember_file_state();
            return Ok(());
        }
        let sc =
            scan::scan_file(&self.file, 0, st.size).map_err(|e| io_error("read", &self.path, e))?;
        let pre = sc.preamble_end.unwrap_or(0);
        let idx = build_index(sc.entries, pre, empty_validity(&fm));
        self.apply_index(idx);
        self.stamp = st;
        self.verified = Instant::now();
        self.remember_file_state();
        Ok(())
    }

    /// Hash of the first and last 64 KiB of the file's first `size` bytes.
    fn sample_hash(&self, size: u64) -> io::Result<u64> {
        const N: u64 = 64 * 1024;
        let mut h: u64 = 0xcbf29ce484222325;
        let mut buf = vec![0u8; N.min(size) as usize];
        for start in [0, size.saturating_sub(N)] {
            self.file.read_exact_at(&mut buf, start)?;
            for &b in &buf {
                // Digits do not count: our own appends bump X-IMAPbase's
                // last UID in place (append.rs, step 2).
                let b = if b.is_ascii_digit() { b'0' } else { b };
                h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
            }
        }
        Ok(h ^ size)
    }

    /// Note the counter and samples of the file as it is now (we hold the
    /// lock and our index matches it).
    pub(crate) fn remember_file_state(&mut self) {
        let size = self.stamp.size;
        self.seen = self.sample_hash(size).ok().map(|hash| FileState {
            size,
            seq: rewrite::read_flag_seq(&self.file),
            hash,
        });
    }

    /// Only appends since our last look, as far as cheap checks can tell
    /// (see module doc).
    fn pure_append(&self, old_size: u64) -> bool {
        let s = match self.seen {
            Some(s) if s.size == old_size && s.seq.is_some() => s,
            _ => return false,
        };
        s.seq == rewrite::read_flag_seq(&self.file)
            && self.sample_hash(old_size).ok() == Some(s.hash)
    }

    /// Scan only what was appended since `old_size`. false: fall back to a
    /// full scan.
    fn try_tail(&mut self, old_size: u64, size: u64) -> Result<bool, StoreError> {
        let last = self
            .file_order()
            .last()
            .map(|l| (l.from_start, l.hdr_start));
        let start = match last {
            Some((s, _)) => s,
            None => return Ok(false),
        };
        let mut check = [0u8; 5];
        self.file
            .read_exact_at(&mut check, start)
            .map_err(|e| io_error("read", &self.path, e))?;
        if &check != b"From " || start >= old_size {
            return Ok(false);
        }
        let sc = scan::scan_file(&self.file, start, size)
            .map_err(|e| io_error("read", &self.path, e))?;
        let mut it = sc.entries.into_iter();
        match it.next() {
            Some(e) if e.from_start == start => {
                // The old last message, maybe with its separator now.
                let loc = self.last_file_loc_mut();
                if let Some((loc, msg)) = loc {
                    loc.end = e.end;
                    loc.body_start = e.body_start;
                    msg.size = e.size;
                }
            }
            _ => return Ok(false),
        }
        let mut last_uid = self
            .msgs
            .iter()
            .chain(self.unreported.iter().map(|(m, _)| m))
            .map(|m| m.uid)
            .max()
            .unwrap_or(0);
        let mut counter = self.uid_next.saturating_sub(1).max(last_uid);
        for e in it {
            let uid = match e.meta.uid {
                Some(u) if u > last_uid => u,
                Some(_) => return Ok(false),
                None => counter.saturating_add(1),
            };
            counter = counter.max(uid);
            last_uid = uid;
            let kw = keyword_indexes(&mut self.keywords, &e.meta.keywords);
            let msg = Message {
                uid,
                flags: e.meta.flags,
                keywords: kw,
                recent: !e.meta.old,
                internal_date: e.date,
                size: e.size,
            };
            let loc = Loc {
                from_start: e.from_start,
                hdr_start: e.hdr_start,
                body_start: e.body_start,
                end: e.end,
                region: e.meta_region,
                region_has_base: false,
                explicit_uid: e.meta.uid == Some(uid),
                old: e.meta.old,
                dirty: false,
                gone: false,
            };
            self.unreported.push((msg, loc));
        }
        self.uid_next = self.uid_next.max(counter.saturating_add(1));
        Ok(true)
    }

    /// Flags another process may have written in place since our last
    /// look (in-place writes touch only metadata regions, so reading those
    /// is enough; used when the file also grew and no full scan ran).
    fn reread_regions(&mut self) -> Result<(), StoreError> {
        self.region_rereads += 1;
        self.verified = Instant::now();
        let mut buf = Vec::new();
        for i in 0..self.msgs.len() {
            let l = &self.locs[i];
            let merging = l.dirty && self.flag_base.contains_key(&self.msgs[i].uid);
            let (s, e) = match l.region {
                Some(r) if !l.gone && (!l.dirty || merging) => r,
                _ => continue,
            };
            buf.resize((e - s) as usize, 0);
            self.file
                .read_exact_at(&mut buf, s)
                .map_err(|e| io_error("read", &self.path, e))?;
            let mut meta = headers::Meta::default();
            let mut field = None;
            for line in buf.split_inclusive(|&c| c == b'\n') {
                let cont = matches!(line.first(), Some(b' ') | Some(b'\t'));
                if !cont {
                    field = headers::hidden_field(line);
                }
                if let Some(f) = field {
                    meta.apply(f, line, cont, false);
                }
            }
            let kw = keyword_indexes(&mut self.keywords, &meta.keywords);
            if merging {
                self.merge_into(i, meta.flags, kw);
                continue;
            }
            let m = &mut self.msgs[i];
            if m.flags != meta.flags || m.keywords != kw {
                m.flags = meta.flags;
                m.keywords = kw;
                self.flag_changed.push(m.uid);
            }
        }
        Ok(())
    }

    fn last_file_loc_mut(&mut self) -> Option<(&mut Loc, &mut Message)> {
        if let Some((m, l)) = self.unreported.last_mut() {
            return Some((l, m));
        }
        let i = self.locs.iter().rposition(|l| !l.gone)?;
        Some((&mut self.locs[i], &mut self.msgs[i]))
    }

    /// Locations of every message in the file (view, then unreported).
    fn file_order(&self) -> Vec<&Loc> {
        self.locs
            .iter()
            .filter(|l| !l.gone)
            .chain(self.unreported.iter().map(|(_, l)| l))
            .collect()
    }

    /// Map a fresh index onto the view by UID.
    fn apply_index(&mut self, mut idx: Index) {
        self.preamble_end = idx.preamble_end;
        let trans: Vec<u16> = keyword_indexes_unsorted(&mut self.keywords, &idx.keywords);
        if trans.iter().enumerate().any(|(i, &t)| usize::from(t) != i) {
            for m in &mut idx.msgs {
                for k in &mut m.keywords {
                    *k = trans.get(usize::from(*k)).copied().unwrap_or(*k);
                }
                m.keywords.sort_unstable();
            }
        }
        if self.uid_validity == 0 && self.msgs.is_empty() && self.unreported.is_empty() {
            // First scan: the index becomes the view without copying.
            self.uid_validity = idx.uid_validity;
            self.uid_next = idx.uid_next;
            self.msgs = idx.msgs;
            self.locs = idx.locs;
            return;
        }
        if idx.uid_validity != self.uid_validity {
            if self.uid_validity != 0 {
                self.validity_changed = true;
            }
            self.uid_validity = idx.uid_validity;
            for l in &mut self.locs {
                l.gone = true;
            }
            self.unreported.clear();
            self.uid_next = idx.uid_next;
            self.unreported.extend(idx.msgs.into_iter().zip(idx.locs));
            return;
        }
        let mut by_uid: HashMap<u32, usize> = HashMap::with_capacity(self.msgs.len());
        for (i, m) in self.msgs.iter().enumerate() {
            by_uid.insert(m.uid, i);
        }
        let mut seen = vec![false; self.msgs.len()];
        let old_unrep: HashMap<u32, Message> =
            self.unreported.drain(..).map(|(m, _)| (m.uid, m)).collect();
        for (mut m, l) in idx.msgs.into_iter().zip(idx.locs) {
            match by_uid.get(&m.uid) {
                Some(&i) => {
                    seen[i] = true;
                    let dirty = self.locs[i].dirty;
                    if dirty && self.flag_base.contains_key(&m.uid) {
                        self.merge_into(i, m.flags, m.keywords.clone());
                    }
                    let mine = &mut self.msgs[i];
                    if !dirty && (mine.flags != m.flags || mine.keywords != m.keywords) {
                        mine.flags = m.flags;
                        mine.keywords = m.keywords;
                        self.flag_changed.push(m.uid);
                    }
                    mine.size = m.size;
                    self.locs[i] = Loc {
                        dirty,
                        gone: false,
                        ..l
                    };
                }
                _ => {
                    if let Some(um) = old_unrep.get(&m.uid) {
                        m.recent = um.recent;
                    }
                    self.unreported.push((m, l));
                }
            }
        }
        for (i, s) in seen.iter().enumerate() {
            if !s {
                self.locs[i].gone = true;
            }
        }
        self.uid_next = self.uid_next.max(idx.uid_next);
    }

    /// Raw bytes `[start, end)` of the current file.
    fn read_range(&self, start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
        let mut buf = vec![0u8; (end - start) as usize];
        self.file
            .read_exact_at(&mut buf, start)
            .map_err(|e| io_error("read", &self.path, e))?;
        Ok(buf)
    }

    /// Runs `f` on the raw bytes `[start, end)`, read with one pread into
    /// a buffer kept between calls: FETCH 1:* and SEARCH read every
    /// message, and a fresh zeroed buffer each time cost a page-faulting
    /// allocation per large message.
    fn with_range<T>(&self, start: u64, end: u64, f: impl FnOnce(&[u8]) -> T) -> Result<T, StoreError> {
        // Buffers above this are given back after use, so one huge message
        // does not hold the session's memory for the rest of it.
        const KEEP: usize = 1 << 20;
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let len = (end.saturating_sub(start)) as usize;
        BUF.with(|cell| {
            // A nested call (none today) gets its own buffer rather than a panic.
            let mut own = Vec::new();
            let mut guard = cell.try_borrow_mut().ok();
            let buf = match guard.as_deref_mut() {
                Some(b) => b,
                None => &mut own,
            };
            buf.clear();
            buf.resize(len, 0);
            let r = self.file.read_exact_at(buf, start);
            let out = r.map(|()| f(buf)).map_err(|e| io_error("read", &self.path, e));
            if buf.capacity() > KEEP {
                *buf = Vec::new();
            }
            out
        })
    }

    fn loc(&self, i: usize) -> Result<&Loc, StoreError> {
        match self.locs.get(i) {
            Some(l) if !l.gone => Ok(l),
            Some(_) => Err(StoreError::new(
                ErrorKind::NotFound,
                format!("message {i} expunged by another session"),
            )),
            None => Err(StoreError::new(
                ErrorKind::NotFound,
                format!("no message {i}"),
            )),
        }
    }

    /// Client view of message `i` (hidden headers removed, CRLF line ends,
    /// mboxrd quoting undone) appended to `out`.
    pub fn read_message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
        let l = self.loc(i)?;
        let (h, b, e) = (l.hdr_start, l.body_start, l.end);
        self.with_range(h, e, |data| client_view(data, (b - h) as usize, false, out))
    }

    /// The envelope sender on message `i`'s From_ line (for copying a
    /// message to another mbox unchanged, e.g. RENAME of INBOX).
    pub fn envelope_sender(&mut self, i: usize) -> Result<String, StoreError> {
        let l = self.loc(i)?;
        let (s, h) = (l.from_start, l.hdr_start.min(l.from_start + 1024));
        let line = self.read_range(s, h)?;
        Ok(line
            .strip_prefix(b"From ")
            .and_then(|r| r.split(|&c| c == b' ').next())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .unwrap_or_default())
    }

    /// Client view of the header only (up to and including the blank line).
    pub fn read_header(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
        let l = self.loc(i)?;
        let (h, b) = (l.hdr_start, l.body_start);
        self.with_range(h, b, |data| client_view(data, data.len(), true, out))
    }

    /// Change flags/keywords in memory; written by [`Mailbox::write_back`],
    /// merged with changes another process wrote to the same message since
    /// (only what this call added or removed is applied; see [`merge_flags`]).
    pub fn set_flags(&mut self, i: usize, flags: Flags, keywords: &[String]) {
        self.set_flags_mode(i, flags, keywords, false);
    }

    /// Like [`Mailbox::set_flags`], but written exactly as given, even if
    /// equal to what this view holds (the caller computed them from a
    /// fresher look at the file, e.g. IMAP STORE +FLAGS/-FLAGS).
    pub fn set_flags_exact(&mut self, i: usize, flags: Flags, keywords: &[String]) {
        self.set_flags_mode(i, flags, keywords, true);
    }

    fn set_flags_mode(&mut self, i: usize, flags: Flags, keywords: &[String], exact: bool) {
        let kws: Vec<String> = keywords
            .iter()
            .filter(|k| headers::valid_keyword(k.as_bytes()))
            .cloned()
            .collect();
        let kw = keyword_indexes(&mut self.keywords, &kws);
        if let (Some(m), Some(l)) = (self.msgs.get_mut(i), self.locs.get_mut(i)) {
            if exact || m.flags != flags || m.keywords != kw {
                if exact {
                    self.flag_base.remove(&m.uid);
                } else if !l.dirty || self.old_only.contains(&m.uid) {
                    self.flag_base
                        .insert(m.uid, (m.flags, m.keywords.clone()));
                }
                self.old_only.remove(&m.uid);
                m.flags = flags;
                m.keywords = kw;
                l.dirty = true;
            }
        }
    }

    /// Take `\Recent` from message `i` for later sessions: `Status: O` is
    /// written at the next [`Mailbox::write_back`], flags untouched. Only
    /// in place: if the metadata region cannot take the letter without a
    /// whole-file rewrite (or the message has none, as an MDA wrote it),
    /// nothing is written and the message stays recent for others.
    /// Returns false when the message has no metadata block at all (so the
    /// `O` could only come with a rewrite, which the caller may choose to
    /// pay for with [`Mailbox::set_flags_exact`]).
    pub fn mark_old(&mut self, i: usize) -> bool {
        if let (Some(m), Some(l)) = (self.msgs.get(i), self.locs.get_mut(i)) {
            if l.old || l.dirty || l.gone {
                return true;
            }
            if l.region.is_none() {
                return false;
            }
            l.dirty = true;
            self.old_only.insert(m.uid);
            self.flag_base
                .insert(m.uid, (m.flags, m.keywords.clone()));
        }
        true
    }

    /// Apply our change of message `i` onto flags another process wrote.
    fn merge_into(&mut self, i: usize, file_flags: Flags, file_kw: Vec<u16>) {
        let uid = self.msgs[i].uid;
        let Some((bf, bk)) = self.flag_base.get(&uid) else {
            return;
        };
        if *bf == file_flags && *bk == file_kw {
            return;
        }
        let m = &self.msgs[i];
        let merged = merge_flags((file_flags, &file_kw), (*bf, bk), (m.flags, &m.keywords));
        self.flag_base.insert(uid, (file_flags, file_kw));
        let m = &mut self.msgs[i];
        if (m.flags, &m.keywords) != (merged.0, &merged.1) {
            m.flags = merged.0;
            m.keywords = merged.1;
            self.flag_changed.push(uid);
        }
    }

    /// Remove messages `idx` (ascending) and write back all pending flag
    /// changes, crash-safely.
    pub fn expunge(&mut self, idx: &[usize]) -> Result<(), StoreError> {
        if idx.is_empty() {
            return self.write_back();
        }
        if self.read_only {
            return Err(StoreError::new(
                ErrorKind::Permission,
                "mailbox is read-only",
            ));
        }
        let drop: std::collections::HashSet<u32> = idx
            .iter()
            .filter_map(|&i| self.msgs.get(i))
            .map(|m| m.uid)
            .collect();
        let _l = self.lock(true)?;
        self.refresh_locked()?;
        rewrite::rewrite(self, &drop)?;
        self.flag_base.clear();
        self.old_only.clear();
        let mut keep = Vec::with_capacity(self.msgs.len());
        for (m, l) in self.msgs.drain(..).zip(self.locs.drain(..)) {
            if !drop.contains(&m.uid) {
                keep.push((m, l));
            }
        }
        for (m, l) in keep {
            self.msgs.push(m);
            self.locs.push(l);
        }
        Ok(())
    }

    /// Write pending flag/UID changes back to the file.
    pub fn write_back(&mut self) -> Result<(), StoreError> {
        if !self.locs.iter().any(|l| l.dirty && !l.gone) {
            return Ok(());
        }
        if self.read_only {
            return Err(StoreError::new(
                ErrorKind::Permission,
                "mailbox is read-only",
            ));
        }
        let _l = self.lock(true)?;
        self.refresh_locked()?;
        if !rewrite::write_flags_in_place(self)? {
            // `Status: O` alone never justifies rewriting the whole file.
            if !self.old_only.is_empty() {
                for (m, l) in self.msgs.iter().zip(self.locs.iter_mut()) {
                    if self.old_only.contains(&m.uid) {
                        l.dirty = false;
                    }
                }
                self.old_only.clear();
                if !self.locs.iter().any(|l| l.dirty && !l.gone)
                    || rewrite::write_flags_in_place(self)?
                {
                    self.flag_base.clear();
                    return Ok(());
                }
            }
            rewrite::rewrite(self, &Default::default())?;
        }
        self.flag_base.clear();
        self.old_only.clear();
        Ok(())
    }

    /// Notice appends, expunges and flag changes made by other processes.
    pub fn sync(&mut self) -> Result<Changes, StoreError> {
        let changed = match (std::fs::metadata(&self.path), self.file.metadata()) {
            (Ok(p), Ok(f)) => {
                p.ino() != f.ino() || p.dev() != f.dev() || Stamp::of(&f) != self.stamp
            }
            (Err(e), _) | (_, Err(e)) => return Err(io_error("stat", &self.path, e)),
        };
        if changed {
            let _l = self.lock(false)?;
            self.refresh_locked()?;
        }
        let mut ch = Changes {
            uid_validity_changed: std::mem::take(&mut self.validity_changed),
            ..Changes::default()
        };
        if self.locs.iter().any(|l| l.gone) {
            let mut msgs = Vec::with_capacity(self.msgs.len());
            let mut locs = Vec::with_capacity(self.msgs.len());
            for (i, (m, l)) in self.msgs.drain(..).zip(self.locs.drain(..)).enumerate() {
                if l.gone {
                    ch.expunged.push(i);
                } else {
                    msgs.push(m);
                    locs.push(l);
                }
            }
            self.msgs = msgs;
            self.locs = locs;
        }
        if !self.flag_changed.is_empty() {
            let set: std::collections::HashSet<u32> = self.flag_changed.drain(..).collect();
            ch.flags_changed = self
                .msgs
                .iter()
                .enumerate()
                .filter(|(_, m)| set.contains(&m.uid))
                .map(|(i, _)| i)
                .collect();
        }
        ch.new = self.unreported.len();
        for (m, l) in self.unreported.drain(..) {
            self.msgs.push(m);
            self.locs.push(l);
        }
        Ok(ch)
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

/// The client view of raw message bytes: metadata headers (and their
/// continuation lines) dropped from the header part, one `>` removed from
/// body lines matching `^>+From `, bare LF turned into CRLF.
pub(crate) fn client_view(data: &[u8], body_off: usize, header_only: bool, out: &mut Vec<u8>) {
    let body_off = body_off.min(data.len());
    out.reserve(data.len() + data.len() / 32);
    let mut hidden = false;
    for line in data[..body_off].split_inclusive(|&c| c == b'\n') {
        let cont = matches!(line.first(), Some(b' ') | Some(b'\t'));
        if !cont {
            hidden = line != b"\n" && line != b"\r\n" && headers::hidden_field(line).is_some();
        }
        if !hidden {
            push_crlf(line, out);
        }
    }
    if !header_only {
        body_view(&data[body_off..], out);
    }
}

/// The body part of [`client_view`]: copies runs between line ends in one
/// piece (memchr finds the LFs) instead of line by line, since the body is
/// nearly all of a message's bytes.
fn body_view(body: &[u8], out: &mut Vec<u8>) {
    // `copied`: body[..copied] is in `out`; `start`: where the current line begins.
    let mut copied = 0;
    let mut start = 0;
    loop {
        if body.get(start) == Some(&b'>') {
            let end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |n| start + n + 1);
            if scan::is_quoted_from(&body[start..end]) {
                out.extend_from_slice(&body[copied..start]);
                copied = start + 1;
            }
        }
        let Some(n) = memchr::memchr(b'\n', &body[start..]) else {
            break;
        };
        let lf = start + n;
        if lf == start || body[lf - 1] != b'\r' {
            out.extend_from_slice(&body[copied..lf]);
            out.extend_from_slice(b"\r\n");
            copied = lf + 1;
        }
        start = lf + 1;
    }
    out.extend_from_slice(&body[copied..]);
}

fn push_crlf(line: &[u8], out: &mut Vec<u8>) {
    match line.strip_suffix(b"\n") {
        Some(l) if !l.ends_with(b"\r") => {
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        _ => out.extend_from_slice(line),
    }
}

#[cfg(test)]
mod tests;
