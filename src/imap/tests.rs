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
    let folders = Folders { inbox: dir.join("inbox"), root: dir.join("mail") };
    Env { dir, folders, cfg }
}

impl Env {
    pub(crate) fn account(&self) -> Account {
        Account { user: "alice".into(), uid: 4242, gid: 4242, home: self.dir.clone(), virtual_user: true }
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

const CAPS: &str = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN MULTIAPPEND SPECIAL-USE";


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
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/transcripts/imap/{name}.out"));
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
        let mb = crate::store::mbox::Mailbox::open(&e.folders.root.join("Archive"), &Default::default()).unwrap();
        s.replace(&mb.uid_validity().to_string(), "$ARCHIVE_UIDVALIDITY")
    });
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
    let deep = format!("n SEARCH {}ALL{}\r\n", "(".repeat(10_000), ")".repeat(10_000));
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
    assert!(out.ends_with("* BYE Too many invalid commands\r\n"), "{out}");
    assert!(!out.contains("panic"));
    // Deep nesting, then a 20 MB line: BAD, then BYE (cannot resync).
    let big = vec![b'x'; 20 << 20];
    let out = {
        let script = Script::new().input(deep.as_bytes()).input("m NOOP\r\n").input(&big).input("\r\no NOOP\r\n");
        let o = script.output();
        let mut ctx = Context::new(e.cfg.clone(), Conn::new(Box::new(script)), None);
        super::serve_preauth(&mut ctx, e.account(), e.folders.clone());
        o.text()
    };
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        lines,
        ["n BAD Too deeply nested", "m OK NOOP completed", "* BAD Command line too long", "* BYE Cannot resynchronise after an over-long line"],
        "{out}"
    );
}

#[test]
fn autologout_after_idle_timeout() {
    let e = env("autologout", INBOX);
    let out = {
        let script = Script::new().input("a NOOP\r\n").pause().input("b NOOP\r\n");
        let o = script.output();
        let mut ctx = Context::new(e.cfg.clone(), Conn::new(Box::new(script)), None);
        ctx.conn.set_idle_timeout(std::time::Duration::from_millis(10));
        super::serve_preauth(&mut ctx, e.account(), e.folders.clone());
        o.text()
    };
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(lines, ["a OK NOOP completed", "* BYE Autologout; idle for too long"]);
}

#[test]
fn dump() {
    let Ok(name) = std::env::var("SCEN") else { return };
    let e = env("dump", INBOX);
    let out = e.run(&scen(&name).0);
    println!("{out}");
    let _ = CAPS;
    let _ = (AuthSource::Pam, PlaintextAuth::Yes);
}
