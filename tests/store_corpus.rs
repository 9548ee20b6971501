//! The odd-mailbox corpus (tests/fixtures/mbox, issue 3): each file opens
//! without a panic, shows the expected UIDs, flags, keywords and client
//! views, and survives a flag write-back and an expunge with every other
//! message byte-identical and any bytes before the first From_ kept.

mod store_support;

use postern::store::mbox::{Mailbox, OpenOptions};
use postern::store::Flags;
use std::fs;
use std::path::PathBuf;
use store_support::*;

struct Case {
    file: &'static str,
    validity: u32,
    uid_next: u32,
    uids: &'static [u32],
    flags: &'static [u8],
    keywords: &'static [&'static [&'static str]],
    first_view: &'static str,
}

const DATE_F: u32 = 1795432706;

const CASES: &[Case] = &[
    Case { file: "empty.mbox", validity: 1, uid_next: 1, uids: &[], flags: &[], keywords: &[], first_view: "" },
    Case {
        file: "no-final-newline.mbox", validity: DATE_F, uid_next: 3, uids: &[1, 2], flags: &[0, 0], keywords: &[&[], &[]],
        first_view: "Subject: one\r\n\r\nfirst\r\n",
    },
    Case {
        file: "crlf.mbox", validity: DATE_F, uid_next: 3, uids: &[1, 2], flags: &[0, 0], keywords: &[&[], &[]],
        first_view: "Subject: one\r\n\r\nbody\r\n",
    },
    Case {
        file: "from-quoting.mbox", validity: DATE_F, uid_next: 3, uids: &[1, 2], flags: &[0, 0], keywords: &[&[], &[]],
        first_view: "Subject: quoting\r\n\r\nFrom quoted once\r\n>From quoted twice\r\nFrom here to eternity\r\nFrom: not a header\r\n>not quoted From\r\n",
    },
    Case {
        file: "uw-pseudo.mbox", validity: 1795000000, uid_next: 43, uids: &[40, 41], flags: &[3, 0], keywords: &[&["Junk"], &[]],
        first_view: "Subject: one\r\n\r\nbody\r\n",
    },
    Case {
        file: "corrupt-xuid.mbox", validity: DATE_F + 1, uid_next: 4, uids: &[1, 2, 3], flags: &[0, 0, 0], keywords: &[&[], &[], &[]],
        first_view: "Subject: one\r\n\r\na\r\n",
    },
    Case {
        file: "leading-garbage.mbox", validity: DATE_F, uid_next: 2, uids: &[1], flags: &[0], keywords: &[&[]],
        first_view: "Subject: one\r\n\r\nbody\r\n",
    },
    Case {
        file: "nul-bytes.mbox", validity: DATE_F, uid_next: 3, uids: &[1, 2], flags: &[0, 0], keywords: &[&[], &[]],
        first_view: "Subject: nul \0 here\r\n\r\nbinary \0\x01\x02 data\r\n",
    },
    Case {
        file: "dovecot-written.mbox", validity: 1795400000, uid_next: 14, uids: &[11, 12], flags: &[5, 0],
        keywords: &[&["work"], &["$Forwarded", "work"]],
        first_view: "Subject: one\r\n\r\nbody\r\n",
    },
    Case {
        file: "folded-metadata.mbox", validity: DATE_F, uid_next: 6, uids: &[5], flags: &[0], keywords: &[&["alpha", "beta"]],
        first_view: "Subject: one\r\nReceived: from x\r\n\tby y\r\n\r\nbody\r\n",
    },
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mbox")
        .join(name)
}

#[test]
fn odd_mailboxes_open_as_expected() {
    for c in CASES {
        let mut mb = Mailbox::open(
            &fixture(c.file),
            &OpenOptions {
                read_only: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert_eq!(
            (mb.uid_validity(), mb.uid_next()),
            (c.validity, c.uid_next),
            "{}",
            c.file
        );
        let uids: Vec<u32> = mb.messages().iter().map(|m| m.uid).collect();
        assert_eq!(uids, c.uids, "{}", c.file);
        for (i, m) in mb.messages().iter().enumerate() {
            assert_eq!(m.flags, Flags(c.flags[i]), "{} flags {i}", c.file);
            let kws: Vec<&str> = m
                .keywords
                .iter()
                .map(|&k| mb.keywords()[k as usize].as_str())
                .collect();
            assert_eq!(kws, c.keywords[i], "{} keywords {i}", c.file);
        }
        if !mb.is_empty() {
            let mut v = Vec::new();
            mb.read_message(0, &mut v).unwrap();
            assert_eq!(String::from_utf8_lossy(&v), c.first_view, "{}", c.file);
            assert_eq!(v.len() as u64, mb.messages()[0].size, "{}", c.file);
        }
    }
}

#[test]
fn odd_mailboxes_survive_write_back_and_expunge() {
    let dir = temp_dir("corpus");
    for c in CASES {
        let p = dir.join(c.file);
        fs::copy(fixture(c.file), &p).unwrap();
        let original = fs::read(&p).unwrap();
        let (_, before) = views(&p);
        let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
        for i in 0..mb.len() {
            mb.set_flags(
                i,
                Flags(Flags::SEEN.0 | Flags::DRAFT.0),
                &["t1".to_string()],
            );
        }
        mb.write_back()
            .unwrap_or_else(|e| panic!("{}: {e}", c.file));
        let (v1, after) = views(&p);
        assert_eq!(
            after, before,
            "{}: views changed by flag write-back",
            c.file
        );
        if c.file != "empty.mbox" {
            assert_eq!(v1, c.validity, "{}", c.file);
        }
        let fresh = Mailbox::open(&p, &OpenOptions::default()).unwrap();
        assert!(
            fresh
                .messages()
                .iter()
                .all(|m| m.flags == Flags(Flags::SEEN.0 | Flags::DRAFT.0)),
            "{}",
            c.file
        );
        if c.file == "leading-garbage.mbox" {
            assert!(
                fs::read(&p)
                    .unwrap()
                    .starts_with(&original[..original.len() - 63]),
                "preamble kept"
            );
        }
        if mb.is_empty() {
            continue;
        }
        mb.expunge(&[0]).unwrap();
        let (v2, rest) = views(&p);
        assert_eq!(v2, v1, "{}", c.file);
        let mut want = before.clone();
        let first = *want.keys().next().unwrap();
        want.remove(&first);
        assert_eq!(rest, want, "{}: expunge changed other messages", c.file);
    }
}
