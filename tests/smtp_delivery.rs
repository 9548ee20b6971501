//! smtpd delivery into real mbox files through the store: the trace
//! headers, the From_ line, and all-or-nothing rollback across recipients.

use postern::auth::Account;
use postern::smtp::deliver::{deliver_all, CommandRelay, Delivery, MboxSpool};
use std::path::{Path, PathBuf};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("postern-smtp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn acct(u: &str, home: &Path) -> Account {
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    Account { user: u.into(), uid, gid, home: home.join(u), virtual_user: true }
}

const MSG: &[u8] = b"Return-Path: <s@far.example>\nReceived: from c ([192.0.2.7])\n\tby mx.example (postern) with ESMTP id 1;\n\tThu, 1 Jan 1970 00:00:00 +0000\nSubject: hi\n\nFrom the start\nbody\n";

fn delivery<'a>(local: &'a [Account]) -> Delivery<'a> {
    Delivery { sender: "s@far.example", date: (1_700_000_000, 0), local, remote: &[], message: MSG, return_path_len: 29 }
}

#[test]
fn delivers_to_every_recipient_with_from_line_and_quoting() {
    let d = tmpdir("ok");
    let users = [acct("alice", &d), acct("bob", &d)];
    let mut spool = MboxSpool { inbox: format!("{}/%u", d.display()), become_user: None, fork_always: false };
    let mut relay = CommandRelay { command: String::new() };
    deliver_all(&mut spool, &mut relay, &delivery(&users)).unwrap();
    for u in ["alice", "bob"] {
        let text = String::from_utf8(std::fs::read(d.join(u)).unwrap()).unwrap();
        assert!(text.starts_with("From s@far.example "), "{text}");
        assert!(text.contains("Return-Path: <s@far.example>\n"), "{text}");
        assert!(text.contains("\n>From the start\n"), "{text}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(d.join(u)).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn one_failure_rolls_back_the_others() {
    let d = tmpdir("rollback");
    std::fs::write(d.join("alice"), b"").unwrap();
    // bob's inbox cannot be created: his "spool" is a directory.
    std::fs::create_dir_all(d.join("bob")).unwrap();
    let users = [acct("alice", &d), acct("bob", &d)];
    let mut spool = MboxSpool { inbox: format!("{}/%u", d.display()), become_user: None, fork_always: false };
    let mut relay = CommandRelay { command: String::new() };
    // alice already has one message: it must survive untouched.
    deliver_all(&mut spool, &mut relay, &delivery(&users[..1])).unwrap();
    let before = std::fs::read(d.join("alice")).unwrap();
    assert!(deliver_all(&mut spool, &mut relay, &delivery(&users)).is_err());
    let after = std::fs::read(d.join("alice")).unwrap();
    // The store bumps X-IMAPbase's UIDNEXT in place before appending; an
    // undone append only skips a UID. Everything else is as before.
    assert_eq!(after.len(), before.len());
    assert_eq!(without_imapbase(&after), without_imapbase(&before));
    let _ = std::fs::remove_dir_all(&d);
}

fn without_imapbase(b: &[u8]) -> String {
    String::from_utf8_lossy(b).lines().filter(|l| !l.starts_with("X-IMAPbase:")).collect::<Vec<_>>().join("\n")
}

#[test]
fn failing_relay_rolls_back_local_copies() {
    let d = tmpdir("relay");
    let users = [acct("alice", &d)];
    let remote = ["x@far.example".to_string()];
    let mut spool = MboxSpool { inbox: format!("{}/%u", d.display()), become_user: None, fork_always: false };
    let mut relay = CommandRelay { command: "/bin/false".into() };
    let mut del = delivery(&users);
    del.remote = &remote;
    assert!(deliver_all(&mut spool, &mut relay, &del).is_err());
    assert_eq!(std::fs::read(d.join("alice")).map(|v| v.len()).unwrap_or(0), 0);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn delivery_child_becomes_the_recipient() {
    use postern::smtp::deliver::BecomeUser;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let d = tmpdir("child");
    let root = nix::unistd::geteuid().is_root();
    let mut user = acct("carol", &d);
    if root {
        // A spool directory like /var/mail: others may create their file.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        user.uid = 64_321;
        user.gid = 64_321;
    }
    let become_user: BecomeUser = if root {
        Box::new(|a| postern::auth::privilege::drop_to(a, None).map_err(|e| e.to_string()))
    } else {
        Box::new(|_| Ok(()))
    };
    let mut spool = MboxSpool { inbox: format!("{}/%u", d.display()), become_user: Some(become_user), fork_always: true };
    let mut relay = CommandRelay { command: String::new() };
    let users = [user.clone()];
    deliver_all(&mut spool, &mut relay, &delivery(&users)).unwrap();
    let m = std::fs::metadata(d.join("carol")).unwrap();
    assert_eq!((m.uid(), m.permissions().mode() & 0o777), (user.uid, 0o600));
    // The undo runs as the recipient too.
    std::fs::create_dir_all(d.join("dave")).unwrap();
    let both = [user.clone(), acct("dave", &d)];
    let len = m.len();
    assert!(deliver_all(&mut spool, &mut relay, &delivery(&both)).is_err());
    assert_eq!(std::fs::metadata(d.join("carol")).unwrap().len(), len);
    assert_eq!(nix::unistd::geteuid().is_root(), root, "the parent never changed ids");
    let _ = std::fs::remove_dir_all(&d);
}

/// The whole production path in process: Conn over a script, passwd-file
/// lookup and login, the store's append.
#[test]
fn serve_conn_end_to_end_with_passwd_file_and_store() {
    use postern::config::{Config, Server, SmtpMode};
    use postern::io::{Conn, Script};
    let d = tmpdir("e2e");
    // uid 0 may not log in: as root, alice is another uid and delivery
    // goes through the child that becomes her (spool directory like /var/mail).
    let (uid, gid) = if nix::unistd::geteuid().is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        (64_322, 64_322)
    } else {
        (nix::unistd::getuid().as_raw(), nix::unistd::getgid().as_raw())
    };
    std::fs::write(d.join("passwd"), format!("alice:{{PLAIN}}secret:{uid}:{gid}::{}:/bin/sh\n", d.display())).unwrap();
    let mut cfg = Config::defaults(Server::Smtp);
    for (k, v) in [
        ("auth", format!("passwd-file:{}", d.join("passwd").display())),
        ("inbox", format!("{}/%u.mbox", d.display())),
        ("hostname", "mx.test".into()),
        ("local_domains", "mx.test".into()),
        ("plaintext_auth", "yes".into()),
        ("login_delay", "0".into()),
    ] {
        cfg.set(k, &v).unwrap();
    }
    let run = |mode: SmtpMode, input: &str| {
        let script = Script::new().input(input);
        let out = script.output();
        let mut conn = Conn::new(Box::new(script));
        postern::smtp::serve_conn(&cfg, &mut conn, None, mode);
        out.text()
    };
    let mx = run(
        SmtpMode::Mx,
        "EHLO c\r\nMAIL FROM:<s@far.example>\r\nRCPT TO:<alice@mx.test>\r\nRCPT TO:<nobody@mx.test>\r\nDATA\r\nSubject: one\r\n\r\nFrom here\r\n.\r\nQUIT\r\n",
    );
    assert!(mx.contains("550 5.1.1 User unknown\r\n354 ") && mx.contains("250 2.0.0 OK id="), "{mx}");
    let sub = run(
        SmtpMode::Submission,
        "EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@mx.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\nSubject: two\r\n\r\nhi\r\n.\r\nQUIT\r\n",
    );
    assert!(sub.contains("235 2.7.0") && sub.contains("250 2.0.0 OK id="), "{sub}");
    let mbox = std::fs::read_to_string(d.join("alice.mbox")).unwrap();
    assert_eq!(mbox.matches("\nFrom ").count() + usize::from(mbox.starts_with("From ")), 2, "{mbox}");
    assert!(mbox.contains("\nSubject: one\n") && mbox.contains("\n>From here\n"), "{mbox}");
    assert!(mbox.contains("with ESMTPA id ") && mbox.contains("(authenticated user=alice)"), "{mbox}");
    assert!(mbox.contains("\nMessage-ID: <") && mbox.contains("\nDate: "), "{mbox}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(d.join("alice.mbox")).unwrap().uid(), uid);
    let _ = std::fs::remove_dir_all(&d);
}

/// SMTPUTF8 (RFC 6531): the From_ line keeps the raw UTF-8 envelope
/// sender, as UW and Dovecot write it, never a space or line break.
#[test]
fn utf8_envelope_sender_kept_raw_in_from_line() {
    let d = tmpdir("utf8");
    let users = [acct("alice", &d)];
    let mut spool = MboxSpool { inbox: format!("{}/%u", d.display()), become_user: None, fork_always: false };
    let mut relay = CommandRelay { command: String::new() };
    for (sender, want) in [("jörg@bücher.example", "From jörg@bücher.example "), ("a b\r\n@x", "From ab@x ")] {
        let _ = std::fs::remove_file(d.join("alice"));
        let dl = Delivery { sender, ..delivery(&users) };
        deliver_all(&mut spool, &mut relay, &dl).unwrap();
        let text = String::from_utf8(std::fs::read(d.join("alice")).unwrap()).unwrap();
        assert!(text.starts_with(want), "{text}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
