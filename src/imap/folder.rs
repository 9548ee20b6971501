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
//! The file system work (creating, deleting, renaming, walking the tree,
//! the `.subscriptions` file, symlink refusal) is [`crate::store::folders`];
//! this module adds what is IMAP's: modified UTF-7, INBOX folding, LIST
//! patterns, SPECIAL-USE names, and answers RFC 3501 expects where the
//! file system alone would say something else (a level below a mailbox
//! file, DELETE of a level that still has children).

use crate::imap::utf7;
use crate::imap::wire::MailboxName;
use crate::store::folders::{Folders as StoreFolders, MAX_DEPTH, MAX_NAME};
use crate::store::{ErrorKind, StoreError};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

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
        _ if e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT) => {
            ErrorKind::NoSpace
        }
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
    let s = name
        .decode()
        .map_err(|_| bad("invalid modified UTF-7", &String::from_utf8_lossy(&name.0)))?;
    Ok(if s.eq_ignore_ascii_case("INBOX") {
        "INBOX".into()
    } else {
        s
    })
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
    TABLE
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, a)| *a)
}

impl Folders {
    fn store(&self) -> StoreFolders {
        StoreFolders::new(&self.root, &self.inbox)
    }

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
        components(name)?;
        self.store().path(name)
    }

    /// CREATE: an empty mbox file, or a directory when the name ends with
    /// the delimiter (RFC 3501 §6.3.3); missing levels are created.
    pub(crate) fn create(&self, name: &MailboxName) -> Result<(), StoreError> {
        let s = decode(name)?;
        let base = s.strip_suffix('/').unwrap_or(&s);
        if base == "INBOX" {
            return Err(StoreError::new(ErrorKind::Exists, "INBOX always exists"));
        }
        let path = self.path_of(base)?;
        self.check_levels(&path)?;
        self.store().create(&s)
    }

    /// DELETE of a file, or of an empty directory level. `Ok(false)` when
    /// the directory still has children (RFC 3501 §6.3.4 says NO).
    pub(crate) fn delete(&self, name: &MailboxName) -> Result<bool, StoreError> {
        let s = decode(name)?;
        let path = self.path_of(&s)?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_err("stat", &path, e))?;
        if meta.is_dir()
            && std::fs::read_dir(&path)
                .map_err(|e| io_err("readdir", &path, e))?
                .next()
                .is_some()
        {
            return Ok(false);
        }
        self.store().delete(&s)?;
        Ok(true)
    }

    /// RENAME of a folder other than INBOX; its children move with it,
    /// and so do the subscriptions of both (as Dovecot and UW do, so the
    /// client's folder list does not lose them).
    pub(crate) fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<(), StoreError> {
        let (a, b) = (decode(from)?, decode(to)?);
        self.path_of(&a)?;
        let dst = self.path_of(&b)?;
        self.check_levels(&dst)?;
        self.store().rename(&a, &b)?;
        // The folders moved; a subscription that cannot follow is only a
        // cosmetic loss, so it does not fail the RENAME.
        let store = self.store();
        for sub in store.subscriptions().unwrap_or_default() {
            let rest = match sub.strip_prefix(a.as_str()) {
                Some(r) if r.is_empty() || r.starts_with('/') => r,
                _ => continue,
            };
            let moved = format!("{b}{rest}");
            if store.subscribe(&moved).is_ok() {
                let _ = store.unsubscribe(&sub);
            }
        }
        Ok(())
    }

    /// A level above `path` that is an mbox file cannot hold children.
    fn check_levels(&self, path: &Path) -> Result<(), StoreError> {
        if let Some(parent) = path.parent() {
            if parent
                .ancestors()
                .any(|a| a.starts_with(&self.root) && a.exists() && !a.is_dir())
            {
                return Err(StoreError::new(
                    ErrorKind::BadName,
                    format!("{} is not a directory", parent.display()),
                ));
            }
        }
        Ok(())
    }

    /// Creates the levels above `path` (RENAME of INBOX, APPEND to a new spool).
    pub(crate) fn make_parent(&self, path: &Path) -> Result<(), StoreError> {
        self.check_levels(path)?;
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| io_err("mkdir", parent, e))?;
        }
        Ok(())
    }

    /// Whether a selectable mailbox of that name exists.
    pub(crate) fn is_mailbox(&self, path: &Path) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.is_file())
    }

    /// Every folder: INBOX first, then the tree under `mail_dir` in name
    /// order (bounded by the store's depth and entry limits).
    pub(crate) fn list_all(&self) -> Vec<Entry> {
        let mut out = vec![Entry {
            name: "INBOX".into(),
            noselect: false,
            has_children: false,
        }];
        let listed = self.store().list().unwrap_or_else(|e| {
            crate::log::event("LIST failed")
                .field("detail", e.detail.as_bytes())
                .warn();
            Vec::new()
        });
        for e in listed {
            let top = e.name.split('/').next().unwrap_or("");
            if top.eq_ignore_ascii_case("INBOX") || e.name.chars().any(|c| c.is_control()) {
                continue;
            }
            out.push(Entry {
                name: e.name,
                noselect: e.no_select,
                has_children: e.has_children,
            });
        }
        out
    }

    /// Subscribed names in wire form (modified UTF-7).
    pub(crate) fn subscriptions(&self) -> Vec<Vec<u8>> {
        self.store()
            .subscriptions()
            .unwrap_or_default()
            .iter()
            .map(|n| encode(n))
            .collect()
    }

    /// Adds or removes a subscription (both idempotent).
    pub(crate) fn set_subscribed(&self, name: &MailboxName, on: bool) -> Result<(), StoreError> {
        let s = decode(name)?;
        if on {
            self.store().subscribe(&s)
        } else {
            match self.store().unsubscribe(&s) {
                Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
                r => r,
            }
        }
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
        if n.len() >= 5
            && n[..5].eq_ignore_ascii_case(b"INBOX")
            && (n.len() == 5 || matches!(n[5], b'/' | b'*' | b'%'))
        {
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
            (
                "%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
            ),
        ];
        for (p, n, want) in table {
            assert_eq!(matches(p.as_bytes(), n.as_bytes()), *want, "{p} vs {n}");
        }
    }

    #[test]
    fn names_refused() {
        for n in [
            "",
            "a//b",
            "../x",
            "a/..",
            ".hidden",
            "x.lock",
            "INBOX/sub",
            "inbox/x",
            "a\u{1}b",
            "/abs",
            "a/",
        ] {
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
        Folders {
            inbox: d.join("inbox"),
            root: d.join("mail"),
        }
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
        assert_eq!(
            f.create(&mb("Sent/x")).unwrap_err().kind,
            ErrorKind::BadName
        );
        assert!(f.root.join("Entwürfe").is_file());
        let names: Vec<(String, bool, bool)> = f
            .list_all()
            .into_iter()
            .map(|e| (e.name, e.noselect, e.has_children))
            .collect();
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
        assert_eq!(
            f.rename(&mb("nope"), &mb("q")).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            f.rename(&mb("Sent"), &mb("dir")).unwrap_err().kind,
            ErrorKind::Exists
        );
        assert!(!f.delete(&mb("z")).unwrap(), "has children");
        assert!(f.delete(&mb("z/y/b/c")).unwrap());
        assert!(f.delete(&mb("dir")).unwrap());
        assert_eq!(f.delete(&mb("dir")).unwrap_err().kind, ErrorKind::NotFound);
        f.set_subscribed(&mb("Sent"), true).unwrap();
        f.set_subscribed(&mb("Entw&APw-rfe"), true).unwrap();
        f.set_subscribed(&mb("Sent"), true).unwrap();
        assert_eq!(
            f.subscriptions(),
            vec![b"Sent".to_vec(), b"Entw&APw-rfe".to_vec()]
        );
        f.set_subscribed(&mb("Sent"), false).unwrap();
        assert_eq!(f.subscriptions(), vec![b"Entw&APw-rfe".to_vec()]);
        assert!(!f.list_all().iter().any(|e| e.name.starts_with('.')));
    }
}
