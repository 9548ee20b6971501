//! Several processes on one mailbox at once (issue 3): 4 writers append 50
//! messages each while 2 readers scan and one session expunges the
//! "victim" messages. Afterwards exactly the expected messages are there,
//! each intact, with increasing unique UIDs.

mod store_support;

use std::collections::BTreeSet;
use std::fs;
use store_support::*;

/// What the client sees of a message appended by the `mbox_fault` driver:
/// the sender's `Status:` renamed, CRLF kept.
fn appended_view(tag: &str) -> Vec<u8> {
    format!(
        "Subject: {tag}\r\nFrom: t@example.org\r\nX-Original-Status: RO\r\n\r\nbody of {tag}\r\nFrom the start\r\n>From quoted\r\n\r\nFrom x Mon Nov 23 11:18:26 2026\r\nend {tag}\r\n"
    )
    .into_bytes()
}

#[test]
fn four_appenders_two_readers_one_expunger() {
    let dir = temp_dir("concurrency");
    let mbox = dir.join("box");
    let subject = |i: usize| {
        if i % 2 == 1 {
            format!("victim {i}")
        } else {
            format!("keep {i}")
        }
    };
    fs::write(&mbox, mbox_text(60, subject)).unwrap();
    let (_, orig) = views(&mbox);
    let p = mbox.to_str().unwrap();

    let mut kids = Vec::new();
    kids.push(("expunger", spawn(&["expunge-victims", p])));
    for r in 0..2 {
        kids.push((
            if r == 0 { "reader0" } else { "reader1" },
            spawn(&["read", p, "40"]),
        ));
    }
    for w in 0..4 {
        let tag = format!("w{w}");
        kids.push(("writer", spawn(&["append", p, "50", &tag])));
    }
    for (name, c) in kids {
        let out = finish(c);
        assert_eq!(
            out.last().map(String::as_str),
            Some("ok"),
            "{name}: {out:?}"
        );
    }
    // Victims exist only in the initial mailbox, which the expunger saw
    // from its start, so none may be left.
    let (_, got) = views(&mbox);
    let mut expected_texts: Vec<Vec<u8>> = Vec::new();
    for (uid, t) in &orig {
        if t.starts_with(b"Subject: keep") {
            assert_eq!(got.get(uid), Some(t), "kept message uid {uid}");
            expected_texts.push(t.clone());
        } else {
            assert!(!got.contains_key(uid), "victim uid {uid} still there");
        }
    }
    for w in 0..4 {
        for i in 0..50 {
            expected_texts.push(appended_view(&format!("w{w}-{i}")));
        }
    }
    let want: BTreeSet<Vec<u8>> = expected_texts.into_iter().collect();
    let have: BTreeSet<Vec<u8>> = got.values().cloned().collect();
    assert_eq!(got.len(), 30 + 200, "message count");
    assert_eq!(have.len(), got.len(), "duplicate messages");
    let missing: Vec<String> = want
        .difference(&have)
        .map(|v| String::from_utf8_lossy(&v[..30.min(v.len())]).into_owned())
        .collect();
    assert!(missing.is_empty(), "missing or damaged: {missing:?}");
    // Appends by each writer keep their order.
    for w in 0..4 {
        let uids: Vec<u32> = (0..50)
            .map(|i| {
                *got.iter()
                    .find(|(_, t)| **t == appended_view(&format!("w{w}-{i}")))
                    .map(|(u, _)| u)
                    .unwrap()
            })
            .collect();
        assert!(uids.windows(2).all(|p| p[0] < p[1]), "writer {w} order");
    }
}
