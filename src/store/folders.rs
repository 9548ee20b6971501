//! Folder names and the folder tree under `mail_dir`: validate, resolve,
//! create, delete, rename, list, and the subscription list (RFC 3501
//! §6.3.3–6.3.9 semantics; the protocol layer does the modified UTF-7 and
//! LIST pattern matching).
//!
//! Layout (UW and Dovecot mbox style): a folder is an mbox file
//! `mail_dir/<name>`, `/` separates hierarchy levels, which are directories
//! (`\Noselect`). `INBOX` (any case) is the spool file given by `inbox`.
//! Subscriptions are kept in `mail_dir/.subscriptions`, one name a line
//! (Dovecot's file for mbox).
//!
//! A name can never leave `mail_dir`: absolute names, `~`, `.`/`..` and
//! other components starting with `.` (which also keeps our lock, temp and
//! subscription files out of reach), names ending in `.lock`, empty
//! components, NUL and control characters are refused, and so is any path
//! whose existing components include a symlink.

use super::{ErrorKind, StoreError};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Longest folder name accepted, in bytes.
pub const MAX_NAME: usize = 512;
/// Deepest hierarchy accepted (also bounds LIST's walk).
pub const MAX_DEPTH: usize = 16;
/// Most entries LIST returns (bounded memory).
pub const MAX_LIST: usize = 10_000;

/// One folder found by [`Folders::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderEntry {
    /// Name with `/` as separator.
    pub name: String,
    /// A directory: a hierarchy level that holds no messages (`\Noselect`).
    pub no_select: bool,
    /// A directory with entries below it (`\HasChildren`).
    pub has_children: bool,
}

/// The folders of one user.
#[derive(Clone, Debug)]
pub struct Folders {
    mail_dir: PathBuf,
    inbox: PathBuf,
}

fn bad(name: &str, why: &str) -> StoreError {
    StoreError::new(
        ErrorKind::BadName,
        format!("{why}: {:?}", name.chars().take(80).collect::<String>()),
    )
}

fn fs_err(what: &str, p: &Path, e: io::Error) -> StoreError {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::AlreadyExists => ErrorKind::Exists,
        io::ErrorKind::PermissionDenied => ErrorKind::Permission,
        _ => match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => ErrorKind::NoSpace,
            Some(libc::ENOTEMPTY) => ErrorKind::Exists,
            _ => ErrorKind::Io,
        },
    };
    StoreError::new(kind, format!("{what} {}: {e}", p.display()))
}

/// `INBOX` in any case (RFC 3501 §5.1).
pub fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case("INBOX")
}

/// Check a folder name (see module doc). A trailing `/` is allowed (CREATE
/// of a hierarchy level).
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(bad(name, "empty or too long name"));
    }
    if name.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err(bad(name, "control character in name"));
    }
    if name.starts_with('/') || name.starts_with('~') {
        return Err(bad(name, "absolute name"));
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts.len() > MAX_DEPTH {
        return Err(bad(name, "too deep"));
    }
    for p in parts {
        if p.is_empty() {
            return Err(bad(name, "empty hierarchy level"));
        }
        if p.starts_with('.') || p.starts_with('~') {
            return Err(bad(name, "level starts with . or ~"));
        }
        if p.ends_with(".lock") {
            return Err(bad(name, "name of a lock file"));
        }
    }
    Ok(())
}

impl Folders {
    pub fn new(mail_dir: impl Into<PathBuf>, inbox: impl Into<PathBuf>) -> Folders {
        Folders {
            mail_dir: mail_dir.into(),
            inbox: inbox.into(),
        }
    }

    /// The mbox file (or directory) for `name`, refusing names that could
    /// leave `mail_dir` and paths through symlinks.
    pub fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if is_inbox(name) {
            return Ok(self.inbox.clone());
        }
        validate_name(name)?;
        let mut p = self.mail_dir.clone();
        for part in name.trim_end_matches('/').split('/') {
            p.push(part);
            if let Ok(m) = fs::symlink_metadata(&p) {
                if m.file_type().is_symlink() {
                    return Err(bad(name, "symlink in path"));
                }
            }
        }
        Ok(p)
    }

    /// CREATE: an empty mbox, or with a trailing `/` a hierarchy level;
    /// missing parent levels are created.
    pub fn create(&self, name: &str) -> Result<(), StoreError> {
        if is_inbox(name) {
            return Err(StoreError::new(ErrorKind::Exists, "INBOX always exists"));
        }
        let p = self.path(name)?;
        if name.ends_with('/') {
            if p.exists() {
                return Err(StoreError::new(
                    ErrorKind::Exists,
                    format!("exists: {}", p.display()),
                ));
            }
            return fs::create_dir_all(&p).map_err(|e| fs_err("mkdir", &p, e));
        }
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| fs_err("mkdir", parent, e))?;
        }
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&p)
            .map_err(|e| fs_err("create", &p, e))?;
        f.sync_all().map_err(|e| fs_err("fsync", &p, e))?;
        sync_dir(p.parent());
        Ok(())
    }

    /// DELETE: a mailbox file, or an empty hierarchy level. INBOX cannot be
    /// deleted.
    pub fn delete(&self, name: &str) -> Result<(), StoreError> {
        if is_inbox(name) {
            return Err(StoreError::new(
                ErrorKind::Permission,
                "INBOX cannot be deleted",
            ));
        }
        let p = self.path(name)?;
        let m = fs::symlink_metadata(&p).map_err(|e| fs_err("stat", &p, e))?;
        if m.is_dir() {
            fs::remove_dir(&p).map_err(|e| fs_err("rmdir", &p, e))?;
        } else {
            fs::remove_file(&p).map_err(|e| fs_err("unlink", &p, e))?;
        }
        sync_dir(p.parent());
        Ok(())
    }

    /// RENAME (with everything below it). INBOX is not renamed here (that
    /// would move the spool): see [`Folders::rename_inbox`].
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        if is_inbox(from) && !is_inbox(to) {
            return self.rename_inbox(to).map(|_| ());
        }
        if is_inbox(from) || is_inbox(to) {
            return Err(StoreError::new(
                ErrorKind::Permission,
                "renaming INBOX is not supported",
            ));
        }
        let a = self.path(from)?;
        let b = self.path(to)?;
        if !a.exists() {
            return Err(StoreError::new(
                ErrorKind::NotFound,
                format!("no such folder {}", a.display()),
            ));
        }
        if b.exists() {
            return Err(StoreError::new(
                ErrorKind::Exists,
                format!("exists: {}", b.display()),
            ));
        }
        if b.starts_with(&a) {
            return Err(bad(to, "cannot rename a folder below itself"));
        }
        if let Some(parent) = b.parent() {
            fs::create_dir_all(parent).map_err(|e| fs_err("mkdir", parent, e))?;
        }
        fs::rename(&a, &b).map_err(|e| fs_err("rename", &a, e))?;
        sync_dir(b.parent());
        sync_dir(a.parent());
        Ok(())
    }

    /// RENAME INBOX (RFC 3501 §6.3.5): move every message of INBOX into
    /// the new folder `to`, leaving INBOX empty (it keeps existing).
    ///
    /// Crash-safe by order: messages are appended to `to` in batches, each
    /// fsynced (all or nothing, see `mbox::append`), and only when all are
    /// on disk are they expunged from INBOX (itself crash-safe). A crash in
    /// between leaves them in both folders, never in neither. Flags,
    /// keywords, INTERNALDATE and the envelope sender are kept; UIDs are
    /// new. Mail delivered to INBOX meanwhile stays there. Memory is
    /// bounded by the batch size, not by the size of INBOX. Returns how
    /// many messages moved.
    pub fn rename_inbox(&self, to: &str) -> Result<usize, StoreError> {
        use super::mbox::{append, Mailbox, NewMessage, OpenOptions};
        if is_inbox(to) {
            return Err(StoreError::new(ErrorKind::Exists, "INBOX always exists"));
        }
        let dest = self.path(to)?;
        if fs::symlink_metadata(&dest).is_ok() {
            return Err(StoreError::new(
                ErrorKind::Exists,
                format!("exists: {}", dest.display()),
            ));
        }
        let mut inbox = Mailbox::open(
            &self.inbox,
            &OpenOptions {
                create: true,
                ..Default::default()
            },
        )?;
        self.create(to)?;
        let moved = (|| -> Result<usize, StoreError> {
            const BATCH_BYTES: usize = 8 << 20;
            let n = inbox.len();
            let mut i = 0;
            while i < n {
                // (text, sender) of a batch; flags etc. come from the index.
                let mut batch: Vec<(Vec<u8>, String, usize)> = Vec::new();
                let mut bytes = 0;
                while i < n && (batch.is_empty() || bytes < BATCH_BYTES) {
                    let mut text = Vec::new();
                    inbox.read_message(i, &mut text)?;
                    bytes += text.len();
                    let sender = inbox.envelope_sender(i)?;
                    batch.push((text, sender, i));
                    i += 1;
                }
                let kw: Vec<Vec<String>> = batch
                    .iter()
                    .map(|(_, _, j)| {
                        inbox.messages()[*j]
                            .keywords
                            .iter()
                            .filter_map(|&k| inbox.keywords().get(usize::from(k)).cloned())
                            .collect()
                    })
                    .collect();
                let msgs: Vec<NewMessage<'_>> = batch
                    .iter()
                    .zip(&kw)
                    .map(|((text, sender, j), kw)| {
                        let m = &inbox.messages()[*j];
                        NewMessage {
                            data: text,
                            from: sender,
                            date: m.internal_date,
                            flags: m.flags,
                            keywords: kw,
                        }
                    })
                    .collect();
                append(&dest, &msgs)?;
            }
            Ok(n)
        })();
        let n = match moved {
            Ok(n) => n,
            Err(e) => {
                // Nothing was expunged yet: INBOX is whole; drop the copy.
                let _ = fs::remove_file(&dest);
                sync_dir(dest.parent());
                return Err(e);
            }
        };
        let all: Vec<usize> = (0..n).collect();
        inbox.expunge(&all)?;
        Ok(n)
    }

    /// Every folder under `mail_dir` (not INBOX), sorted; hidden files,
    /// lock and temp files and symlinks are skipped. Bounded by
    /// [`MAX_DEPTH`] and [`MAX_LIST`].
    pub fn list(&self) -> Result<Vec<FolderEntry>, StoreError> {
        let mut out = Vec::new();
        match fs::metadata(&self.mail_dir) {
            Ok(m) if m.is_dir() => {}
            _ => return Ok(out),
        }
        walk(&self.mail_dir, "", 0, &mut out)?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn subscriptions_path(&self) -> PathBuf {
        self.mail_dir.join(".subscriptions")
    }

    /// LSUB: the subscribed names, in file order.
    pub fn subscriptions(&self) -> Result<Vec<String>, StoreError> {
        let p = self.subscriptions_path();
        match fs::read(&p) {
            Ok(b) => Ok(String::from_utf8_lossy(&b)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(MAX_LIST)
                .map(str::to_string)
                .collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(fs_err("read", &p, e)),
        }
    }

    /// SUBSCRIBE (idempotent). The name need not exist (RFC 3501 §6.3.6).
    pub fn subscribe(&self, name: &str) -> Result<(), StoreError> {
        if !is_inbox(name) {
            validate_name(name)?;
        }
        let mut subs = self.subscriptions()?;
        if !subs.iter().any(|s| s == name) {
            subs.push(name.to_string());
            self.write_subscriptions(&subs)?;
        }
        Ok(())
    }

    /// UNSUBSCRIBE; `NotFound` if the name was not subscribed.
    pub fn unsubscribe(&self, name: &str) -> Result<(), StoreError> {
        let mut subs = self.subscriptions()?;
        let n = subs.len();
        subs.retain(|s| s != name);
        if subs.len() == n {
            return Err(StoreError::new(ErrorKind::NotFound, "not subscribed"));
        }
        self.write_subscriptions(&subs)
    }

    /// Written to a temp file and renamed, so a crash leaves old or new.
    fn write_subscriptions(&self, subs: &[String]) -> Result<(), StoreError> {
        fs::create_dir_all(&self.mail_dir).map_err(|e| fs_err("mkdir", &self.mail_dir, e))?;
        let p = self.subscriptions_path();
        let tmp = self
            .mail_dir
            .join(format!(".subscriptions.{}.tmp", std::process::id()));
        let mut body = String::new();
        for s in subs {
            body.push_str(s);
            body.push('\n');
        }
        let res = (|| -> io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(body.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &p)
        })();
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            return Err(fs_err("write", &p, e));
        }
        sync_dir(Some(&self.mail_dir));
        Ok(())
    }
}

fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<FolderEntry>,
) -> Result<(), StoreError> {
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let rd = fs::read_dir(dir).map_err(|e| fs_err("readdir", dir, e))?;
    for e in rd.flatten() {
        if out.len() >= MAX_LIST {
            break;
        }
        let name = match e.file_name().into_string() {
            Ok(n) => n,
            Err(_) => continue,
        };
        if name.starts_with('.') || name.ends_with(".lock") || validate_name(&name).is_err() {
            continue;
        }
        let ft = match e.file_type() {
            Ok(t) => t,
            Err(_) => continue,
        };
        let full = format!("{prefix}{name}");
        if ft.is_dir() {
            let at = out.len();
            out.push(FolderEntry {
                name: full.clone(),
                no_select: true,
                has_children: false,
            });
            walk(&e.path(), &format!("{full}/"), depth + 1, out)?;
            out[at].has_children = out.len() > at + 1;
        } else if ft.is_file() {
            out.push(FolderEntry {
                name: full,
                no_select: false,
                has_children: false,
            });
        }
    }
    Ok(())
}

fn sync_dir(dir: Option<&Path>) {
    if let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(f) = fs::File::open(d) {
            let _ = f.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases: &[(&str, bool)] = &[
            ("work", true),
            ("work/2026", true),
            ("work/", true),
            ("Ünïcode &AOQ-", true),
            ("", false),
            ("/etc/passwd", false),
            ("~root/mbox", false),
            ("../x", false),
            ("a/../../x", false),
            ("a/./b", false),
            ("a//b", false),
            (".subscriptions", false),
            ("a/.hidden", false),
            ("box.lock", false),
            ("a\0b", false),
            ("a\nb", false),
            ("a\x7fb", false),
        ];
        for &(n, ok) in cases {
            assert_eq!(validate_name(n).is_ok(), ok, "{n:?}");
        }
    }

    /// RFC 3501 §6.3.5: RENAME INBOX moves every message (flags, keywords,
    /// dates, sender kept) and leaves an empty INBOX.
    #[test]
    fn rename_inbox_moves_messages() {
        use crate::store::mbox::{Mailbox, OpenOptions};
        use crate::store::Flags;
        let d = std::env::temp_dir().join(format!("postern-rename-inbox-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let f = Folders::new(d.join("mail"), d.join("inbox"));
        let mut text = String::new();
        for i in 0..30 {
            text.push_str(&format!(
                "From s{i}@example.org Mon Nov 23 11:18:{:02} 2026\nSubject: {i}\n\n>From body {i}\n\n",
                i % 60
            ));
        }
        fs::write(d.join("inbox"), &text).unwrap();
        let snapshot = |p: &Path| {
            let mut mb = Mailbox::open(p, &OpenOptions::default()).unwrap();
            (0..mb.len())
                .map(|i| {
                    let mut v = Vec::new();
                    mb.read_message(i, &mut v).unwrap();
                    let m = mb.messages()[i].clone();
                    let kw: Vec<String> = m
                        .keywords
                        .iter()
                        .map(|&k| mb.keywords()[k as usize].clone())
                        .collect();
                    (
                        v,
                        m.flags,
                        kw,
                        m.internal_date,
                        mb.envelope_sender(i).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        {
            let mut mb = Mailbox::open(&d.join("inbox"), &OpenOptions::default()).unwrap();
            mb.set_flags(3, Flags::SEEN, &["work".to_string()]);
            mb.set_flags(7, Flags::DELETED, &[]);
            mb.write_back().unwrap();
        }
        let before = snapshot(&d.join("inbox"));
        assert_eq!(before[3].4, "s3@example.org");
        f.create("taken").unwrap();
        assert_eq!(
            f.rename("INBOX", "taken").unwrap_err().kind,
            ErrorKind::Exists
        );
        assert_eq!(f.rename_inbox("old/inbox").unwrap(), 30);
        assert_eq!(snapshot(&d.join("mail/old/inbox")), before);
        assert!(snapshot(&d.join("inbox")).is_empty());
        f.rename("inbox", "again").unwrap();
        assert!(snapshot(&d.join("mail/again")).is_empty());
    }

    #[test]
    fn tree_operations() {
        let d = std::env::temp_dir().join(format!("postern-folders-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let f = Folders::new(d.join("mail"), d.join("inbox"));
        assert_eq!(f.path("inbox").unwrap(), d.join("inbox"));
        f.create("work/2026").unwrap();
        f.create("lists/").unwrap();
        assert_eq!(f.create("work/2026").unwrap_err().kind, ErrorKind::Exists);
        f.create("a").unwrap();
        f.rename("a", "archive/a").unwrap();
        assert_eq!(
            f.rename("work", "work/sub").unwrap_err().kind,
            ErrorKind::BadName
        );
        let names: Vec<(String, bool, bool)> = f
            .list()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.no_select, e.has_children))
            .collect();
        assert_eq!(
            names,
            vec![
                ("archive".into(), true, true),
                ("archive/a".into(), false, false),
                ("lists".into(), true, false),
                ("work".into(), true, true),
                ("work/2026".into(), false, false),
            ]
        );
        assert_eq!(f.delete("work").unwrap_err().kind, ErrorKind::Exists);
        f.delete("work/2026").unwrap();
        f.delete("work").unwrap();
        assert_eq!(f.delete("INBOX").unwrap_err().kind, ErrorKind::Permission);
        std::os::unix::fs::symlink("/etc", d.join("mail/evil")).unwrap();
        assert_eq!(f.path("evil/passwd").unwrap_err().kind, ErrorKind::BadName);
        f.subscribe("lists").unwrap();
        f.subscribe("INBOX").unwrap();
        f.subscribe("lists").unwrap();
        assert_eq!(
            f.subscriptions().unwrap(),
            vec!["lists".to_string(), "INBOX".to_string()]
        );
        f.unsubscribe("lists").unwrap();
        assert_eq!(
            f.unsubscribe("lists").unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(f.subscriptions().unwrap(), vec!["INBOX".to_string()]);
    }
}
