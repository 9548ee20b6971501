//! Delivery of an accepted message: local recipients' mbox spools (the
//! mail.local role) and, in submission mode, the `relay_command` for the
//! others — all or nothing (issue #6).
//!
//! Order: every local append first, each one fsynced by the store and
//! remembered with the mailbox length before and after it; then the relay
//! command. If any step fails, the appends already made are undone (the
//! mailbox is cut back to its old length when nobody appended after us)
//! and the client gets `451 4.3.0` and will retry. The relay runs last
//! because a message handed to another MTA cannot be taken back.
//!
//! The session reaches all this through [`Backend`], so transcript tests
//! run against an in-memory recorder; [`SystemBackend`] is the real one.

use crate::auth::{Account, AuthError};
use crate::config::Config;
use crate::store::{Flags, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One message ready to deliver.
pub struct Delivery<'a> {
    /// Envelope sender, empty for `<>`.
    pub sender: &'a str,
    pub date: (i64, i32),
    /// Distinct local accounts.
    pub local: &'a [Account],
    /// Non-local recipient addresses (submission mode only).
    pub remote: &'a [String],
    /// `Return-Path` + trace headers + message, LF line ends.
    pub message: &'a [u8],
    /// Length of the `Return-Path` line at the start of `message`, which
    /// only final delivery adds (RFC 5321 §4.4); the relay gets the rest.
    pub return_path_len: usize,
}

/// What the session needs from the outside world.
pub trait Backend {
    /// Recipient lookup; `Err` is a temporary failure (`451 4.3.0`).
    fn lookup(&mut self, user: &str) -> Result<Option<Account>, String>;
    fn authenticate(&mut self, user: &str, password: &[u8], peer: Option<std::net::IpAddr>) -> Result<Account, AuthError>;
    /// Deliver to every recipient or to none; `Err` carries the log detail.
    fn deliver(&mut self, d: &Delivery<'_>) -> Result<(), String>;
}

/// A spool append that can be undone.
pub struct Appended {
    pub path: PathBuf,
    pub len_before: u64,
    pub len_after: u64,
    /// Inode after the append (0 = not checked): a rewritten (renamed-over)
    /// mailbox is never cut.
    pub ino: u64,
    /// Whose file it is (the undo runs as this user too).
    pub owner: Option<Account>,
    /// How our message begins in the file after its From_ line.
    pub marker: Vec<u8>,
}

/// Where local copies go; the real one is [`MboxSpool`].
pub trait Spool {
    fn append(&mut self, rcpt: &Account, d: &Delivery<'_>) -> Result<Appended, String>;
    fn undo(&mut self, a: &Appended) -> Result<(), String>;
}

/// Where non-local copies go; the real one is [`CommandRelay`].
pub trait Relay {
    fn relay(&mut self, sender: &str, rcpts: &[String], message: &[u8]) -> Result<(), String>;
}

/// The all-or-nothing rule, independent of how appends and relaying work.
pub fn deliver_all(spool: &mut dyn Spool, relay: &mut dyn Relay, d: &Delivery<'_>) -> Result<(), String> {
    let mut done: Vec<Appended> = Vec::with_capacity(d.local.len());
    let mut failure = None;
    for rcpt in d.local {
        match spool.append(rcpt, d) {
            Ok(a) => done.push(a),
            Err(e) => {
                failure = Some(format!("to=<{}> {e}", rcpt.user));
                break;
            }
        }
    }
    if failure.is_none() && !d.remote.is_empty() {
        if let Err(e) = relay.relay(d.sender, d.remote, &d.message[d.return_path_len..]) {
            failure = Some(format!("relay {e}"));
        }
    }
    let Some(failure) = failure else { return Ok(()) };
    let mut msg = failure;
    for a in done.iter().rev() {
        if let Err(e) = spool.undo(a) {
            // Never worse than a duplicate: the client retries, the user
            // may see the message twice, nothing is lost.
            msg.push_str(&format!("; rollback of {} failed: {e}", a.path.display()));
        }
    }
    Err(msg)
}

/// The recipient's inbox path from the `inbox` template.
pub fn expand(template: &str, acct: &Account) -> PathBuf {
    Config::expand(template, &acct.user, &acct.home)
}

/// Switches the current process to a recipient (in production
/// `auth::privilege::drop_to` with `mail_group` kept for dot-locks).
pub type BecomeUser = Box<dyn Fn(&Account) -> Result<(), String>>;

/// Appends to the recipient's `inbox` through the mbox store. Started as
/// root, each append and undo runs in a child process that has become the
/// recipient first (the mail.local role), so no user's file or directory
/// is ever opened with root's rights; the child reports back over a pipe.
pub struct MboxSpool {
    pub inbox: String,
    /// `None`: work in this process (not root, or tests).
    pub become_user: Option<BecomeUser>,
    /// Fork even when not root (tests of the child protocol).
    pub fork_always: bool,
}

fn store_err(e: StoreError) -> String {
    e.to_string()
}

/// Run `f` as `acct` in a child process when root; its result comes back
/// as `[u64; 3]` or an error text.
fn run_as(
    acct: &Account,
    become_user: Option<&BecomeUser>,
    fork_always: bool,
    f: impl FnOnce() -> Result<[u64; 3], String>,
) -> Result<[u64; 3], String> {
    use nix::unistd::{fork, ForkResult};
    use std::io::Read;
    let Some(become_user) = become_user else { return f() };
    // root's own mail (postmaster) stays with root: drop_to refuses uid 0.
    if (!nix::unistd::geteuid().is_root() || acct.uid == 0) && !fork_always {
        return f();
    }
    let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: smtpd is single-threaded; the child only does file work and
    // leaves with _exit, never returning into the session.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            std::mem::drop(r);
            // fd 0/1 are the client: the child must never write there, not
            // even from a panic hook.
            if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                use std::os::fd::AsRawFd;
                // SAFETY: dup2 on descriptors we own.
                unsafe {
                    libc::dup2(null.as_raw_fd(), 0);
                    libc::dup2(null.as_raw_fd(), 1);
                }
            }
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                become_user(acct)?;
                f()
            }))
            .unwrap_or_else(|_| Err("panic in delivery child".into()));
            let mut buf = Vec::new();
            match out {
                Ok(v) => {
                    buf.push(0);
                    for x in v {
                        buf.extend_from_slice(&x.to_le_bytes());
                    }
                }
                Err(e) => {
                    buf.push(1);
                    buf.extend_from_slice(e.as_bytes());
                }
            }
            let mut pipe = std::fs::File::from(w);
            let _ = pipe.write_all(&buf);
            std::mem::drop(pipe);
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        Ok(ForkResult::Parent { child }) => {
            std::mem::drop(w);
            let mut buf = Vec::new();
            let read = std::fs::File::from(r).read_to_end(&mut buf);
            let _ = nix::sys::wait::waitpid(child, None);
            read.map_err(|e| format!("delivery child: {e}"))?;
            match buf.split_first() {
                Some((0, rest)) if rest.len() == 24 => {
                    let mut v = [0u64; 3];
                    for (i, c) in rest.chunks(8).enumerate() {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(c);
                        v[i] = u64::from_le_bytes(b);
                    }
                    Ok(v)
                }
                Some((1, rest)) => Err(String::from_utf8_lossy(rest).into_owned()),
                _ => Err("delivery child died".into()),
            }
        }
        Err(e) => Err(format!("fork: {e}")),
    }
}

impl MboxSpool {
    /// Create a missing spool file owned by the recipient, mode 0600, never
    /// through a symlink (the spool directory is shared).
    fn ensure_exists(path: &Path, rcpt: &Account) -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => return Err(format!("{} is a symlink", path.display())),
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path);
        match f {
            Ok(f) => {
                // Only when delivering as root without a child (no
                // become_user): the file must still be the recipient's.
                if nix::unistd::geteuid().is_root() {
                    std::os::unix::fs::fchown(&f, Some(rcpt.uid), Some(rcpt.gid))
                        .map_err(|e| format!("chown {}: {e}", path.display()))?;
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(format!("create {}: {e}", path.display())),
        }
    }

    fn append_here(path: &Path, rcpt: &Account, d: &Delivery<'_>) -> Result<[u64; 3], String> {
        use std::os::unix::fs::MetadataExt;
        Self::ensure_exists(path, rcpt)?;
        let meta = |p: &Path| std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()));
        let len_before = meta(path)?.len();
        let from = if d.sender.is_empty() { "MAILER-DAEMON" } else { d.sender };
        let msg = crate::store::mbox::NewMessage { data: d.message, from, date: d.date, flags: Flags::default(), keywords: &[] };
        crate::store::mbox::append(path, std::slice::from_ref(&msg)).map_err(store_err)?;
        let after = meta(path)?;
        Ok([len_before, after.len(), after.ino()])
    }

    /// Cut the mailbox back to its length before our append, but only
    /// when what follows that length is exactly our message: it starts with
    /// a From_ line and our own Return-Path/Received lines (which hold the
    /// unique queue id), and no other From_ line follows (mboxrd quotes
    /// body lines, so one would be another writer's message). Anything else
    /// and the copy stays: a duplicate, never a loss.
    fn undo_here(a: &Appended) -> Result<(), String> {
        // TODO(store): an undo under the store's own locks (see report).
        use std::io::{Read, Seek, SeekFrom};
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&a.path)
            .map_err(|e| e.to_string())?;
        let m = f.metadata().map_err(|e| e.to_string())?;
        if m.len() != a.len_after || (a.ino != 0 && m.ino() != a.ino) {
            return Err(format!("mailbox changed since append ({} != {})", m.len(), a.len_after));
        }
        let mut region = Vec::new();
        f.seek(SeekFrom::Start(a.len_before)).map_err(|e| e.to_string())?;
        (&mut f).take(a.len_after.saturating_sub(a.len_before)).read_to_end(&mut region).map_err(|e| e.to_string())?;
        let ours = region.starts_with(b"From ")
            && memchr::memchr(b'\n', &region).is_some_and(|nl| region[nl + 1..].starts_with(&a.marker))
            && memchr::memmem::find(&region[1..], b"\nFrom ").is_none();
        if !ours {
            return Err("appended region is not exactly our message".into());
        }
        f.set_len(a.len_before).map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())
    }
}

impl Spool for MboxSpool {
    fn append(&mut self, rcpt: &Account, d: &Delivery<'_>) -> Result<Appended, String> {
        let path = expand(&self.inbox, rcpt);
        let [len_before, len_after, ino] = run_as(rcpt, self.become_user.as_ref(), self.fork_always, || Self::append_here(&path, rcpt, d))?;
        // Return-Path and the Received header up to its date: unique per message.
        let end = memchr::memmem::find(d.message, b";\n\t").unwrap_or(0).min(4096);
        let marker = d.message[..end].to_vec();
        Ok(Appended { path, len_before, len_after, ino, owner: Some(rcpt.clone()), marker })
    }

    fn undo(&mut self, a: &Appended) -> Result<(), String> {
        match &a.owner {
            Some(owner) => run_as(owner, self.become_user.as_ref(), self.fork_always, || Self::undo_here(a).map(|()| [0; 3])).map(|_| ()),
            None => Self::undo_here(a),
        }
    }
}

/// Runs `relay_command` with `%f` replaced by the sender and the
/// recipients appended as arguments; the message on stdin.
pub struct CommandRelay {
    pub command: String,
}

impl Relay for CommandRelay {
    fn relay(&mut self, sender: &str, rcpts: &[String], message: &[u8]) -> Result<(), String> {
        use std::process::{Command, Stdio};
        let sender = if sender.is_empty() { "<>" } else { sender };
        let mut words = self.command.split_whitespace().map(|w| w.replace("%f", sender));
        let prog = words.next().ok_or("relay_command is empty")?;
        // stdout/stderr never inherit fd 1/2: under inetd they are the client.
        let mut child = Command::new(&prog)
            .args(words)
            .args(rcpts)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{prog}: {e}"))?;
        let wrote = child.stdin.take().map(|mut s| s.write_all(message));
        let status = child.wait().map_err(|e| format!("{prog}: {e}"))?;
        if let Some(Err(e)) = wrote {
            return Err(format!("{prog}: writing message: {e}"));
        }
        if status.success() {
            Ok(())
        } else {
            Err(format!("{prog}: {status}"))
        }
    }
}

/// The production backend: `auth::lookup`, `auth::authenticate`, the mbox
/// spool and the relay command.
pub struct SystemBackend<'a> {
    pub cfg: &'a Config,
}

impl Backend for SystemBackend<'_> {
    fn lookup(&mut self, user: &str) -> Result<Option<Account>, String> {
        crate::auth::lookup(self.cfg, user).map_err(|e| format!("{e:?}"))
    }
    fn authenticate(&mut self, user: &str, password: &[u8], peer: Option<std::net::IpAddr>) -> Result<Account, AuthError> {
        crate::auth::authenticate(self.cfg, user, password, peer)
    }
    fn deliver(&mut self, d: &Delivery<'_>) -> Result<(), String> {
        let mail_gid = nix::unistd::Group::from_name(&self.cfg.mail_group).ok().flatten().map(|g| g.gid.as_raw());
        let become_user: BecomeUser =
            Box::new(move |a| {
            // Delivery uses absolute paths: no chdir, so no "Home not usable"
            // warning per message for virtual users without a home.
            use crate::auth::privilege::{drop_to_with, Home};
            drop_to_with(a, mail_gid, Home::Skip).map_err(|e| e.to_string())
        });
        let mut spool = MboxSpool { inbox: self.cfg.inbox.clone(), become_user: Some(become_user), fork_always: false };
        let mut relay = CommandRelay { command: self.cfg.relay_command.clone().unwrap_or_default() };
        deliver_all(&mut spool, &mut relay, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(u: &str) -> Account {
        Account { user: u.into(), uid: 1000, gid: 1000, home: PathBuf::from(format!("/home/{u}")), virtual_user: false }
    }

    /// Records appends; fails for users named in `fail`.
    struct FakeSpool {
        fail: Vec<&'static str>,
        boxes: Vec<(String, usize)>,
        log: Vec<String>,
    }
    impl Spool for FakeSpool {
        fn append(&mut self, rcpt: &Account, _d: &Delivery<'_>) -> Result<Appended, String> {
            if self.fail.contains(&rcpt.user.as_str()) {
                return Err("disk full".into());
            }
            self.log.push(format!("append {}", rcpt.user));
            self.boxes.push((rcpt.user.clone(), 1));
            Ok(Appended { path: PathBuf::from(&rcpt.user), len_before: 0, len_after: 1, ino: 0, owner: None, marker: Vec::new() })
        }
        fn undo(&mut self, a: &Appended) -> Result<(), String> {
            self.log.push(format!("undo {}", a.path.display()));
            let u = a.path.display().to_string();
            self.boxes.retain(|(b, _)| *b != u);
            Ok(())
        }
    }
    struct FakeRelay(bool, Vec<String>);
    impl Relay for FakeRelay {
        fn relay(&mut self, _s: &str, r: &[String], m: &[u8]) -> Result<(), String> {
            self.1.push(format!("{} {}", r.join(","), String::from_utf8_lossy(m)));
            if self.0 {
                Ok(())
            } else {
                Err("exit 75".into())
            }
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn all_or_nothing_table() {
        let locals = [acct("a"), acct("b"), acct("c")];
        let remote = ["x@far.example".to_string()];
        // (failing users, relay ok, with remote, expect ok, expected log)
        let cases: Vec<(Vec<&'static str>, bool, bool, bool, Vec<&str>)> = vec![
            (vec![], true, false, true, vec!["append a", "append b", "append c"]),
            (vec!["c"], true, false, false, vec!["append a", "append b", "undo b", "undo a"]),
            (vec!["a"], true, false, false, vec![]),
            (vec![], false, true, false, vec!["append a", "append b", "append c", "undo c", "undo b", "undo a"]),
            (vec![], true, true, true, vec!["append a", "append b", "append c"]),
        ];
        for (fail, relay_ok, with_remote, ok, log) in cases {
            let mut s = FakeSpool { fail, boxes: vec![], log: vec![] };
            let mut r = FakeRelay(relay_ok, vec![]);
            let msg = b"Return-Path: <s@x>\nSubject: t\n\nbody\n";
            let d = Delivery {
                sender: "s@x",
                date: (0, 0),
                local: &locals,
                remote: if with_remote { &remote } else { &[] },
                message: msg,
                return_path_len: 19,
            };
            assert_eq!(deliver_all(&mut s, &mut r, &d).is_ok(), ok);
            assert_eq!(s.log, log);
            if !ok {
                assert!(s.boxes.is_empty());
            }
            if with_remote && !r.1.is_empty() {
                assert_eq!(r.1[0], "x@far.example Subject: t\n\nbody\n");
            }
        }
    }

    #[test]
    fn expand_table() {
        let a = acct("alice");
        for (t, want) in [("/var/mail/%u", "/var/mail/alice"), ("%h/Mail/inbox", "/home/alice/Mail/inbox")] {
            assert_eq!(expand(t, &a), PathBuf::from(want));
        }
    }

    #[test]
    fn relay_command_runs() {
        let dir = std::env::temp_dir().join(format!("postern-relay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let script = dir.join("relay.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" > {0}\ncat >> {0}\n", out.display())).unwrap();
        let mut r = CommandRelay { command: format!("/bin/sh {} -f %f --", script.display()) };
        r.relay("s@x", &["a@far".into(), "b@far".into()], b"hello\n").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "-f s@x -- a@far b@far\nhello\n");
        let mut bad = CommandRelay { command: "/bin/false".into() };
        assert!(bad.relay("", &["a@far".into()], b"x").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn spool_undo_only_our_own_message() {
        let dir = std::env::temp_dir().join(format!("postern-undo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("box");
        let old = b"From a Thu Jan  1 00:00:00 1970\nSubject: old\n\nx\n\n".to_vec();
        let ours = b"From s Thu Jan  1 00:00:00 1970\nReturn-Path: <s>\nReceived: id 1\n\n>From body\n\n".to_vec();
        let other = b"From o Thu Jan  1 00:00:00 1970\nSubject: other\n\n".to_vec();
        let undo = |content: &[u8], before: usize, marker: &[u8]| {
            std::fs::write(&p, content).unwrap();
            let a = Appended {
                path: p.clone(),
                len_before: before as u64,
                len_after: content.len() as u64,
                ino: 0,
                owner: None,
                marker: marker.to_vec(),
            };
            let r = MboxSpool::undo_here(&a);
            (r.is_ok(), std::fs::read(&p).unwrap())
        };
        // (file, length before our append, marker) → undone?
        let cases: Vec<(Vec<u8>, usize, &[u8], bool)> = vec![
            ([old.clone(), ours.clone()].concat(), old.len(), b"Return-Path: <s>\nReceived: id 1", true),
            // another writer appended between our stat and the store's lock
            ([old.clone(), other.clone(), ours.clone()].concat(), old.len(), b"Return-Path: <s>\nReceived: id 1", false),
            // ... or after our append, before our second stat
            ([old.clone(), ours.clone(), other.clone()].concat(), old.len(), b"Return-Path: <s>\nReceived: id 1", false),
            ([old.clone(), ours.clone()].concat(), old.len(), b"Return-Path: <s>\nReceived: id 2", false),
        ];
        for (content, before, marker, undone) in cases {
            let (ok, after) = undo(&content, before, marker);
            assert_eq!(ok, undone);
            assert_eq!(after, if undone { content[..before].to_vec() } else { content.clone() });
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn child_process_protocol() {
        let a = acct("alice");
        let become_ok: BecomeUser = Box::new(|_| Ok(()));
        let become_fail: BecomeUser = Box::new(|a| Err(format!("cannot become {}", a.user)));
        assert_eq!(run_as(&a, Some(&become_ok), true, || Ok([1, 2, u64::MAX])), Ok([1, 2, u64::MAX]));
        assert_eq!(run_as(&a, Some(&become_ok), true, || Err("disk full".into())), Err("disk full".to_string()));
        assert_eq!(run_as(&a, Some(&become_fail), true, || Ok([0; 3])), Err("cannot become alice".to_string()));
        assert_eq!(run_as(&a, None, true, || Ok([7; 3])), Ok([7; 3]));
    }

    #[test]
    fn spool_file_created_0600_not_through_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("postern-create-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("alice");
        MboxSpool::ensure_exists(&p, &acct("alice")).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let l = dir.join("link");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert!(MboxSpool::ensure_exists(&l, &acct("alice")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
