//! Transcript tests: whole sessions over [`Script`] (scripted client
//! input, captured output) against a temporary INBOX and mail_dir, with
//! exact expected bytes. Authenticated-state tests start with the
//! test-only `serve_preauth` (no password check, no privilege drop: the
//! test process may be root and must keep its ids); LOGIN/AUTHENTICATE
//! failures run through the real [`super::serve`].

use super::folder::Folders;
use crate::auth::Account;
use crate::config::{AuthSource, Config, PlaintextAuth, Server};
use crate::io::{Conn, Script};
use crate::server::Context;
use std::path::PathBuf;

/// Two messages; UIDVALIDITY comes from the first From_ date.
pub(crate) const INBOX: &str = "From alice@example.org Mon Nov 23 10:00:00 2026\n\
From: Alice <alice@example.org>\n\
To: bob@example.org\n\
Subject: one\n\
Date: Mon, 23 Nov 2026 10:00:00 +0000\n\
Message-ID: <1@example.org>\n\
\n\
first body\n\
\n\
From bob@example.org Mon Nov 23 11:00:00 2026\n\
From: Bob <bob@example.org>\n\
To: alice@example.org\n\
Subject: two\n\
Status: RO\n\
\n\
second body\n\
\n";

pub(crate) struct Env {
    pub dir: PathBuf,
    pub folders: Folders,
    pub cfg: Config,
}

pub(crate) fn env(name: &str, inbox: &str) -> Env {
    let dir = std::env::temp_dir().join(format!("postern-imap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("mail")).unwrap();
    std::fs::write(dir.join("inbox"), inbox).unwrap();
    let mut cfg = Config::defaults(Server::Imap);
    cfg.login_delay = 0;
    cfg.hostname = "test.example".into();
    cfg.inbox = dir.join("inbox").display().to_string();
    cfg.mail_dir = dir.join("mail").display().to_string();
    cfg.cert_dir = PathBuf::from("/nonexistent");
    let folders = Folders {
        inbox: dir.join("inbox"),
        root: dir.join("mail"),
    };
    Env { dir, folders, cfg }
}

impl Env {
    pub(crate) fn account(&self) -> Account {
        Account {
            user: "alice".into(),
            uid: 4242,
            gid: 4242,
            home: self.dir.clone(),
            virtual_user: true,
        }
    }

    /// A logged-in session fed `input` in one chunk per element.
    pub(crate) fn run(&self, input: &[&str]) -> String {
        let mut script = Script::new();
        for i in input {
            script = script.input(i);
        }
        let out = script.output();
        let mut ctx = Context::new(self.cfg.clone(), Conn::new(Box::new(script)), None);
        super::serve_preauth(&mut ctx, self.account(), self.folders.clone());
        out.text()
    }

    /// A session from the greeting, not logged in.
    pub(crate) fn run_anon(&self, script: Script) -> String {
        let out = script.output();
        let mut ctx = Context::new(self.cfg.clone(), Conn::new(Box::new(script)), None);
        ctx.stdin_is_socket = true;
        super::serve(&mut ctx);
        out.text()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Asserts line by line, so a failure shows the first differing line.
#[track_caller]
pub(crate) fn check(got: &str, want: &str) {
    let g: Vec<&str> = got.split_inclusive("\r\n").collect();
    let w: Vec<&str> = want.split_inclusive('\n').collect();
    for (i, (a, b)) in g.iter().zip(w.iter()).enumerate() {
        let b = b.replace('\n', "\r\n");
        assert_eq!(*a, b, "line {} differs; whole output:\n{got}", i + 1);
    }
    assert_eq!(g.len(), w.len(), "line count differs; whole output:\n{got}");
}

const CAPS: &str = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN MULTIAPPEND SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN";

fn scen(name: &str) -> (Vec<&'static str>, bool) {
    let v: Vec<&'static str> = match name {
        "mailboxes" => vec![
            "a CREATE Sent\r\n",
            "b CREATE Entw&APw-rfe/2026\r\n",
            "c CREATE Sent\r\n",
            "d CREATE ../etc\r\n",
            "e CREATE levels/\r\n",
            "f LIST \"\" \"*\"\r\n",
            "g LIST \"\" %\r\n",
            "h LIST \"\" \"\"\r\n",
            "i SUBSCRIBE Sent\r\n",
            "j LSUB \"\" *\r\n",
            "k LIST (SUBSCRIBED) \"\" * RETURN (CHILDREN)\r\n",
            "l RENAME Sent Outbox/Sent\r\n",
            "l2 LSUB \"\" *\r\n",
            "m DELETE Outbox\r\n",
            "n DELETE Outbox/Sent\r\n",
            "o DELETE INBOX\r\n",
            "p STATUS Nope (MESSAGES)\r\n",
            "q SELECT levels\r\n",
            "r NAMESPACE\r\n",
            "s LIST \"\" inbox\r\n",
        ],
        "append" => vec![
            "a APPEND Nope {3}\r\n",
            "abc\r\n",
            "b APPEND INBOX (\\Seen $Work) \"23-Nov-2026 12:00:00 +0100\" {24}\r\n",
            "Subject: three\r\n\r\nbody\r\n\r\n",
            "c APPEND INBOX {4+}\r\nhi\r\n {4+}\r\nyo\r\n\r\n",
            "d APPEND INBOX {99999999999}\r\n",
            "e APPEND INBOX {60000000}\r\n",
            "f SELECT INBOX\r\n",
            "g UID STORE 3 +FLAGS.SILENT (\\Flagged)\r\n",
            "h STATUS INBOX (MESSAGES UIDNEXT UNSEEN)\r\n",
        ],
        "flags" => vec![
            "a SELECT INBOX\r\n",
            "b STORE 1 +FLAGS (\\Deleted $Junk)\r\n",
            "c UID STORE 1:* FLAGS.SILENT (\\Seen)\r\n",
            "d STORE 2 -FLAGS (\\Seen)\r\n",
            "e STORE 3 FLAGS (\\Seen)\r\n",
            "f STORE 1 +FLAGS (\\Deleted)\r\n",
            "g UID EXPUNGE 2\r\n",
            "h EXPUNGE\r\n",
            "i NOOP\r\n",
            "j CLOSE\r\n",
            "k NOOP\r\n",
            "l STORE 1 FLAGS (\\Seen)\r\n",
        ],
        "copy" => vec![
            "a CREATE Archive\r\n",
            "b SELECT INBOX\r\n",
            "c COPY 1:2 Archive\r\n",
            "d COPY 1 Nope\r\n",
            "e UID MOVE 2 Archive\r\n",
            "f STATUS Archive (MESSAGES UIDNEXT)\r\n",
            "g EXAMINE Archive\r\n",
            "h MOVE 1 INBOX\r\n",
            "i UNSELECT\r\n",
            "j RENAME INBOX Old\r\n",
            "k STATUS INBOX (MESSAGES)\r\n",
            "l STATUS Old (MESSAGES)\r\n",
        ],
        "misc" => vec![
            "a ID (\"name\" \"test\")\r\n",
            "b ENABLE CONDSTORE\r\n",
            "c CAPABILITY\r\n",
            "d LOGIN a b\r\n",
            "e FETCH 1 FLAGS\r\n",
            "f SELECT INBOX\r\n",
            "g IDLE\r\n",
            "DONE\r\n",
            "h IDLE\r\n",
            "NOPE\r\n",
            "i STORE 5 FLAGS (\\Seen)\r\n",
            "j LOGOUT\r\n",
            "k NOOP\r\n",
        ],
        "fetch" => vec![
            "a EXAMINE INBOX\r\n",
            "b FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)\r\n",
            "c FETCH 2 BODY[]\r\n",
            "d SELECT INBOX\r\n",
            "e FETCH 1 (BODY[TEXT] ENVELOPE)\r\n",
            "f UID FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n",
            "g SEARCH UNSEEN\r\n",
            "h UID SEARCH RETURN (MIN COUNT) FROM bob\r\n",
            "i SEARCH CHARSET KOI8-R ALL\r\n",
            "j UID SORT (REVERSE SUBJECT) UTF-8 ALL\r\n",
            "k THREAD ORDEREDSUBJECT UTF-8 ALL\r\n",
            "l FETCH 3 FLAGS\r\n",
            "m FETCH 1 BODYSTRUCTURE\r\n",
        ],
        "listext" => vec![
            "a CREATE Sent\r\n",
            "b CREATE Trash\r\n",
            "c CREATE work/projects/alpha\r\n",
            "d SUBSCRIBE work/projects/alpha\r\n",
            "e SUBSCRIBE gone\r\n",
            "f SUBSCRIBE INBOX\r\n",
            "g LIST (SUBSCRIBED) \"\" \"*\"\r\n",
            "h LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n",
            "i LIST (RECURSIVEMATCH) \"\" \"%\"\r\n",
            "j LIST (SPECIAL-USE) \"\" \"*\"\r\n",
            "k LIST \"\" (\"INBOX\" \"S*\") RETURN (SUBSCRIBED STATUS (MESSAGES UNSEEN))\r\n",
            "l LIST \"\" \"w%\" RETURN (CHILDREN SPECIAL-USE)\r\n",
            "m LIST (REMOTE) \"\" \"T*\"\r\n",
            "n LSUB \"\" \"*\"\r\n",
            "o LSUB \"\" \"%\"\r\n",
            "p LSUB \"work/\" \"%\"\r\n",
            "q LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (work work/projects/alpha)\r\n",
            "r LIST (X-FOO) \"\" %\r\n",
            "s LIST \"\" % RETURN (X-FOO)\r\n",
        ],
        _ => vec![],
    };
    (v, true)
}

/// Runs scenario `name` and compares with `tests/transcripts/imap/NAME.out`
/// (LF line ends there). `POSTERN_UPDATE_GOLDEN=1` rewrites the file; a
/// mismatch leaves `NAME.out.failed` beside it.
fn golden(name: &str, fixup: impl Fn(&Env, String) -> String) {
    let e = env(&format!("golden-{name}"), INBOX);
    let got = fixup(&e, e.run(&scen(name).0));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/transcripts/imap/{name}.out"));
    let plain = got.replace("\r\n", "\n");
    if std::env::var_os("POSTERN_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &plain).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != plain {
        std::fs::write(path.with_extension("out.failed"), &plain).unwrap();
    }
    check(&got, &want);
}

fn no_fixup(_: &Env, s: String) -> String {
    s
}

#[test]
fn transcript_mailboxes() {
    golden("mailboxes", no_fixup);
}

#[test]
fn transcript_append() {
    golden("append", no_fixup);
}

#[test]
fn transcript_flags_expunge_close() {
    golden("flags", no_fixup);
}

#[test]
fn transcript_copy_move_rename_inbox() {
    golden("copy", |e, s| {
        let mb =
            crate::store::mbox::Mailbox::open(&e.folders.root.join("Archive"), &Default::default())
                .unwrap();
        s.replace(&mb.uid_validity().to_string(), "$ARCHIVE_UIDVALIDITY")
    });
}

#[test]
fn transcript_fetch_search_sort_thread() {
    golden("fetch", no_fixup);
}

#[test]
fn transcript_list_extended_and_status() {
    golden("listext", no_fixup);
}

#[test]
fn transcript_any_state_idle_logout() {
    golden("misc", no_fixup);
}

fn anon_env(name: &str, plaintext: PlaintextAuth) -> Env {
    let mut e = env(name, INBOX);
    let pw = e.dir.join("passwd");
    std::fs::write(&pw, "alice:{PLAIN}secret:4242:4242::/nonexistent:\n").unwrap();
    e.cfg.auth = AuthSource::PasswdFile(pw);
    e.cfg.plaintext_auth = plaintext;
    e
}

#[test]
fn login_disabled_without_tls() {
    let e = anon_env("logindisabled", PlaintextAuth::Tls);
    let out = e.run_anon(
        Script::new()
            .input("a CAPABILITY\r\n")
            .input("b LOGIN alice secret\r\n")
            .input("c AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n")
            .input("d STARTTLS\r\n")
            .input("e SELECT INBOX\r\n")
            .input("f LOGOUT\r\n"),
    );
    check(
        &out,
        &format!(
            "* OK [CAPABILITY {CAPS} LOGINDISABLED] test.example postern IMAP4rev1 ready\n\
             * CAPABILITY {CAPS} LOGINDISABLED\n\
             a OK CAPABILITY completed\n\
             b NO [PRIVACYREQUIRED] Plaintext authentication disallowed without TLS\n\
             c NO [PRIVACYREQUIRED] Plaintext authentication disallowed without TLS\n\
             d NO TLS not available: no server certificate installed\n\
             e BAD SELECT Log in first\n\
             * BYE Logging out\n\
             f OK LOGOUT completed\n"
        ),
    );
}

#[test]
fn failed_logins_end_with_bye() {
    let e = anon_env("failures", PlaintextAuth::Yes);
    let out = e.run_anon(
        Script::new()
            .input("a LOGIN alice wrong\r\n")
            .input("b AUTHENTICATE PLAIN AGFsaWNlAHdyb25n\r\n")
            .input("c AUTHENTICATE LOGIN\r\n")
            .input("*\r\n")
            .input("d AUTHENTICATE PLAIN\r\n")
            .input("!!!\r\n")
            .input("e AUTHENTICATE CRAM-MD5\r\n")
            .input("f AUTHENTICATE LOGIN\r\n")
            .input("Ym9i\r\n")
            .input("d3Jvbmc=\r\n")
            .input("g NOOP\r\n"),
    );
    check(
        &out,
        &format!(
            "* OK [CAPABILITY {CAPS} AUTH=PLAIN AUTH=LOGIN] test.example postern IMAP4rev1 ready\n\
             a NO [AUTHENTICATIONFAILED] Authentication failed\n\
             b NO [AUTHENTICATIONFAILED] Authentication failed\n\
             + VXNlcm5hbWU6\n\
             c BAD AUTHENTICATE: Authentication cancelled\n\
             + \n\
             d BAD AUTHENTICATE: Invalid base64 data\n\
             e NO Unsupported authentication mechanism\n\
             + VXNlcm5hbWU6\n\
             + UGFzc3dvcmQ6\n\
             f NO [AUTHENTICATIONFAILED] Authentication failed\n\
             * BYE Too many authentication failures\n"
        ),
    );
}

#[test]
fn bad_input_is_refused_not_fatal() {
    let e = env("badinput", INBOX);
    let mut noise = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..4000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    let deep = format!(
        "n SEARCH {}ALL{}\r\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let out = e.run(&[
        "a APPEND INBOX {4294967296}\r\n",
        "b LOGIN {4294967296+}\r\n",
    ]);
    check(
        &out,
        &format!(
            "* PREAUTH [CAPABILITY {CAPS}] Logged in as alice\n\
             a BAD Invalid literal size\n\
             b BAD Invalid literal size\n\
             * BYE Cannot resynchronise after refused literal\n"
        ),
    );
    // Random bytes: answered BAD line by line, then BYE after too many.
    let mut script = Script::new().input(&noise).input("\r\nz NOOP\r\n");
    for _ in 0..30 {
        script = script.input("\x00\x01garbage\r\n");
    }
    let out = e.run_anon(script);
    assert!(out.starts_with("* OK [CAPABILITY"), "{out}");
    assert!(out.contains("\r\nz OK NOOP completed\r\n"), "{out}");
    assert!(
        out.ends_with("* BYE Too many invalid commands\r\n"),
        "{out}"
    );
    assert!(!out.contains("panic"));
    // Deep nesting, then a 20 MB line: BAD, then BYE (cannot resync).
    let big = vec![b'x'; 20 << 20];
    let out = {
        let script = Script::new()
            .input(deep.as_bytes())
            .input("m NOOP\r\n")
            .input(&big)
            .input("\r\no NOOP\r\n");
        let o = script.output();
        let mut ctx = Context::new(e.cfg.clone(), Conn::new(Box::new(script)), None);
        super::serve_preauth(&mut ctx, e.account(), e.folders.clone());
        o.text()
    };
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "n BAD Too deeply nested",
            "m OK NOOP completed",
            "* BAD Command line too long",
            "* BYE Cannot resynchronise after an over-long line"
        ],
        "{out}"
    );
}

#[test]
fn autologout_after_idle_timeout() {
    let e = env("autologout", INBOX);
    let out = {
        let script = Script::new()
            .input("a NOOP\r\n")
            .pause()
            .input("b NOOP\r\n");
        let o = script.output();
        let mut ctx = Context::new(e.cfg.clone(), Conn::new(Box::new(script)), None);
        ctx.conn
            .set_idle_timeout(std::time::Duration::from_millis(10));
        super::serve_preauth(&mut ctx, e.account(), e.folders.clone());
        o.text()
    };
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        lines,
        ["a OK NOOP completed", "* BYE Autologout; idle for too long"]
    );
}

/// The client end of a live in-memory session (server in a thread).
struct Client {
    end: crate::io::Duplex,
    buf: Vec<u8>,
    server: Option<std::thread::JoinHandle<()>>,
}

impl Client {
    /// A logged-in session on `e`'s mailboxes in its own thread.
    fn preauth(e: &Env) -> Client {
        Client::preauth_fsuid(e, None)
    }

    /// As [`Client::preauth`], the server thread checking file access as
    /// `fsuid` (see `missing_inbox_in_a_read_only_spool_dir_is_empty`).
    fn preauth_fsuid(e: &Env, fsuid: Option<u32>) -> Client {
        let (server_end, end) = crate::io::duplex();
        let (cfg, account, folders) = (e.cfg.clone(), e.account(), e.folders.clone());
        let server = std::thread::spawn(move || {
            if let Some(u) = fsuid {
                // SAFETY: changes this thread's filesystem uid only.
                unsafe { libc::setfsuid(u) };
            }
            let mut ctx = Context::new(cfg, Conn::new(Box::new(server_end)), None);
            super::serve_preauth(&mut ctx, account, folders);
        });
        let mut c = Client {
            end,
            buf: Vec::new(),
            server: Some(server),
        };
        c.until("\r\n");
        c
    }

    fn send(&mut self, s: &str) {
        use std::io::Write;
        self.end.write_all(s.as_bytes()).unwrap();
    }

    /// Reads until `marker` has arrived (at most 10 s); returns everything
    /// up to and including it.
    fn until(&mut self, marker: &str) -> String {
        use crate::io::RawIo;
        use std::io::Read;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(p) = memchr::memmem::find(&self.buf, marker.as_bytes()) {
                let rest = self.buf.split_off(p + marker.len());
                let got = std::mem::replace(&mut self.buf, rest);
                return String::from_utf8_lossy(&got).into_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {marker:?}; have {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            if self
                .end
                .wait_readable(std::time::Duration::from_millis(100))
                .unwrap()
            {
                let mut tmp = [0u8; 4096];
                let n = self.end.read(&mut tmp).unwrap();
                assert!(
                    n > 0,
                    "server closed; have {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
                self.buf.extend_from_slice(&tmp[..n]);
            }
        }
    }

    fn cmd(&mut self, tag: &str, rest: &str) -> String {
        self.send(&format!("{tag} {rest}\r\n"));
        let mut all = String::new();
        loop {
            let line = self.until("\r\n");
            all.push_str(&line);
            if line.starts_with(&format!("{tag} ")) {
                return all;
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let (a, _) = crate::io::duplex();
        drop(std::mem::replace(&mut self.end, a));
        if let Some(h) = self.server.take() {
            let _ = h.join();
        }
    }
}

fn deliver(e: &Env, subject: &str) {
    let data = format!("From: x@example.org\nSubject: {subject}\n\nhello\n");
    let msg = crate::store::mbox::NewMessage {
        data: data.as_bytes(),
        from: "x@example.org",
        date: (1_795_430_000, 0),
        flags: Default::default(),
        keywords: &[],
    };
    crate::store::mbox::append(&e.folders.inbox, &[msg]).unwrap();
}

#[test]
fn two_sessions_see_each_other() {
    let e = env("twosessions", INBOX);
    let mut a = Client::preauth(&e);
    let mut b = Client::preauth(&e);
    assert!(a.cmd("a1", "SELECT INBOX").contains("* 2 EXISTS\r\n"));
    assert!(b.cmd("b1", "SELECT INBOX").contains("* 2 EXISTS\r\n"));
    assert_eq!(
        a.cmd("a2", "STORE 1 +FLAGS.SILENT (\\Deleted)"),
        "a2 OK STORE completed\r\n"
    );
    assert_eq!(
        b.cmd("b2", "NOOP"),
        // A, selected first, holds \Recent (RFC 3501 §2.3.2).
        "* 1 FETCH (FLAGS (\\Deleted))\r\nb2 OK NOOP completed\r\n"
    );
    assert_eq!(
        a.cmd("a3", "EXPUNGE"),
        "* 1 EXPUNGE\r\na3 OK EXPUNGE completed\r\n"
    );
    // No EXPUNGE while B answers a sequence-number STORE (RFC 3501 §7.4.1).
    assert_eq!(
        b.cmd("b3", "STORE 2 +FLAGS (\\Flagged)"),
        "* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\nb3 OK STORE completed\r\n"
    );
    assert_eq!(
        b.cmd("b4", "NOOP"),
        "* 1 EXPUNGE\r\nb4 OK NOOP completed\r\n"
    );
    assert_eq!(
        a.cmd("a4", "NOOP"),
        "* 1 FETCH (FLAGS (\\Flagged \\Seen))\r\na4 OK NOOP completed\r\n"
    );
    deliver(&e, "three");
    assert_eq!(
        a.cmd("a5", "NOOP"),
        "* 2 EXISTS\r\n* 1 RECENT\r\na5 OK NOOP completed\r\n"
    );
}

#[test]
fn idle_is_woken_by_a_delivery() {
    let e = env("idle", INBOX);
    let mut a = Client::preauth(&e);
    a.cmd("a1", "SELECT INBOX");
    a.send("a2 IDLE\r\n");
    assert_eq!(a.until("\r\n"), "+ idling\r\n");
    let t = std::time::Instant::now();
    deliver(&e, "three");
    assert_eq!(a.until("RECENT\r\n"), "* 3 EXISTS\r\n* 2 RECENT\r\n");
    assert!(t.elapsed() < std::time::Duration::from_secs(2));
    a.send("DONE\r\n");
    assert_eq!(a.until("\r\n"), "a2 OK IDLE terminated\r\n");
}

#[test]
fn starttls_drops_pipelined_commands() {
    use crate::io::tls::tests::{client_config, file, pki, BOTH};
    use std::io::{BufRead, Write};
    let mut e = env("starttls", INBOX);
    let dir = e.dir.join("certs");
    std::fs::create_dir_all(&dir).unwrap();
    let _ = pki();
    std::fs::write(
        dir.join("imapd.pem"),
        [file("srv.crt"), file("srv.key")].concat(),
    )
    .unwrap();
    e.cfg.cert_dir = dir;
    let tls = crate::io::tls::server_config(&e.cfg, None).unwrap();
    let (server_end, mut end) = crate::io::duplex();
    let cfg = e.cfg.clone();
    let server = std::thread::spawn(move || {
        let mut ctx = Context::new(cfg, Conn::new(Box::new(server_end)), Some(tls));
        ctx.stdin_is_socket = true;
        super::serve(&mut ctx);
    });
    let mut c = Client {
        end: crate::io::duplex().0,
        buf: Vec::new(),
        server: None,
    };
    std::mem::swap(&mut c.end, &mut end);
    let greeting = c.until("\r\n");
    assert!(greeting.contains(" STARTTLS LOGINDISABLED]"), "{greeting}");
    c.send("a STARTTLS\r\nb CAPABILITY\r\n");
    assert_eq!(c.until("\r\n"), "a OK Begin TLS negotiation now\r\n");
    assert!(c.buf.is_empty());
    let (_, fresh) = crate::io::duplex();
    let raw = std::mem::replace(&mut c.end, fresh);
    let cc =
        rustls::ClientConnection::new(client_config(BOTH, None), "localhost".try_into().unwrap())
            .unwrap();
    let mut s = rustls::StreamOwned::new(cc, raw);
    s.write_all(b"c CAPABILITY\r\n").unwrap();
    let mut r = std::io::BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        format!("* CAPABILITY {CAPS} AUTH=PLAIN AUTH=LOGIN\r\n")
    );
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(
        line, "c OK CAPABILITY completed\r\n",
        "b must never be answered"
    );
    r.get_mut().write_all(b"d STARTTLS\r\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "d BAD STARTTLS: TLS is already active\r\n");
    drop(r);
    server.join().unwrap();
}

#[test]
fn every_command_in_the_wrong_state() {
    let selected_only = [
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "EXPUNGE",
        "UID EXPUNGE 1",
        "SEARCH ALL",
        "FETCH 1 FLAGS",
        "UID FETCH 1 FLAGS",
        "STORE 1 FLAGS (\\Seen)",
        "COPY 1 INBOX",
        "MOVE 1 INBOX",
        "SORT (DATE) UTF-8 ALL",
        "THREAD REFERENCES UTF-8 ALL",
    ];
    let authenticated = [
        "SELECT INBOX",
        "EXAMINE INBOX",
        "CREATE x",
        "DELETE x",
        "RENAME x y",
        "SUBSCRIBE x",
        "UNSUBSCRIBE x",
        "LIST \"\" *",
        "LSUB \"\" *",
        "NAMESPACE",
        "STATUS INBOX (MESSAGES)",
        "APPEND INBOX {1+}\r\nx",
        "IDLE",
        "ENABLE IDLE",
    ];
    let not_authenticated = ["LOGIN a b", "AUTHENTICATE PLAIN", "STARTTLS"];
    let e = anon_env("wrongstate", PlaintextAuth::Yes);
    // Not authenticated: everything but the any-state and login commands.
    let mut script = Script::new();
    let mut want = format!(
        "* OK [CAPABILITY {CAPS} AUTH=PLAIN AUTH=LOGIN] test.example postern IMAP4rev1 ready\n"
    );
    for (n, c) in selected_only.iter().chain(authenticated.iter()).enumerate() {
        script = script.input(format!("t{n} {c}\r\n"));
        let name = c
            .split(' ')
            .take(if c.starts_with("UID") { 2 } else { 1 })
            .collect::<Vec<_>>()
            .join(" ");
        want.push_str(&format!("t{n} BAD {name} Log in first\n"));
        if n % 10 == 9 {
            // Stay under the limit of refused commands in a row.
            script = script.input(format!("n{n} NOOP\r\n"));
            want.push_str(&format!("n{n} OK NOOP completed\n"));
        }
    }
    check(&e.run_anon(script), &want);
    // Authenticated: the selected-only ones and the login commands.
    let mut input: Vec<String> = Vec::new();
    let mut want = format!("* PREAUTH [CAPABILITY {CAPS}] Logged in as alice\n");
    for (n, c) in selected_only
        .iter()
        .chain(not_authenticated.iter())
        .enumerate()
    {
        input.push(format!("t{n} {c}\r\n"));
        let name = c
            .split(' ')
            .take(if c.starts_with("UID") { 2 } else { 1 })
            .collect::<Vec<_>>()
            .join(" ");
        let why = if n < selected_only.len() {
            "No mailbox selected"
        } else {
            "Already logged in"
        };
        want.push_str(&format!("t{n} BAD {name} {why}\n"));
    }
    let refs: Vec<&str> = input.iter().map(String::as_str).collect();
    check(&e.run(&refs), &want);
}

#[test]
fn append_to_the_selected_mailbox_is_announced() {
    let e = env("appendselected", INBOX);
    let out = e.run(&[
        "a SELECT INBOX\r\n",
        "b APPEND INBOX (\\Flagged $Urgent) {11+}\r\nSubject: \r\n\r\n",
        "c FETCH 3 (UID FLAGS)\r\n",
        "d LOGOUT\r\n",
    ]);
    let tail: Vec<&str> = out.lines().skip(9).collect();
    assert_eq!(
        tail,
        [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Urgent)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Urgent \\*)] Flags permitted",
            "* 3 EXISTS",
            "* 2 RECENT",
            "b OK [APPENDUID 1795428000 3] APPEND completed",
            "* 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent $Urgent))",
            "c OK FETCH completed",
            "* BYE Logging out",
            "d OK LOGOUT completed",
        ],
        "{out}"
    );
}

#[test]
fn configuration_error_says_bye() {
    let e = env("startuperror", INBOX);
    let script = Script::new().input("a NOOP\r\n");
    let out = script.output();
    let mut ctx = Context::new(e.cfg.clone(), Conn::new(Box::new(script)), None);
    ctx.startup_error = Some("postern.conf line 3: unknown key".into());
    super::serve(&mut ctx);
    assert_eq!(
        out.text(),
        "* BYE [UNAVAILABLE] Service not available, configuration error\r\n"
    );
}

#[test]
fn replaced_mailbox_with_new_uidvalidity_ends_the_session() {
    let e = env("uidvalidity", INBOX);
    let mut a = Client::preauth(&e);
    assert!(a
        .cmd("a1", "SELECT INBOX")
        .contains("[UIDVALIDITY 1795428000]"));
    let other = INBOX.replace("Mon Nov 23 10:00:00 2026", "Tue Nov 24 10:00:00 2026");
    let tmp = e.dir.join("inbox.new");
    std::fs::write(&tmp, other).unwrap();
    std::fs::rename(&tmp, &e.folders.inbox).unwrap();
    a.send("a2 NOOP\r\n");
    let got = a.until("\r\n");
    assert_eq!(
        got,
        "* BYE Mailbox was changed by another program, UIDs are no longer valid\r\n"
    );
}

/// A session on an empty INBOX never saw a UID, so the implicit
/// UIDVALIDITY (1) turning into the first message's is no reason for BYE.
#[test]
fn first_delivery_to_an_empty_inbox_keeps_the_session() {
    let e = env("emptyinbox", "");
    let mut a = Client::preauth(&e);
    assert!(a.cmd("a1", "SELECT INBOX").contains("* 0 EXISTS\r\n"));
    deliver(&e, "one");
    let got = a.cmd("a2", "NOOP");
    assert!(got.starts_with("* OK [UIDVALIDITY "), "{got}");
    assert!(
        got.ends_with("* 1 EXISTS\r\n* 1 RECENT\r\na2 OK NOOP completed\r\n"),
        "{got}"
    );
    assert!(a
        .cmd("a3", "FETCH 1 (UID)")
        .contains("* 1 FETCH (UID 1)\r\n"));
}

#[test]
fn idle_on_an_empty_inbox_is_woken_by_a_delivery() {
    let e = env("idleempty", "");
    std::fs::remove_file(&e.folders.inbox).unwrap();
    let mut a = Client::preauth(&e);
    assert!(a.cmd("a1", "SELECT INBOX").contains("* 0 EXISTS\r\n"));
    a.send("a2 IDLE\r\n");
    assert_eq!(a.until("\r\n"), "+ idling\r\n");
    deliver(&e, "one");
    let got = a.until("RECENT\r\n");
    assert!(got.starts_with("* OK [UIDVALIDITY "), "{got}");
    assert!(got.ends_with("* 1 EXISTS\r\n* 1 RECENT\r\n"), "{got}");
    a.send("DONE\r\n");
    assert_eq!(a.until("\r\n"), "a2 OK IDLE terminated\r\n");
}

/// A read-write SELECT takes `\Recent`; EXAMINE leaves it (imaptest `select`).
#[test]
fn select_takes_recent_examine_does_not() {
    let inbox = INBOX.replace("Status: RO\n", "");
    let e = env("takerecent", &inbox);
    let out = e.run(&[
        "a EXAMINE INBOX\r\n",
        "b CLOSE\r\n",
        "c STATUS INBOX (RECENT)\r\n",
        "d SELECT INBOX\r\n",
        "e CLOSE\r\n",
        "f STATUS INBOX (RECENT)\r\n",
    ]);
    assert!(out.contains("* STATUS INBOX (RECENT 2)\r\nc OK"), "{out}");
    assert!(out.contains("* 2 RECENT\r\n"), "{out}");
    assert!(out.contains("* STATUS INBOX (RECENT 0)\r\nf OK"), "{out}");
}

/// No spool file and a spool directory only the MDA may write: INBOX is
/// shown empty, not `NO [NOPERM]`, and a later delivery shows up.
#[test]
fn missing_inbox_in_a_read_only_spool_dir_is_empty() {
    use std::os::unix::fs::PermissionsExt;
    let mut e = env("missinginbox", "");
    let spool = e.dir.join("spool");
    std::fs::create_dir(&spool).unwrap();
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o555)).unwrap();
    e.folders.inbox = spool.join("alice");
    e.cfg.inbox = e.folders.inbox.display().to_string();
    // As root, check permissions as nobody: setfsuid is per thread and drops
    // CAP_DAC_OVERRIDE for this thread only (a no-op for other users).
    // SAFETY: plain syscalls on this thread's credentials.
    let old = unsafe { libc::setfsuid(65534) };
    let out = e.run(&[
        "a SELECT INBOX\r\n",
        "b STATUS INBOX (MESSAGES UIDNEXT)\r\n",
        "c LOGOUT\r\n",
    ]);
    unsafe { libc::setfsuid(old as libc::uid_t) };
    assert!(out.contains("* 0 EXISTS\r\n"), "{out}");
    assert!(
        out.contains("a OK [READ-WRITE] SELECT completed\r\n"),
        "{out}"
    );
    assert!(
        out.contains("* STATUS INBOX (MESSAGES 0 UIDNEXT 1)\r\n"),
        "{out}"
    );

    let mut a = Client::preauth_fsuid(&e, Some(65534));
    assert!(a.cmd("a1", "SELECT INBOX").contains("* 0 EXISTS\r\n"));
    assert_eq!(a.cmd("a2", "NOOP"), "a2 OK NOOP completed\r\n");
    assert!(!e.folders.inbox.exists());
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o755)).unwrap();
    deliver(&e, "one");
    // The MDA creates the spool file owned by the user.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&e.folders.inbox, Some(65534), Some(65534)).unwrap();
    }
    let got = a.cmd("a3", "NOOP");
    assert!(got.contains("* OK [UIDVALIDITY "), "{got}");
    assert!(
        got.ends_with("* 1 EXISTS\r\n* 1 RECENT\r\na3 OK NOOP completed\r\n"),
        "{got}"
    );
}

/// APPEND and COPY write the logged-in user as the From_ line sender (UW).
#[test]
fn append_and_copy_write_the_user_as_envelope_sender() {
    let e = env("fromline", INBOX);
    let out = e.run(&[
        "a CREATE Sent\r\n",
        "b APPEND Sent {11+}\r\nSubject: \r\n\r\n",
        "c SELECT INBOX\r\n",
        "d COPY 1 Sent\r\n",
        "e LOGOUT\r\n",
    ]);
    assert!(out.contains("d OK [COPYUID"), "{out}");
    let sent = std::fs::read_to_string(e.dir.join("mail/Sent")).unwrap();
    let froms: Vec<&str> = sent.lines().filter(|l| l.starts_with("From ")).collect();
    assert_eq!(froms.len(), 2, "{sent}");
    for f in froms {
        assert!(f.starts_with("From alice "), "{f}");
    }
}

/// FETCH skips a message another session expunged, sends the others and
/// answers `NO [EXPUNGEISSUED]` (RFC 2180 §4.1.3).
#[test]
fn fetch_skips_messages_expunged_elsewhere() {
    let e = env("fetchexpunged", INBOX);
    let mut a = Client::preauth(&e);
    let mut b = Client::preauth(&e);
    a.cmd("a1", "SELECT INBOX");
    b.cmd("b1", "SELECT INBOX");
    a.cmd("a2", "STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert!(a.cmd("a3", "EXPUNGE").contains("* 1 EXPUNGE\r\n"));
    // B's STORE rereads the file (so B knows 1 is gone) but may not tell
    // the client yet (RFC 3501 §7.4.1).
    assert!(!b
        .cmd("b4", "STORE 2 +FLAGS (\\Flagged)")
        .contains("EXPUNGE"));
    let got = b.cmd("b2", "FETCH 1:2 (BODY.PEEK[TEXT])");
    assert!(!got.contains("* 1 FETCH"), "{got}");
    assert!(got.contains("* 2 FETCH (BODY[TEXT] "), "{got}");
    assert!(
        got.ends_with("b2 NO [EXPUNGEISSUED] Some messages were expunged by another session\r\n"),
        "{got}"
    );
    assert!(b.cmd("b3", "NOOP").starts_with("* 1 EXPUNGE\r\n"));
}

/// A cold SELECT of a large mailbox never writes it, even to take
/// `\Recent` (the store would rewrite messages lacking metadata).
#[test]
fn select_of_a_large_mailbox_does_not_write() {
    let mut big = INBOX.replace("Status: RO\n", "");
    big.push_str("From carol@example.org Mon Nov 23 12:00:00 2026\nSubject: big\n\n");
    let line = "x".repeat(99) + "\n";
    big.push_str(&line.repeat(85_000));
    big.push('\n');
    let e = env("bigselect", &big);
    let out = e.run(&["a SELECT INBOX\r\n", "b LOGOUT\r\n"]);
    assert!(out.contains("* 3 RECENT\r\n"), "{out}");
    assert!(std::fs::read_to_string(&e.folders.inbox).unwrap() == big);
}

/// Two sessions changing different flags of one message keep both changes
/// (imaptest `store`): B's -FLAGS applies to the file, not its stale view.
#[test]
fn concurrent_stores_merge() {
    let e = env("storemerge", INBOX);
    let mut a = Client::preauth(&e);
    let mut b = Client::preauth(&e);
    a.cmd("a1", "SELECT INBOX");
    b.cmd("b1", "SELECT INBOX");
    a.cmd("a2", "STORE 1 FLAGS.SILENT (\\Seen)");
    b.cmd("b2", "NOOP");
    a.cmd("a3", "STORE 1 +FLAGS.SILENT (\\Answered)");
    assert_eq!(
        b.cmd("b3", "STORE 1 -FLAGS (\\Seen)"),
        "* 1 FETCH (FLAGS (\\Answered))\r\nb3 OK STORE completed\r\n"
    );
    let got = a.cmd("a4", "NOOP");
    assert!(got.starts_with("* 1 FETCH (FLAGS (\\Answered"), "{got}");
    assert!(!got.contains("Seen"), "{got}");
}

/// Random command mixes against a live mailbox (with deliveries between
/// sessions): every command gets exactly one tagged answer, nothing panics.
#[test]
fn random_command_mix_never_panics() {
    let e = env("randommix", INBOX);
    let pieces = [
        "SELECT INBOX",
        "EXAMINE INBOX",
        "NOOP",
        "FETCH * (FLAGS UID)",
        "FETCH 1:* (BODY.PEEK[HEADER] RFC822.SIZE)",
        "FETCH 2 BODY[1]<0.3>",
        "UID FETCH 1:* FAST",
        "STORE 1:* +FLAGS (\\Deleted)",
        "STORE 2 -FLAGS.SILENT (\\Deleted $Kw)",
        "UID STORE 3:* FLAGS ($A $B \\Seen)",
        "EXPUNGE",
        "UID EXPUNGE 1:2",
        "COPY 1:* Other",
        "MOVE 1 Other",
        "UID MOVE 4294967295 Other",
        "CREATE Other",
        "DELETE Other",
        "RENAME Other Other2",
        "RENAME Other2 Other",
        "SEARCH OR SEEN NOT DELETED",
        "UID SEARCH RETURN (ALL COUNT) ALL",
        "SORT (ARRIVAL) UTF-8 ALL",
        "THREAD REFERENCES UTF-8 ALL",
        "STATUS INBOX (MESSAGES UNSEEN RECENT)",
        "STATUS Other (MESSAGES)",
        "APPEND INBOX {8+}\r\nSubj: x\r\n",
        "APPEND Other (\\Seen) {4+}\r\nx\r\n\r\n",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "LIST \"\" *",
        "IDLE\r\nDONE",
        "FETCH 0 FLAGS",
        "STORE 99999 FLAGS ()",
        "COPY 1 ../../etc/passwd",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..6 {
        let mut input = Vec::new();
        let mut tags = 0;
        for n in 0..60 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let c = pieces[(x % pieces.len() as u64) as usize];
            input.push(format!("r{round}x{n} {c}\r\n"));
            tags += 1;
        }
        input.push("zz LOGOUT\r\n".to_string());
        let refs: Vec<&str> = input.iter().map(String::as_str).collect();
        let out = e.run(&refs);
        if std::env::var_os("POSTERN_SHOW_MIX").is_some() {
            println!("{out}");
        }
        deliver(&e, "between rounds");
        let tagged = out
            .lines()
            .filter(|l| {
                l.starts_with('r')
                    && (l.contains(" OK ") || l.contains(" NO ") || l.contains(" BAD "))
            })
            .count();
        assert_eq!(tagged, tags, "round {round}:\n{out}");
        assert!(
            out.ends_with("zz OK LOGOUT completed\r\n"),
            "round {round}:\n{out}"
        );
    }
}

/// `\Seen` from FETCH BODY[] is written after the reply went out, yet it
/// reaches the file even when the client then just drops the connection
/// (no further command, no LOGOUT).
#[test]
fn seen_from_fetch_is_written_when_the_client_vanishes() {
    let inbox = INBOX.replace("Status: RO\n", "");
    let e = env("seenvanish", &inbox);
    let out = e.run(&["a SELECT INBOX\r\n", "b FETCH 1 BODY[]\r\n"]);
    assert!(out.contains("FLAGS (\\Seen"), "{out}");
    let file = std::fs::read_to_string(&e.folders.inbox).unwrap();
    let first = &file[..file.find("\nFrom bob").unwrap()];
    assert!(first.contains("Status: R"), "{file}");
}
