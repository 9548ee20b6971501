//! Fault injection for the mbox store (issue 3): kill -9 at random points
//! during an expunge of half of a 2,000-message mailbox, and write failures
//! through RLIMIT_FSIZE during write-back and append. After every fault the
//! mailbox must parse, every message that was not expunged must be there,
//! and every message present must be byte-identical (client view) to the
//! original. Appends are all or nothing, also under kill -9.

mod store_support;

use std::fs;
use std::time::{Duration, Instant};
use store_support::*;

#[test]
fn kill9_during_expunge_keeps_every_message() {
    let dir = temp_dir("fault-kill");
    let pristine = dir.join("pristine");
    fs::write(&pristine, mbox_text(2000, |i| format!("message {i}"))).unwrap();
    let (validity, orig) = views(&pristine);
    assert_eq!(orig.len(), 2000);
    let mbox = dir.join("box");

    // Calibrate: how long does the expunge take from "ready" to exit?
    fs::copy(&pristine, &mbox).unwrap();
    let mut c = spawn(&["expunge-half", mbox.to_str().unwrap()]);
    let r = wait_ready(&mut c);
    let t = Instant::now();
    drop(r);
    let _ = c.wait();
    let span = t.elapsed().as_micros().max(2000) as u64;
    let (_, after) = views(&mbox);
    assert_eq!(after.len(), 1000);

    let mut rng = Rng(0x9E3779B97F4A7C15 ^ u64::from(std::process::id()));
    let (mut old_state, mut new_state) = (0, 0);
    for iter in 0..60 {
        fs::copy(&pristine, &mbox).unwrap();
        let mut c = spawn(&["expunge-half", mbox.to_str().unwrap()]);
        let _r = wait_ready(&mut c);
        std::thread::sleep(Duration::from_micros(rng.next() % (span + span / 4)));
        let _ = c.kill();
        let _ = c.wait();
        let (v, got) = views(&mbox);
        assert_eq!(v, validity, "iteration {iter}: UIDVALIDITY changed");
        for (uid, text) in &orig {
            let expunged = uid % 2 == 1;
            match got.get(uid) {
                Some(t) => assert_eq!(t, text, "iteration {iter}: message uid {uid} changed"),
                None => assert!(expunged, "iteration {iter}: kept message uid {uid} lost"),
            }
        }
        match got.len() {
            2000 => old_state += 1,
            1000 => new_state += 1,
            n => panic!("iteration {iter}: {n} messages: expunge not all-or-nothing"),
        }
    }
    eprintln!("kill -9: {old_state} before rename, {new_state} after");
    // Stale lock and temp files of killed writers are cleaned up by the next writer.
    let c = spawn(&["expunge-half", mbox.to_str().unwrap()]);
    assert_eq!(finish(c).last().map(String::as_str), Some("ok"));
    assert_eq!(leftovers(&dir, &["pristine", "box"]), Vec::<String>::new());
}

/// Same on a mailbox whose messages already carry metadata (UW/Dovecot
/// written, or by our last rewrite): the rewrite copies them in long
/// verbatim runs.
#[test]
fn kill9_during_expunge_of_written_mailbox() {
    let dir = temp_dir("fault-kill-written");
    let pristine = dir.join("pristine");
    fs::write(&pristine, mbox_text(2000, |i| format!("message {i}"))).unwrap();
    let c = spawn(&["flag-all", pristine.to_str().unwrap()]);
    assert_eq!(finish(c).last().map(String::as_str), Some("ok"));
    let (validity, orig) = views(&pristine);
    let mbox = dir.join("box");
    let mut rng = Rng(0xDEADBEEF ^ u64::from(std::process::id()));
    let mut seen = [0usize; 2];
    for iter in 0..30 {
        fs::copy(&pristine, &mbox).unwrap();
        let mut c = spawn(&["expunge-half", mbox.to_str().unwrap()]);
        let _r = wait_ready(&mut c);
        std::thread::sleep(Duration::from_micros(rng.next() % 40_000));
        let _ = c.kill();
        let _ = c.wait();
        let (v, got) = views(&mbox);
        assert_eq!(v, validity, "iteration {iter}");
        for (uid, text) in &orig {
            match got.get(uid) {
                Some(t) => assert_eq!(t, text, "iteration {iter}: uid {uid} changed"),
                None => assert!(uid % 2 == 1, "iteration {iter}: kept uid {uid} lost"),
            }
        }
        assert!(
            got.len() == 2000 || got.len() == 1000,
            "iteration {iter}: {}",
            got.len()
        );
        seen[usize::from(got.len() == 1000)] += 1;
    }
    eprintln!(
        "kill -9 (written mailbox): {} before rename, {} after",
        seen[0], seen[1]
    );
}

#[test]
fn kill9_during_flag_rewrite_keeps_every_message() {
    let dir = temp_dir("fault-flags");
    let pristine = dir.join("pristine");
    fs::write(&pristine, mbox_text(2000, |i| format!("message {i}"))).unwrap();
    let (_, orig) = views(&pristine);
    let mbox = dir.join("box");
    let mut rng = Rng(0x1234567 ^ u64::from(std::process::id()));
    for iter in 0..15 {
        fs::copy(&pristine, &mbox).unwrap();
        let mut c = spawn(&["flag-all", mbox.to_str().unwrap()]);
        let _r = wait_ready(&mut c);
        std::thread::sleep(Duration::from_micros(rng.next() % 60_000));
        let _ = c.kill();
        let _ = c.wait();
        let (_, got) = views(&mbox);
        assert_eq!(got, orig, "iteration {iter}");
    }
}

#[test]
fn write_failure_during_expunge_and_flag_rewrite_changes_nothing() {
    let dir = temp_dir("fault-fsize");
    let mbox = dir.join("box");
    let text = mbox_text(300, |i| format!("message {i}"));
    fs::write(&mbox, &text).unwrap();
    let size = text.len();
    // expunge-half writes about 60% of the file, flag-all a bit more than all.
    for (mode, limits) in [
        ("expunge-half", [0, 100, size / 4, size / 2]),
        ("flag-all", [0, 100, size / 2, size - 10]),
    ] {
        for limit in limits {
            let c = spawn(&["--fsize", &limit.to_string(), mode, mbox.to_str().unwrap()]);
            let out = finish(c);
            assert!(
                out.last().is_some_and(|l| l.starts_with("err NoSpace")),
                "{mode} limit {limit}: {out:?}"
            );
            assert_eq!(
                fs::read_to_string(&mbox).unwrap(),
                text,
                "{mode} limit {limit}: file changed"
            );
            assert_eq!(
                leftovers(&dir, &["box"]),
                Vec::<String>::new(),
                "temp file left"
            );
        }
    }
}

#[test]
fn write_failure_during_append_truncates_back() {
    let dir = temp_dir("fault-append");
    let mbox = dir.join("box");
    let text = mbox_text(20, |i| format!("message {i}"));
    fs::write(&mbox, &text).unwrap();
    let (_, orig) = views(&mbox);
    // Room for two appended messages and part of a third.
    let one = fs::metadata(&mbox).unwrap().len();
    let c = spawn(&["append", mbox.to_str().unwrap(), "1", "aaaa"]);
    assert_eq!(finish(c).last().map(String::as_str), Some("ok"));
    let per = fs::metadata(&mbox).unwrap().len() - one;
    fs::write(&mbox, &text).unwrap();
    let limit = one + 2 * per + per / 2;
    let c = spawn(&[
        "--fsize",
        &limit.to_string(),
        "append",
        mbox.to_str().unwrap(),
        "5",
        "full",
    ]);
    let out = finish(c);
    assert!(
        out.last().is_some_and(|l| l.starts_with("err NoSpace")),
        "{out:?}"
    );
    assert_eq!(
        fs::metadata(&mbox).unwrap().len(),
        one + 2 * per,
        "not truncated back"
    );
    let (_, got) = views(&mbox);
    assert_eq!(got.len(), 22);
    for (uid, t) in &orig {
        assert_eq!(got.get(uid), Some(t));
    }
    assert!(got[&21].starts_with(b"Subject: full-0\r\n"));
    assert!(got[&22].starts_with(b"Subject: full-1\r\n"));
}

/// kill -9 at random points during the append of a large message: the
/// next opener (taking over the stale lock) truncates a partial message
/// away, so the mailbox holds the old messages, or those and the whole new
/// one — never a cut-off message.
#[test]
fn kill9_during_append_is_all_or_nothing() {
    let dir = temp_dir("fault-append-kill");
    let pristine = dir.join("pristine");
    fs::write(&pristine, mbox_text(20, |i| format!("message {i}"))).unwrap();
    let (validity, orig) = views(&pristine);
    let mbox = dir.join("box");
    let size = "4000000";

    fs::copy(&pristine, &mbox).unwrap();
    let mut c = spawn(&["append-big", mbox.to_str().unwrap(), size]);
    let r = wait_ready(&mut c);
    let t = Instant::now();
    drop(r);
    let _ = c.wait();
    let span = t.elapsed().as_micros().max(2000) as u64;
    let (_, full) = views(&mbox);
    assert_eq!(full.len(), 21);
    let new_uid = *full.keys().last().unwrap();
    let new_text = full[&new_uid].clone();
    assert!(new_text.ends_with(b"end of big\r\n"));

    let mut rng = Rng(0xA5A5_5A5A ^ u64::from(std::process::id()));
    let mut seen = [0usize; 2];
    for iter in 0..36 {
        fs::copy(&pristine, &mbox).unwrap();
        let mut c = spawn(&["append-big", mbox.to_str().unwrap(), size]);
        let _r = wait_ready(&mut c);
        std::thread::sleep(Duration::from_micros(rng.next() % (span + span / 4)));
        let _ = c.kill();
        let _ = c.wait();
        let (v, got) = views(&mbox);
        assert_eq!(v, validity, "iteration {iter}");
        for (uid, text) in &orig {
            assert!(
                got.get(uid) == Some(text),
                "iteration {iter}: uid {uid} changed"
            );
        }
        match got.len() {
            20 => seen[0] += 1,
            21 => {
                assert_eq!(
                    got.get(&new_uid),
                    Some(&new_text),
                    "iteration {iter}: new message cut"
                );
                seen[1] += 1;
            }
            n => panic!("iteration {iter}: {n} messages"),
        }
    }
    eprintln!(
        "kill -9 during append: {} without, {} with the new message",
        seen[0], seen[1]
    );
    assert!(seen[0] > 0, "no kill landed inside an append");
    assert_eq!(leftovers(&dir, &["pristine", "box"]), Vec::<String>::new());
}

/// RENAME INBOX killed at random points: every message is in INBOX or in
/// the new folder (both after a crash in between), never in neither.
#[test]
fn kill9_during_rename_inbox_loses_nothing() {
    let dir = temp_dir("fault-rename-inbox");
    let pristine = dir.join("pristine");
    fs::write(&pristine, mbox_text(1500, |i| format!("message {i}"))).unwrap();
    let (_, orig) = views(&pristine);
    let inbox = dir.join("inbox");
    let mail = dir.join("mail");
    let dest = mail.join("moved");
    let run = |inbox: &std::path::Path| {
        spawn(&[
            "rename-inbox",
            inbox.to_str().unwrap(),
            mail.to_str().unwrap(),
            "moved",
        ])
    };
    fs::copy(&pristine, &inbox).unwrap();
    let mut c = run(&inbox);
    let r = wait_ready(&mut c);
    let t = Instant::now();
    drop(r);
    let _ = c.wait();
    let span = t.elapsed().as_micros().max(2000) as u64;
    assert_eq!(views(&dest).1.len(), 1500);
    assert_eq!(views(&inbox).1.len(), 0);

    let mut rng = Rng(0x51ED_BEEF ^ u64::from(std::process::id()));
    let mut states = [0usize; 4];
    for iter in 0..30 {
        let _ = fs::remove_dir_all(&mail);
        fs::copy(&pristine, &inbox).unwrap();
        let mut c = run(&inbox);
        let _r = wait_ready(&mut c);
        std::thread::sleep(Duration::from_micros(rng.next() % (span + span / 4)));
        let _ = c.kill();
        let _ = c.wait();
        let (_, left) = views(&inbox);
        let moved: Vec<Vec<u8>> = if dest.exists() {
            views(&dest).1.into_values().collect()
        } else {
            Vec::new()
        };
        // INBOX keeps its UIDs; moved copies are matched by content.
        for (uid, text) in &orig {
            if let Some(t) = left.get(uid) {
                assert!(t == text, "iteration {iter}: uid {uid} changed in INBOX");
            } else {
                assert!(moved.contains(text), "iteration {iter}: uid {uid} lost");
            }
        }
        states[usize::from(!left.is_empty()) * 2 + usize::from(!moved.is_empty())] += 1;
    }
    eprintln!("kill -9 during RENAME INBOX: [neither, moved only, inbox only, both] = {states:?}");
}
