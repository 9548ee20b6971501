//! Delivery of an accepted message: local recipients' mbox spools (the
//! mail.local role) and, in submission mode, the `relay_command` for the
//! others — all or nothing (issue #6).
//!
//! Order: every local append first, each one fsynced by the store and
//! remembered by its [`AppendReceipt`] (inode and sizes measured under the
//! lock); then the relay command. If any step fails, the appends already
//! made are undone with `store::mbox::undo_append`, which cuts the mailbox
//! back only if it is still exactly as our append left it, and the client
//! gets `451 4.3.0` and will retry. The relay runs last
//! because a message handed to another MTA cannot be taken back.
//!
//! The session reaches all this through [`Backend`], so transcript tests
//! run against an in-memory recorder; [`SystemBackend`] is the real one.

use crate::auth::{Account, AuthError};
use crate::config::Config;
use crate::store::mbox::AppendReceipt;
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
    /// What the store measured under its lock.
    pub receipt: AppendReceipt,
    /// Whose file it is (the undo runs as this user too).
    pub owner: Option<Account>,
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
/// is opened with root's rights; the child reports back over a pipe.
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

/// What a delivery child reports back: an [`AppendReceipt`] of one message.
type Words = [u64; 8];

fn receipt_words(r: &AppendReceipt) -> Words {
    let (off, was) = r.base_field.unwrap_or((u64::MAX, 0));
    [r.dev, r.ino, r.old_size, r.new_size, u64::from(r.uidvalidity), r.uids.first().copied().map_or(u64::MAX, u64::from), off, u64::from(was)]
}

fn words_receipt(w: Words) -> AppendReceipt {
    let [dev, ino, old_size, new_size, validity, uid, off, was] = w;
    AppendReceipt {
        dev,
        ino,
        old_size,
        new_size,
        uidvalidity: validity as u32,
        uids: u32::try_from(uid).ok().into_iter().collect(),
        base_field: (off != u64::MAX).then_some((off, was as u32)),
    }
}

/// Run `f` as `acct` in a child process when root; its result comes back
/// as [`Words`] or an error text.
fn run_as(
    acct: &Account,
    become_user: Option<&BecomeUser>,
    fork_always: bool,
    f: impl FnOnce() -> Result<Words, String>,
) -> Result<Words, String> {
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
                Some((0, rest)) if rest.len() == 64 => {
                    let mut v = [0u64; 8];
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

    fn append_here(path: &Path, rcpt: &Account, d: &Delivery<'_>) -> Result<Words, String> {
        Self::ensure_exists(path, rcpt)?;
        let from = if d.sender.is_empty() { "MAILER-DAEMON" } else { d.sender };
        let msg = crate::store::mbox::NewMessage { data: d.message, from, date: d.date, flags: Flags::default(), keywords: &[] };
        let r = crate::store::mbox::append_with_receipt(path, std::slice::from_ref(&msg)).map_err(store_err)?;
        Ok(receipt_words(&r))
    }

    /// Undo through the store, which refuses unless the mailbox is still
    /// exactly as our append left it (a duplicate, never a loss).
    fn undo_here(a: &Appended) -> Result<(), String> {
        crate::store::mbox::undo_append(&a.path, &a.receipt).map_err(store_err)
    }
}

impl Spool for MboxSpool {
    fn append(&mut self, rcpt: &Account, d: &Delivery<'_>) -> Result<Appended, String> {
        let path = expand(&self.inbox, rcpt);
        let w = run_as(rcpt, self.become_user.as_ref(), self.fork_always, || Self::append_here(&path, rcpt, d))?;
        Ok(Appended { path, receipt: words_receipt(w), owner: Some(rcpt.clone()) })
    }

    fn undo(&mut self, a: &Appended) -> Result<(), String> {
        match &a.owner {
            Some(owner) => run_as(owner, self.become_user.as_ref(), self.fork_always, || Self::undo_here(a).map(|()| [0; 8])).map(|_| ()),
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
            let receipt = AppendReceipt { dev: 0, ino: 0, old_size: 0, new_size: 1, uidvalidity: 1, uids: vec![1], base_field: None };
            Ok(Appended { path: PathBuf::from(&rcpt.user), receipt, owner: None })
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

    fn spool_msg<'a>(local: &'a [Account], message: &'a [u8]) -> Delivery<'a> {
        Delivery { sender: "s@x", date: (0, 0), local, remote: &[], message, return_path_len: 0 }
    }

    #[test]
    fn spool_undo_only_our_own_message() {
        let dir = std::env::temp_dir().join(format!("postern-undo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("box");
        let old = b"From a Thu Jan  1 00:00:00 1970\nSubject: old\n\nx\n\n".to_vec();
        let other = b"From o Thu Jan  1 00:00:00 1970\nSubject: other\n\n".to_vec();
        let rcpt = [acct("alice")];
        // (what happens between our append and the undo, undone?)
        enum Between {
            Nothing,
            OtherWriterAppends,
            Replaced,
        }
        for (between, undone) in [(Between::Nothing, true), (Between::OtherWriterAppends, false), (Between::Replaced, false)] {
            std::fs::write(&p, &old).unwrap();
            let mut spool = MboxSpool { inbox: p.display().to_string(), become_user: None, fork_always: false };
            let msg = b"Return-Path: <s@x>\nSubject: ours\n\nbody\n";
            let a = spool.append(&rcpt[0], &spool_msg(&rcpt, msg)).unwrap();
            assert_eq!(a.receipt.old_size, old.len() as u64);
            let ours = std::fs::read(&p).unwrap();
            assert_eq!(a.receipt.new_size, ours.len() as u64);
            let expect = match between {
                Between::Nothing => old.clone(),
                Between::OtherWriterAppends => {
                    let m = crate::store::mbox::NewMessage { data: b"Subject: other\n\nz\n", from: "o@x", date: (0, 0), flags: Flags::default(), keywords: &[] };
                    crate::store::mbox::append(&p, std::slice::from_ref(&m)).unwrap();
                    std::fs::read(&p).unwrap()
                }
                Between::Replaced => {
                    let tmp = dir.join("new");
                    std::fs::write(&tmp, [&ours[..], &other[..]].concat()).unwrap();
                    std::fs::rename(&tmp, &p).unwrap();
                    // same length as after our append, different inode
                    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
                    f.set_len(ours.len() as u64).unwrap();
                    ours.clone()
                }
            };
            assert_eq!(spool.undo(&a).is_ok(), undone);
            assert_eq!(std::fs::read(&p).unwrap(), expect);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn child_process_protocol() {
        let a = acct("alice");
        let become_ok: BecomeUser = Box::new(|_| Ok(()));
        let become_fail: BecomeUser = Box::new(|a| Err(format!("cannot become {}", a.user)));
        let w = [1, 2, u64::MAX, 4, 5, 6, 7, 8];
        assert_eq!(run_as(&a, Some(&become_ok), true, || Ok(w)), Ok(w));
        assert_eq!(run_as(&a, Some(&become_ok), true, || Err("disk full".into())), Err("disk full".to_string()));
        assert_eq!(run_as(&a, Some(&become_fail), true, || Ok([0; 8])), Err("cannot become alice".to_string()));
        assert_eq!(run_as(&a, None, true, || Ok([7; 8])), Ok([7; 8]));
        let r = AppendReceipt { dev: 9, ino: 8, old_size: 7, new_size: 70, uidvalidity: 5, uids: vec![4], base_field: Some((30, 3)) };
        assert_eq!(words_receipt(receipt_words(&r)), r);
        let r = AppendReceipt { base_field: None, ..r };
        assert_eq!(words_receipt(receipt_words(&r)), r);
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
