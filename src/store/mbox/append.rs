//! Append new messages to an mbox (smtpd delivery, IMAP APPEND/COPY),
//! all or nothing.
//!
//! Under both locks (and after checking that the descriptor is still the
//! file at the path, since a rewrite may have renamed a new file there):
//! 1. Find the UIDs the new messages get, without reading the whole file:
//!    UIDVALIDITY/UIDNEXT from the first message's header, then backwards
//!    from the end to the last message carrying `X-UID:`, counting messages
//!    without one (they hold implicit UIDs, see `mod.rs`).
//! 2. Bump the zero-padded last UID of `X-IMAPbase:` in place (UW and
//!    Dovecot distrust an X-UID above it). A crash after this step only
//!    skips UIDs.
//! 3. Write the messages after the old end: From_ line (envelope sender,
//!    date in UTC), header with our metadata fields renamed if the sender
//!    put them there, `Status`/`X-Status`/`X-Keywords` (padded)/`X-UID`,
//!    body with CRLF turned into LF and `^>*From ` quoted (mboxrd), blank
//!    separator line. An empty mailbox gets X-IMAPbase in the first one,
//!    holding the UIDVALIDITY readers derived from the empty file (its
//!    mtime, stat'ed under the lock before writing; see `mod.rs`).
//! 4. `fsync` before success. On any failure (ENOSPC, EFBIG) the file is
//!    truncated back to its old size and fsynced. Against kill -9 and power
//!    loss, the old and new sizes are recorded (fsynced) in the dot-lock
//!    before step 2 and cleared (fsynced) after step 4; whoever takes over
//!    the stale lock of a crashed appender truncates the partial message
//!    away before anything else (`lock.rs`, "Appends are all or nothing").
//!    The record carries a checksum of `out`, so clearing it afterwards
//!    needs no fsync: a lost clearing finds the message whole and keeps it.
//!    Bytes that were in the file before are never touched.
//! 5. [`append_with_receipt`] returns what it measured under the lock
//!    ([`AppendReceipt`]); [`undo_append`] takes the append back later (an
//!    all-or-nothing delivery whose other half failed), but only while the
//!    file is provably untouched since: same inode, size still the
//!    receipt's new size, both checked under both locks. Anything else
//!    means someone else's bytes may follow ours, so it refuses and leaves
//!    the file alone (a duplicate, never a loss). It also lowers the
//!    X-IMAPbase UIDNEXT it had bumped when the digits are still ours, so
//!    the undone UIDs are not skipped.

use super::headers::{self, Render, PAD};
use super::scan::{self, parse_from_line};
use super::{io_error, lock, NewMessage};
use crate::store::{ErrorKind, StoreError};
use memchr::memmem;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// What an append measured under the lock, enough to undo it safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReceipt {
    pub dev: u64,
    pub ino: u64,
    pub old_size: u64,
    pub new_size: u64,
    pub uidvalidity: u32,
    pub uids: Vec<u32>,
    /// Offset of the zero-padded X-IMAPbase UIDNEXT digits we rewrote and
    /// the value they held before (`None`: not touched).
    pub base_field: Option<(u64, u32)>,
}

/// Append messages to the mbox at `path` under its locks, all or nothing,
/// fsynced before returning. Returns (uidvalidity, uids) for UIDPLUS.
pub fn append(path: &Path, msgs: &[NewMessage<'_>]) -> Result<(u32, Vec<u32>), StoreError> {
    append_with_receipt(path, msgs).map(|r| (r.uidvalidity, r.uids))
}

/// Open `path` read-write (never through a symlink, creating it 0600 if
/// `create`) and take both locks, retrying while a rewrite renames a new
/// file there.
fn open_locked(path: &Path, create: bool) -> Result<(File, lock::Locked), StoreError> {
    for _ in 0..5 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| io_error("open", path, e))?;
        let fm = file.metadata().map_err(|e| io_error("fstat", path, e))?;
        if !fm.file_type().is_file() {
            return Err(StoreError::new(
                ErrorKind::Corrupt,
                format!("not a regular file: {}", path.display()),
            ));
        }
        let dup = file.try_clone().map_err(|e| io_error("dup", path, e))?;
        let l = lock::Locked::take(path, dup, true)?;
        let pm = std::fs::metadata(path).map_err(|e| io_error("stat", path, e))?;
        if pm.ino() != fm.ino() || pm.dev() != fm.dev() {
            continue;
        }
        return Ok((file, l));
    }
    Err(StoreError::new(
        ErrorKind::LockTimeout,
        format!("file keeps being replaced: {}", path.display()),
    ))
}

/// Take back the append `r` describes, under both locks, only if the file
/// at `path` is still that inode and exactly `r.new_size` long (see module
/// doc, step 5). Refusing leaves every byte in place and returns `Err`.
pub fn undo_append(path: &Path, r: &AppendReceipt) -> Result<(), StoreError> {
    let (file, _l) = open_locked(path, false)?;
    let m = file.metadata().map_err(|e| io_error("fstat", path, e))?;
    if m.dev() != r.dev || m.ino() != r.ino || m.len() != r.new_size || r.old_size > r.new_size {
        log::warn!(
            "undo append refused path={} size={} expected={} ino={} expected_ino={}",
            path.display(),
            m.len(),
            r.new_size,
            m.ino(),
            r.ino
        );
        return Err(StoreError::new(
            ErrorKind::Io,
            format!(
                "mailbox changed since the append, left alone: {}",
                path.display()
            ),
        ));
    }
    // Truncate and make it durable before lowering UIDNEXT: a crash in
    // between only skips UIDs, never reuses one still in the file.
    file.set_len(r.old_size)
        .and_then(|_| file.sync_all())
        .map_err(|e| io_error("truncate", path, e))?;
    if let (Some((off, before)), Some(&last)) = (r.base_field, r.uids.last()) {
        let ours = format!("{last:010}");
        let mut cur = [0u8; 10];
        if off + 10 <= r.old_size
            && file.read_exact_at(&mut cur, off).is_ok()
            && cur == ours.as_bytes()
        {
            let back = format!("{before:010}");
            if back.len() == 10 {
                let _ = file
                    .write_all_at(back.as_bytes(), off)
                    .and_then(|_| file.sync_data());
            }
        }
    }
    Ok(())
}

/// [`append`], returning the [`AppendReceipt`] that [`undo_append`] needs.
pub fn append_with_receipt(
    path: &Path,
    msgs: &[NewMessage<'_>],
) -> Result<AppendReceipt, StoreError> {
    super::rewrite::ignore_sigxfsz();
    let (file, mut l) = open_locked(path, true)?;
    append_locked(path, &file, &mut l, msgs)
}

/// What the file says about UIDs: (uidvalidity, uidnext, X-IMAPbase
/// uidnext digits offset if zero-padded to 10, file has messages).
struct UidState {
    validity: u32,
    next: u32,
    base_field: Option<u64>,
    has_messages: bool,
}

fn uid_state(file: &File, size: u64) -> std::io::Result<UidState> {
    // Only the first (real) message's header matters: a short read
    // usually holds it and the start of the next two, which proves the
    // header complete; otherwise as far as 256 KB, as before.
    let mut sc = scan::scan_file(file, 0, size.min(16 * 1024))?;
    if size > 16 * 1024 && sc.entries.len() < 3 {
        sc = scan::scan_file(file, 0, size.min(256 * 1024))?;
    }
    let first = match sc.entries.first() {
        Some(e) => e.clone(),
        None => {
            return Ok(UidState {
                validity: super::empty_validity(&file.metadata()?),
                next: 1,
                base_field: None,
                has_messages: false,
            })
        }
    };
    let pseudo = first.meta.pseudo;
    let real_first = if pseudo {
        sc.entries.get(1).map(|e| e.from_start)
    } else {
        Some(first.from_start)
    };
    let (validity, base_next) = match first.meta.base {
        Some(b) => b,
        None => (first.date.0.clamp(1, i64::from(u32::MAX)) as u32, 1),
    };
    // Where the uidnext digits of X-IMAPbase / X-IMAP are.
    let mut base_field = None;
    if first.meta.base.is_some() {
        let mut hdr = vec![0u8; (first.body_start - first.hdr_start).min(64 * 1024) as usize];
        file.read_exact_at(&mut hdr, first.hdr_start)?;
        let name: &[u8] = if pseudo { b"X-IMAP: " } else { b"X-IMAPbase: " };
        let at = if hdr.starts_with(name) {
            Some(0)
        } else {
            memmem::find(&hdr, &[b"\n", name].concat()).map(|i| i + 1)
        };
        if let Some(i) = at {
            let v = &hdr[i + name.len()..];
            let sp = v.iter().position(|&c| c == b' ');
            if let Some(sp) = sp {
                let digits = &v[sp + 1..];
                if digits.len() >= 10
                    && digits[..10].iter().all(u8::is_ascii_digit)
                    && digits.get(10).is_none_or(|c| !c.is_ascii_digit())
                {
                    base_field = Some(first.hdr_start + (i + name.len() + sp + 1) as u64);
                }
            }
        }
    }
    // Backwards to the last message with an X-UID.
    let floor = match real_first {
        Some(f) => f,
        None => {
            return Ok(UidState {
                validity,
                next: base_next,
                base_field,
                has_messages: true,
            })
        }
    };
    let mut pos = size;
    let mut implicit = 0u32;
    let mut found = None;
    while let Some(s) = prev_from(file, pos, floor, size)? {
        let e = scan::scan_file(file, s, size.min(s + 64 * 1024))?;
        match e.entries.first().and_then(|e| e.meta.uid) {
            Some(u) => {
                found = Some(u);
                break;
            }
            None => implicit += 1,
        }
        if s <= floor {
            break;
        }
        pos = s;
    }
    let counter = base_next.saturating_sub(1).max(found.unwrap_or(0));
    Ok(UidState {
        validity,
        next: counter.saturating_add(implicit).saturating_add(1),
        base_field,
        has_messages: true,
    })
}

/// Offset of the last valid From_ line starting in `[floor, pos)`.
fn prev_from(file: &File, pos: u64, floor: u64, size: u64) -> std::io::Result<Option<u64>> {
    const STEP: u64 = 64 * 1024;
    let mut hi = pos;
    let finder = memmem::FinderRev::new(b"\nFrom ");
    while hi > floor {
        let lo = hi.saturating_sub(STEP).max(floor);
        let read_end = (hi + 4096).min(size);
        let mut buf = vec![0u8; (read_end - lo) as usize];
        file.read_exact_at(&mut buf, lo)?;
        let limit = (hi - lo) as usize;
        for i in finder.rfind_iter(&buf[..limit.min(buf.len())]) {
            let s = lo + i as u64 + 1;
            if s >= pos {
                continue;
            }
            let line = &buf[i + 1..];
            let line = match memchr::memchr(b'\n', line) {
                Some(n) => &line[..n + 1],
                None => line,
            };
            if parse_from_line(line).is_some() {
                return Ok(Some(s));
            }
        }
        if lo == floor {
            if buf.starts_with(b"From ") {
                let line = match memchr::memchr(b'\n', &buf) {
                    Some(n) => &buf[..n + 1],
                    None => &buf[..],
                };
                if parse_from_line(line).is_some() && lo < pos {
                    return Ok(Some(lo));
                }
            }
            break;
        }
        hi = lo + 6;
    }
    Ok(None)
}

fn append_locked(
    path: &Path,
    file: &File,
    lock: &mut lock::Locked,
    msgs: &[NewMessage<'_>],
) -> Result<AppendReceipt, StoreError> {
    let fm = file.metadata().map_err(|e| io_error("fstat", path, e))?;
    let size = fm.len();
    let st = uid_state(file, size).map_err(|e| io_error("read", path, e))?;
    // A file without messages: the value readers derive from it (mod.rs).
    let validity = st.validity;
    let uids: Vec<u32> = (0..msgs.len() as u32)
        .map(|i| st.next.saturating_add(i))
        .collect();
    let next_after = st.next.saturating_add(msgs.len() as u32);

    let mut out = Vec::new();
    if size > 0 {
        let mut tail = [0u8; 4];
        let n = size.min(4) as usize;
        file.read_exact_at(&mut tail[4 - n..], size - n as u64)
            .map_err(|e| io_error("read", path, e))?;
        let t = &tail[4 - n..];
        if t.ends_with(b"\n\n") || t.ends_with(b"\r\n\r\n") || t == b"\n" {
        } else if t.ends_with(b"\n") {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\n\n");
        }
    }
    for (i, m) in msgs.iter().enumerate() {
        let base = if i == 0 && !st.has_messages {
            Some((validity, next_after))
        } else {
            None
        };
        render(m, uids[i], base, &mut out);
    }
    lock.begin_append(size, size + out.len() as u64, Some(lock::checksum(&out)))
        .map_err(|e| io_error("append record", path, e))?;
    let mut base_field = None;
    if let Some(off) = st.base_field {
        let digits = format!("{:010}", next_after - 1);
        if digits.len() == 10 {
            let mut was = [0u8; 10];
            file.read_exact_at(&mut was, off)
                .map_err(|e| io_error("read", path, e))?;
            file.write_all_at(digits.as_bytes(), off)
                .map_err(|e| io_error("write", path, e))?;
            base_field = std::str::from_utf8(&was)
                .ok()
                .and_then(|w| w.parse::<u32>().ok())
                .map(|w| (off, w));
        }
    }
    let res = file
        .write_all_at(&out, size)
        .and_then(|_| file.sync_data())
        .and_then(|_| lock.end_append());
    if let Err(e) = res {
        let _ = file.set_len(size);
        let _ = file.sync_all();
        let _ = lock.end_append();
        return Err(io_error("append", path, e));
    }
    Ok(AppendReceipt {
        dev: fm.dev(),
        ino: fm.ino(),
        old_size: size,
        new_size: size + out.len() as u64,
        uidvalidity: validity,
        uids,
        base_field,
    })
}

/// The envelope sender as the From_ line shows it: raw UTF-8 as UW and
/// Dovecot write it (SMTPUTF8, RFC 6531), but never a byte that would
/// break the line — whitespace, CR/LF, other controls (C0, DEL, C1) — and
/// at most 256 characters.
fn from_line_sender(from: &str) -> String {
    from.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(256)
        .collect()
}

/// One message in mbox form (see module doc, step 3).
pub(crate) fn render(m: &NewMessage<'_>, uid: u32, base: Option<(u32, u32)>, out: &mut Vec<u8>) {
    let sender = from_line_sender(m.from);
    let sender = if sender.is_empty() {
        "MAILER-DAEMON".to_string()
    } else {
        sender
    };
    out.extend_from_slice(format!("From {sender} {}\n", scan::format_ctime(m.date.0)).as_bytes());
    let mut in_header = true;
    let mut hdr = Vec::new();
    let mut ended_lf = true;
    let kws: Vec<String> = m
        .keywords
        .iter()
        .filter(|k| headers::valid_keyword(k.as_bytes()))
        .cloned()
        .collect();
    let meta = |out: &mut Vec<u8>| {
        let r = Render {
            flags: m.flags,
            old: false,
            keywords: kws.iter().map(String::as_str).collect(),
            uid: Some(uid),
            base: base.map(|(v, n)| (v, n, &kws[..])),
        };
        out.extend_from_slice(&r.lines(PAD, None).unwrap_or_default());
    };
    for line in m.data.split_inclusive(|&c| c == b'\n') {
        let (text, lf) = match line.strip_suffix(b"\n") {
            Some(l) => (l.strip_suffix(b"\r").unwrap_or(l), true),
            None => (line, false),
        };
        ended_lf = lf;
        if in_header {
            if text.is_empty() && lf {
                headers::rename_hidden(&hdr, out);
                meta(out);
                out.push(b'\n');
                in_header = false;
                continue;
            }
            if scan::is_quoted_from(text) || text.starts_with(b"From ") {
                hdr.push(b'>');
            }
            hdr.extend_from_slice(text);
            hdr.push(b'\n');
            continue;
        }
        if scan::is_quoted_from(text) || text.starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(text);
        if lf {
            out.push(b'\n');
        }
    }
    if in_header {
        headers::rename_hidden(&hdr, out);
        meta(out);
        out.push(b'\n');
        ended_lf = true;
    }
    if !ended_lf {
        out.push(b'\n');
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_line_sender_table() {
        for (input, want) in [
            ("a@b.example", "a@b.example"),
            ("jörg@bücher.example", "jörg@bücher.example"),
            ("用户@例子.广告", "用户@例子.广告"),
            ("a b\r\nFrom x@y\t@z", "abFromx@y@z"),
            ("\u{0}\u{7f}\u{85}\u{a0}\u{2028}x", "x"),
            ("", ""),
        ] {
            assert_eq!(from_line_sender(input), want, "{input:?}");
        }
        assert_eq!(from_line_sender(&"é".repeat(300)).chars().count(), 256);
    }

    #[test]
    fn utf8_sender_kept_in_from_line_and_parses() {
        let m = NewMessage {
            data: b"Subject: x\r\n\r\nhi\r\n",
            from: "jörg@bücher.example",
            date: (0, 0),
            flags: Default::default(),
            keywords: &[],
        };
        let mut out = Vec::new();
        render(&m, 1, None, &mut out);
        let line = &out[..memchr::memchr(b'\n', &out).unwrap() + 1];
        assert_eq!(
            line,
            "From jörg@bücher.example Thu Jan  1 00:00:00 1970\n".as_bytes()
        );
        assert_eq!(parse_from_line(line), Some((0, 0)));
    }

    #[test]
    fn undo_restores_file_and_uidnext_or_refuses() {
        let dir = std::env::temp_dir().join(format!("postern-undo-append-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("inbox");
        let msg = |s: &'static [u8]| NewMessage {
            data: s,
            from: "a@b",
            date: (0, 0),
            flags: Default::default(),
            keywords: &[],
        };
        append(&p, &[msg(b"Subject: 1\n\none\n")]).unwrap();
        let before = std::fs::read(&p).unwrap();
        let r = append_with_receipt(&p, &[msg(b"Subject: 2\n\ntwo\n")]).unwrap();
        assert_eq!((r.old_size, r.uids.clone()), (before.len() as u64, vec![2]));
        assert!(r.base_field.is_some(), "padded X-IMAPbase expected");
        assert_ne!(
            std::fs::read(&p).unwrap()[..before.len()],
            before[..],
            "UIDNEXT bumped"
        );
        undo_append(&p, &r).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), before, "bytes and UIDNEXT back");
        // The next append gets the undone UID again.
        let r2 = append_with_receipt(&p, &[msg(b"Subject: 3\n\nthree\n")]).unwrap();
        assert_eq!(r2.uids, vec![2]);
        // Another writer appended after us: undo refuses, nothing lost.
        append(&p, &[msg(b"Subject: 4\n\nfour\n")]).unwrap();
        let both = std::fs::read(&p).unwrap();
        assert!(undo_append(&p, &r2).is_err());
        assert_eq!(std::fs::read(&p).unwrap(), both);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
