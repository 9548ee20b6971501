//! Interop with Dovecot both ways (issue 3), through the side-by-side kit's
//! /work/shared/bench/run-imap.sh (Dovecot's imap on stdin/stdout, PREAUTH).
//! Skipped (with a note) where Dovecot or the kit is not installed.
//!
//! 1. postern writes flags, keywords and an expunge; Dovecot shows the same
//!    UIDVALIDITY, UIDNEXT, UIDs, flags and keywords.
//! 2. Dovecot changes flags and appends; postern shows what Dovecot shows.

mod store_support;

use postern::store::mbox::{Mailbox, OpenOptions};
use postern::store::Flags;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use store_support::*;

const KIT: &str = "/work/shared/bench/run-imap.sh";

/// (uidvalidity, uidnext, [(uid, flags)]) from Dovecot's answers.
type Seen = (u32, u32, Vec<(u32, BTreeSet<String>)>);

fn dovecot(dir: &Path, script: &[u8]) -> Option<(Seen, String)> {
    let mut c = Command::new(KIT)
        .arg(dir.join("mail"))
        .arg(dir.join("inbox"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    c.stdin.take()?.write_all(script).ok()?;
    let out = c.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let num_after = |key: &str| -> u32 {
        text.lines()
            .filter_map(|l| l.split(key).nth(1))
            .filter_map(|r| r.split(']').next()?.trim().parse().ok())
            .last()
            .unwrap_or(0)
    };
    let (v, n) = (num_after("[UIDVALIDITY "), num_after("[UIDNEXT "));
    let mut msgs = Vec::new();
    for l in text
        .lines()
        .filter(|l| l.starts_with("* ") && l.contains(" FETCH (UID "))
    {
        let uid: u32 = l.split("UID ").nth(1)?.split(' ').next()?.parse().ok()?;
        let fl = l.split("FLAGS (").nth(1)?.split(')').next()?;
        let set = fl
            .split(' ')
            .filter(|f| !f.is_empty() && *f != "\\Recent")
            .map(str::to_string)
            .collect();
        msgs.push((uid, set));
    }
    Some(((v, n, msgs), text))
}

fn flag_names(mb: &Mailbox, i: usize) -> BTreeSet<String> {
    let m = &mb.messages()[i];
    let mut s = BTreeSet::new();
    for (f, n) in [
        (Flags::SEEN, "\\Seen"),
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::DRAFT, "\\Draft"),
    ] {
        if m.flags.contains(f) {
            s.insert(n.to_string());
        }
    }
    for &k in &m.keywords {
        s.insert(mb.keywords()[k as usize].clone());
    }
    s
}

fn ours(path: &Path) -> Seen {
    let mb = Mailbox::open(
        path,
        &OpenOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .unwrap();
    let msgs = (0..mb.len())
        .map(|i| (mb.messages()[i].uid, flag_names(&mb, i)))
        .collect();
    (mb.uid_validity(), mb.uid_next(), msgs)
}

fn chown_all(dir: &Path) {
    let _ = Command::new("chown")
        .args(["-R", "5000:5000"])
        .arg(dir)
        .status();
}

#[test]
fn dovecot_reads_ours_and_we_read_dovecots() {
    if !Path::new(KIT).exists()
        || !Path::new("/usr/lib/dovecot/imap").exists()
        || unsafe { libc::geteuid() } != 0
    {
        eprintln!("skipped: needs root, {KIT} and Dovecot");
        return;
    }
    let dir = temp_dir("dovecot");
    fs::create_dir_all(dir.join("mail")).unwrap();
    let inbox = dir.join("inbox");
    fs::write(&inbox, mbox_text(4, |i| format!("m{i}"))).unwrap();
    {
        let mut mb = Mailbox::open(&inbox, &OpenOptions::default()).unwrap();
        mb.set_flags(0, Flags(Flags::SEEN.0 | Flags::FLAGGED.0), &["work".into()]);
        mb.set_flags(1, Flags(Flags::ANSWERED.0 | Flags::DELETED.0), &[]);
        mb.set_flags(2, Flags::DRAFT, &["$Forwarded".into(), "work".into()]);
        mb.expunge(&[3]).unwrap();
    }
    let mine = ours(&inbox);
    assert_eq!(mine.1, 5);
    chown_all(&dir);
    let (theirs, text) = dovecot(
        &dir,
        b"a SELECT INBOX\r\nb FETCH 1:* (UID FLAGS)\r\nc LOGOUT\r\n",
    )
    .expect("run dovecot");
    assert_eq!(theirs, mine, "postern -> Dovecot\n{text}");

    let msg = "Subject: from dovecot\r\n\r\nhello\r\nFrom here\r\n";
    let script = format!(
        "a SELECT INBOX\r\nb STORE 1 FLAGS (\\Answered kw2)\r\nc STORE 3 -FLAGS (\\Draft)\r\n\
         d APPEND INBOX (\\Seen $Junk) {{{}+}}\r\n{msg}\r\ne LOGOUT\r\n",
        msg.len()
    );
    dovecot(&dir, script.as_bytes()).expect("run dovecot");
    let (theirs, text) = dovecot(
        &dir,
        b"a SELECT INBOX\r\nb FETCH 1:* (UID FLAGS)\r\nc LOGOUT\r\n",
    )
    .expect("run dovecot");
    assert_eq!(theirs.2.len(), 4, "{text}");
    let mine = ours(&inbox);
    assert_eq!(
        (mine.0, &mine.2),
        (theirs.0, &theirs.2),
        "Dovecot -> postern\n{text}"
    );
    assert_eq!(mine.1, 6);
    let (_, views) = views(&inbox);
    assert_eq!(views.get(&5).map(|v| v.as_slice()), Some(msg.as_bytes()));
}
