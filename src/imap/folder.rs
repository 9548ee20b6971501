//! IMAP mailbox names and the folder tree of one user (RFC 3501 §5.1,
//! §6.3.3-6.3.9; RFC 3348 CHILDREN; RFC 6154 SPECIAL-USE names).
//!
//! `INBOX` (any case) is the spool file from `inbox`; every other name is
//! a path under `mail_dir` with `/` as the hierarchy delimiter: a regular
//! file is an mbox, a directory is a `\Noselect` level that only holds
//! other folders (mbox files cannot have children, as with UW imapd).
//! Names arrive in modified UTF-7 and are stored on disk in UTF-8.
//!
//! A name never leaves `mail_dir`: empty components, `.`/`..`, a leading
//! `.` (our `.subscriptions` file, editor back-ups), `*.lock` (dot-locks),
//! control characters and levels below `INBOX` are refused as
//! [`ErrorKind::BadName`]. Listing is bounded in depth and entries, and
//! never follows a symlinked directory (no loops).
//!
//! Subscriptions (RFC 3501 §6.3.6) are kept in `mail_dir/.subscriptions`,
//! one modified UTF-7 name a line, replaced atomically.

use crate::imap::utf7;
use crate::imap::wire::MailboxName;
use crate::store::{ErrorKind, StoreError};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Deepest folder level listed.
const MAX_DEPTH: usize = 16;
/// Most folders listed.
const MAX_ENTRIES: usize = 10_000;
/// Longest name accepted, in bytes (UTF-8).
const MAX_NAME: usize = 1024;
/// Subscription file name under `mail_dir`.
const SUBSCRIPTIONS: &str = ".subscriptions";

/// Where one user's mailboxes are.
#[derive(Clone, Debug)]
pub(crate) struct Folders {
    pub inbox: PathBuf,
    pub root: PathBuf,
}

/// One folder found by [`Folders::list_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// UTF-8 name with `/` between levels (`INBOX` for the spool).
    pub name: String,
    /// A directory: `\Noselect`.
    pub noselect: bool,
    pub has_children: bool,
}

fn bad(why: &str, name: &str) -> StoreError {
    StoreError::new(ErrorKind::BadName, format!("{why}: {name:?}"))
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::AlreadyExists => ErrorKind::Exists,
        std::io::ErrorKind::PermissionDenied => ErrorKind::Permission,
        _ if e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT) => ErrorKind::NoSpace,
        _ => ErrorKind::Io,
    };
    StoreError::new(kind, format!("{what} {}: {e}", path.display()))
}

/// The UTF-8 levels of a non-INBOX name, validated.
pub(crate) fn components(name: &str) -> Result<Vec<&str>, StoreError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(bad("empty or too long", name));
    }
    let parts: Vec<&str> = name.split('/').collect();
    for p in &parts {
        if p.is_empty() || p.starts_with('.') || p.ends_with(".lock") || p.len() > 255 {
            return Err(bad("refused level", name));
        }
        if p.chars().any(|c| c.is_control()) {
            return Err(bad("control character", name));
        }
    }
    if parts.len() > 1 && parts[0].eq_ignore_ascii_case("INBOX") {
        return Err(bad("INBOX has no inferiors", name));
    }
    if parts.len() > MAX_DEPTH {
        return Err(bad("too deep", name));
    }
    Ok(parts)
}

/// The UTF-8 form of a wire name; invalid modified UTF-7 is a bad name.
pub(crate) fn decode(name: &MailboxName) -> Result<String, StoreError> {
    if name.is_inbox() {
        return Ok("INBOX".into());
    }
    let s = name.decode().map_err(|_| bad("invalid modified UTF-7", &String::from_utf8_lossy(&name.0)))?;
    Ok(if s.eq_ignore_ascii_case("INBOX") { "INBOX".into() } else { s })
}

/// RFC 6154 attribute for a top-level folder of a well-known name.
pub(crate) fn special_use(name: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("Sent", "\\Sent"),
        ("Drafts", "\\Drafts"),
        ("Trash", "\\Trash"),
        ("Junk", "\\Junk"),
        ("Archive", "\\Archive"),
    ];
    TABLE.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, a)| *a)
}

impl Folders {
    /// The file (or directory) a name stands for.
    pub(crate) fn path(&self, name: &MailboxName) -> Result<PathBuf, StoreError> {
        let s = decode(name)?;
        self.path_of(&s)
    }

    /// Same, from the UTF-8 name.
    pub(crate) fn path_of(&self, name: &str) -> Result<PathBuf, StoreError> {
        if name == "INBOX" {
            return Ok(self.inbox.clone());
        }
        let mut p = self.root.clone();
        for c in components(name)? {
            p.push(c);
        }
        Ok(p)
    }

    /// CREATE: an empty mbox file, or a directory when the name ends with
    /// the delimiter (RFC 3501 §6.3.3); missing levels are created.
    pub(crate) fn create(&self, name: &MailboxName) -> Result<(), StoreError> {
        let s = decode(name)?;
        let (s, dir) = match s.strip_suffix('/') {
            Some(t) => (t.to_string(), true),
            None => (s, false),
        };
        if s == "INBOX" {
            return Err(StoreError::new(ErrorKind::Exists, "INBOX always exists"));
        }
        let path = self.path_of(&s)?;
        if std::fs::symlink_metadata(&path).is_ok() {
            return Err(StoreError::new(ErrorKind::Exists, format!("{} exists", path.display())));
        }
        self.make_parent(&path)?;
        if dir {
            std::fs::DirBuilder::new().mode(0o700).create(&path).map_err(|e| io_err("mkdir", &path, e))?;
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| io_err("create", &path, e))?;
        }
        Ok(())
    }

    /// DELETE of a file, or of an empty directory level. `Ok(false)` when
    /// the directory still has children (RFC 3501 §6.3.4 says NO).
    pub(crate) fn delete(&self, name: &MailboxName) -> Result<bool, StoreError> {
        let path = self.path(name)?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_err("stat", &path, e))?;
        if meta.is_dir() {
            match std::fs::remove_dir(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(false),
                Err(e) => Err(io_err("rmdir", &path, e)),
            }
        } else {
            std::fs::remove_file(&path).map_err(|e| io_err("unlink", &path, e))?;
            Ok(true)
        }
    }

    /// RENAME of a folder other than INBOX; its children move with it.
    pub(crate) fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<(), StoreError> {
        let src = self.path(from)?;
        let dst = self.path(to)?;
        std::fs::symlink_metadata(&src).map_err(|e| io_err("stat", &src, e))?;
        if dst.starts_with(&src) {
            return Err(StoreError::new(ErrorKind::BadName, "cannot move a folder into itself"));
        }
        self.make_parent(&dst)?;
        if std::fs::symlink_metadata(&dst).is_ok() {
            return Err(StoreError::new(ErrorKind::Exists, format!("{} exists", dst.display())));
        }
        std::fs::rename(&src, &dst).map_err(|e| io_err("rename", &src, e))
    }

    /// Creates the levels above `path` (for RENAME and INBOX moves).
    /// A level that is an mbox file cannot hold children: `BadName`.
    pub(crate) fn make_parent(&self, path: &Path) -> Result<(), StoreError> {
        if let Some(parent) = path.parent() {
            let not_dir = || StoreError::new(ErrorKind::BadName, format!("{} is not a directory", parent.display()));
            if parent.ancestors().any(|a| a.starts_with(&self.root) && a.exists() && !a.is_dir()) {
                return Err(not_dir());
            }
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| io_err("mkdir", parent, e))?;
            if !parent.is_dir() {
                return Err(not_dir());
            }
        }
        Ok(())
    }

    /// Whether a selectable mailbox of that name exists.
    pub(crate) fn is_mailbox(&self, path: &Path) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.is_file())
    }

    /// Every folder: INBOX first, then the tree under `mail_dir` in name
    /// order. Bounded by [`MAX_DEPTH`] and [`MAX_ENTRIES`].
    pub(crate) fn list_all(&self) -> Vec<Entry> {
        let mut out = vec![Entry { name: "INBOX".into(), noselect: false, has_children: false }];
        self.walk(&self.root, "", 0, &mut out);
        out
    }

    fn walk(&self, dir: &Path, prefix: &str, depth: usize, out: &mut Vec<Entry>) -> bool {
        let Ok(rd) = std::fs::read_dir(dir) else { return false };
        let mut names: Vec<(String, bool)> = Vec::new();
        for e in rd.flatten() {
            if names.len() + out.len() >= MAX_ENTRIES {
                break;
            }
            let Ok(name) = e.file_name().into_string() else { continue };
            if name.starts_with('.') || name.ends_with(".lock") || name.chars().any(|c| c.is_control()) {
                continue;
            }
            if depth == 0 && name.eq_ignore_ascii_case("INBOX") {
                continue;
            }
            let path = e.path();
            if path == self.inbox {
                continue;
            }
            let Ok(lmeta) = std::fs::symlink_metadata(&path) else { continue };
            if lmeta.is_dir() {
                names.push((name, true));
            } else if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                names.push((name, false));
            }
        }
        names.sort();
        let any = !names.is_empty();
        for (name, is_dir) in names {
            let full = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let at = out.len();
            out.push(Entry { name: full.clone(), noselect: is_dir, has_children: false });
            if is_dir && depth + 1 < MAX_DEPTH {
                let kids = self.walk(&dir.join(&name), &full, depth + 1, out);
                out[at].has_children = kids;
            }
        }
        any
    }

    fn subscriptions_path(&self) -> PathBuf {
        self.root.join(SUBSCRIPTIONS)
    }

    /// Subscribed names (modified UTF-7, as the client sent them).
    pub(crate) fn subscriptions(&self) -> Vec<Vec<u8>> {
        let Ok(text) = std::fs::read(self.subscriptions_path()) else { return Vec::new() };
        text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).take(MAX_ENTRIES).map(|l| l.to_vec()).collect()
    }

    /// Adds or removes a subscription; the file is replaced atomically.
    pub(crate) fn set_subscribed(&self, name: &MailboxName, on: bool) -> Result<(), StoreError> {
        let mut subs = self.subscriptions();
        let present = subs.iter().any(|s| *s == name.0);
        if present == on {
            return Ok(());
        }
        if on {
            subs.push(name.0.clone());
        } else {
            subs.retain(|s| *s != name.0);
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| io_err("mkdir", &self.root, e))?;
        let path = self.subscriptions_path();
        let tmp = self.root.join(format!("{SUBSCRIPTIONS}.{}", std::process::id()));
        let mut data = Vec::new();
        for s in &subs {
            data.extend_from_slice(s);
            data.push(b'\n');
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err("write", &path, e)
        })
    }
}

/// The wire (modified UTF-7) form of a UTF-8 name.
pub(crate) fn encode(name: &str) -> Vec<u8> {
    if name == "INBOX" {
        return b"INBOX".to_vec();
    }
    utf7::encode(name).into_bytes()
}

/// LIST pattern matching (RFC 3501 §6.3.8): `*` matches anything, `%`
/// anything but the delimiter. Linear-space dynamic programming, so no
/// pattern can make it exponential. `INBOX` matches case-insensitively.
pub(crate) fn matches(pattern: &[u8], name: &[u8]) -> bool {
    let inbox_fold = |n: &[u8]| -> Vec<u8> {
        if n.len() >= 5 && n[..5].eq_ignore_ascii_case(b"INBOX") && (n.len() == 5 || matches!(n[5], b'/' | b'*' | b'%')) {
            let mut v = b"INBOX".to_vec();
            v.extend_from_slice(&n[5..]);
            v
        } else {
            n.to_vec()
        }
    };
    let p = inbox_fold(pattern);
    let n = inbox_fold(name);
    // dp[j]: pattern[..i] matches name[..j]
    let mut dp = vec![false; n.len() + 1];
    dp[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            b'*' => {
                let mut any = false;
                for j in 0..=n.len() {
                    any |= dp[j];
                    next[j] = any;
                }
            }
            b'%' => {
                let mut run = false;
                for j in 0..=n.len() {
                    if j > 0 && n[j - 1] == b'/' {
                        run = false;
                    }
                    run |= dp[j];
                    next[j] = run;
                }
            }
            c => {
                for j in 1..=n.len() {
                    next[j] = dp[j - 1] && n[j - 1] == c;
                }
            }
        }
        dp = next;
    }
    dp[n.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_table() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "INBOX", true),
            ("*", "a/b/c", true),
            ("%", "a", true),
            ("%", "a/b", false),
            ("a/%", "a/b", true),
            ("a/%", "a/b/c", false),
            ("a/*", "a/b/c", true),
            ("inbox", "INBOX", true),
            ("Inbox*", "INBOX", true),
            ("INBOX", "inboxes", false),
            ("S%t", "Sent", true),
            ("S%t", "S/t", false),
            ("", "", true),
            ("x", "", false),
            ("%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ];
        for (p, n, want) in table {
            assert_eq!(matches(p.as_bytes(), n.as_bytes()), *want, "{p} vs {n}");
        }
    }

    #[test]
    fn names_refused() {
        for n in ["", "a//b", "../x", "a/..", ".hidden", "x.lock", "INBOX/sub", "inbox/x", "a\u{1}b", "/abs", "a/"] {
            assert!(components(n).is_err(), "{n:?}");
        }
        for n in ["a", "a/b", "Entwürfe", "Sent Items", "a.b"] {
            assert!(components(n).is_ok(), "{n:?}");
        }
    }

    fn tmp(name: &str) -> Folders {
        let d = std::env::temp_dir().join(format!("postern-folder-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Folders { inbox: d.join("inbox"), root: d.join("mail") }
    }

    fn mb(s: &str) -> MailboxName {
        MailboxName::new(s.as_bytes().to_vec())
    }

    #[test]
    fn create_list_rename_delete() {
        let f = tmp("tree");
        f.create(&mb("Sent")).unwrap();
        f.create(&mb("a/b/c")).unwrap();
        f.create(&mb("dir/")).unwrap();
        f.create(&mb("Entw&APw-rfe")).unwrap();
        assert_eq!(f.create(&mb("Sent")).unwrap_err().kind, ErrorKind::Exists);
        assert_eq!(f.create(&mb("inbox")).unwrap_err().kind, ErrorKind::Exists);
        assert_eq!(f.create(&mb("../x")).unwrap_err().kind, ErrorKind::BadName);
        assert_eq!(f.create(&mb("Sent/x")).unwrap_err().kind, ErrorKind::BadName);
        assert!(f.root.join("Entwürfe").is_file());
        let names: Vec<(String, bool, bool)> =
            f.list_all().into_iter().map(|e| (e.name, e.noselect, e.has_children)).collect();
        let want: Vec<(String, bool, bool)> = [
            ("INBOX", false, false),
            ("Entwürfe", false, false),
            ("Sent", false, false),
            ("a", true, true),
            ("a/b", true, true),
            ("a/b/c", false, false),
            ("dir", true, false),
        ]
        .iter()
        .map(|(n, a, b)| (n.to_string(), *a, *b))
        .collect();
        assert_eq!(names, want);
        f.rename(&mb("a"), &mb("z/y")).unwrap();
        assert!(f.root.join("z/y/b/c").is_file());
        assert_eq!(f.rename(&mb("nope"), &mb("q")).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(f.rename(&mb("Sent"), &mb("dir")).unwrap_err().kind, ErrorKind::Exists);
        assert!(!f.delete(&mb("z")).unwrap(), "has children");
        assert!(f.delete(&mb("z/y/b/c")).unwrap());
        assert!(f.delete(&mb("dir")).unwrap());
        assert_eq!(f.delete(&mb("dir")).unwrap_err().kind, ErrorKind::NotFound);
        f.set_subscribed(&mb("Sent"), true).unwrap();
        f.set_subscribed(&mb("Entw&APw-rfe"), true).unwrap();
        f.set_subscribed(&mb("Sent"), true).unwrap();
        assert_eq!(f.subscriptions(), vec![b"Sent".to_vec(), b"Entw&APw-rfe".to_vec()]);
        f.set_subscribed(&mb("Sent"), false).unwrap();
        assert_eq!(f.subscriptions(), vec![b"Entw&APw-rfe".to_vec()]);
        assert!(!f.list_all().iter().any(|e| e.name.starts_with('.')));
    }
}
