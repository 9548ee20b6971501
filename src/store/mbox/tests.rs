//! Mailbox-level tests on temporary files: open without writing, client
//! view, UIDs, flags in place, expunge by rename, append, other writers.

use super::*;
use std::fs;

fn tmp(name: &str, content: &[u8]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("postern-mbox-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    let p = d.join("box");
    fs::write(&p, content).unwrap();
    p
}

const F: &str = "From a@b Mon Nov 23 11:18:26 2026\n";

fn view(mb: &mut Mailbox, i: usize) -> String {
    let mut v = Vec::new();
    mb.read_message(i, &mut v).unwrap();
    assert_eq!(v.len() as u64, mb.messages()[i].size, "size of {i}");
    String::from_utf8(v).unwrap()
}

#[test]
fn open_writes_nothing_and_assigns_implicit_uids() {
    let data =
        format!("{F}Subject: a\n\n>From x\n\n{F}Subject: b\nX-UID: 9\n\nb\n\n{F}Subject: c\n\nc\n");
    let p = tmp("implicit", data.as_bytes());
    let mtime = fs::metadata(&p).unwrap().modified().unwrap();
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(fs::read(&p).unwrap(), data.as_bytes());
    assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), mtime);
    assert_eq!(mb.uid_validity(), 1795432706);
    assert_eq!(
        mb.messages().iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 9, 10]
    );
    assert_eq!(mb.uid_next(), 11);
    assert_eq!(view(&mut mb, 0), "Subject: a\r\n\r\nFrom x\r\n");
    assert_eq!(view(&mut mb, 1), "Subject: b\r\n\r\nb\r\n");
    assert!(mb.messages()[0].recent);
}

#[test]
fn duplicate_uids_are_repaired_with_new_validity() {
    let data = format!("{F}X-IMAPbase: 100 0000000010\nX-UID: 5\n\na\n\n{F}X-UID: 5\n\nb\n");
    let p = tmp("dup", data.as_bytes());
    let mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(mb.uid_validity(), 101);
    assert_eq!(
        mb.messages().iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[test]
fn uw_pseudo_message_hidden() {
    let data = format!(
        "{F}Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1000 0000000020 work\nStatus: RO\n\ntext\n\n\
         {F}Subject: real\nX-UID: 19\nX-Keywords: work\nStatus: RO\nX-Status: F\n\nbody\n"
    );
    let p = tmp("pseudo", data.as_bytes());
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(mb.len(), 1);
    assert_eq!((mb.uid_validity(), mb.uid_next()), (1000, 21));
    let m = &mb.messages()[0];
    assert_eq!(
        (m.uid, m.flags, m.recent),
        (19, Flags(Flags::SEEN.0 | Flags::FLAGGED.0), false)
    );
    assert_eq!(mb.keywords()[m.keywords[0] as usize], "work");
    assert_eq!(view(&mut mb, 0), "Subject: real\r\n\r\nbody\r\n");
}

#[test]
fn flags_then_in_place_then_expunge_round_trip() {
    let data = format!("{F}Subject: a\n\na\n\n{F}Subject: b\n\n>>From b\n\n{F}Subject: c\n\nc\n");
    let p = tmp("flags", data.as_bytes());
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    let before: Vec<String> = (0..3).map(|i| view(&mut mb, i)).collect();
    mb.set_flags(1, Flags::SEEN, &["$Label1".to_string()]);
    mb.write_back().unwrap(); // no metadata yet: full rewrite
    let ino1 = fs::metadata(&p).unwrap().ino();
    let mut other = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(other.messages()[1].flags, Flags::SEEN);
    assert_eq!(
        other.messages().iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(!other.messages()[0].recent);
    mb.set_flags(2, Flags(Flags::FLAGGED.0 | Flags::DELETED.0), &[]);
    mb.write_back().unwrap(); // fits the padding: in place
    assert_eq!(fs::metadata(&p).unwrap().ino(), ino1);
    let ch = other.sync().unwrap();
    assert_eq!(ch.flags_changed, vec![2]);
    assert!(other.messages()[2].flags.contains(Flags::DELETED));
    for i in 0..3 {
        assert_eq!(view(&mut other, i), before[i]);
    }
    mb.expunge(&[0]).unwrap();
    assert_eq!(mb.len(), 2);
    let ch = other.sync().unwrap();
    assert_eq!((ch.expunged, ch.new), (vec![0], 0));
    assert_eq!(view(&mut other, 0), before[1]);
    assert_eq!(view(&mut other, 1), before[2]);
    let fresh = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(fresh.uid_validity(), 1795432706);
    assert_eq!(
        fresh.messages().iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(fresh.uid_next(), 4);
}

#[test]
fn append_then_sync_reads_tail() {
    let p = tmp("append", b"");
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    let kw = vec!["work".to_string()];
    let m = NewMessage {
        data: b"Subject: x\r\nStatus: RO\r\n\r\nFrom me\r\n>From you\r\nend",
        from: "a@b",
        date: (1795432706, 0),
        flags: Flags::FLAGGED,
        keywords: &kw,
    };
    let (v, uids) = append(&p, &[m]).unwrap();
    assert_eq!(uids, vec![1]);
    let ch = mb.sync().unwrap();
    assert_eq!(ch.new, 1);
    assert_eq!(mb.uid_validity(), v);
    assert_eq!(
        view(&mut mb, 0),
        "Subject: x\r\nX-Original-Status: RO\r\n\r\nFrom me\r\n>From you\r\nend\r\n"
    );
    assert_eq!(mb.messages()[0].flags, Flags::FLAGGED);
    assert_eq!(mb.messages()[0].internal_date, (1795432706, 0));
    let m2 = NewMessage {
        data: b"Subject: y\n\nbody\n",
        from: "",
        date: (0, 0),
        flags: Flags::default(),
        keywords: &[],
    };
    let (v2, uids) = append(&p, &[m2]).unwrap();
    assert_eq!((v2, uids), (v, vec![2]));
    let ch = mb.sync().unwrap();
    assert_eq!(ch.new, 1);
    assert_eq!(mb.messages()[1].uid, 2);
    assert_eq!(mb.uid_next(), 3);
    // A plain MDA append without X-UID gets the next implicit UID.
    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    std::io::Write::write_all(&mut f, format!("{F}Subject: z\n\nz\n\n").as_bytes()).unwrap();
    let ch = mb.sync().unwrap();
    assert_eq!(ch.new, 1);
    assert_eq!(mb.messages()[2].uid, 3);
    let (_, uids) = append(
        &p,
        &[NewMessage {
            data: b"S: 1\n\n1\n",
            from: "x",
            date: (5, 0),
            flags: Flags::default(),
            keywords: &[],
        }],
    )
    .unwrap();
    assert_eq!(uids, vec![4]);
    let fresh = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(
        fresh.messages().iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(fresh.uid_next(), 5);
}

#[test]
fn expunge_all_keeps_uid_state_in_pseudo_message() {
    let data = format!("{F}Subject: a\n\na\n");
    let p = tmp("empty", data.as_bytes());
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    mb.expunge(&[0]).unwrap();
    let fresh = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(
        (fresh.len(), fresh.uid_validity(), fresh.uid_next()),
        (0, 1795432706, 2)
    );
    let (v, uids) = append(
        &p,
        &[NewMessage {
            data: b"S: 1\n\n1\n",
            from: "x",
            date: (5, 0),
            flags: Flags::default(),
            keywords: &[],
        }],
    )
    .unwrap();
    assert_eq!((v, uids), (1795432706, vec![2]));
}

#[test]
fn garbage_before_first_message_is_kept() {
    let data = format!("\n\njunk line\n{F}Subject: a\n\na\n");
    let p = tmp("garbage", data.as_bytes());
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    assert_eq!(mb.len(), 1);
    mb.set_flags(0, Flags::SEEN, &[]);
    mb.write_back().unwrap();
    assert!(fs::read_to_string(&p)
        .unwrap()
        .starts_with("\n\njunk line\nFrom a@b"));
}

#[test]
fn flag_change_and_append_between_two_syncs_both_seen() {
    let data = format!("{F}Subject: a\n\na\n\n{F}Subject: b\n\nb\n");
    let p = tmp("flag-append", data.as_bytes());
    let mut w = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    w.set_flags(0, Flags::SEEN, &[]);
    w.write_back().unwrap(); // full rewrite: regions now exist
    let mut r = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    w.set_flags(1, Flags::FLAGGED, &["later".to_string()]);
    w.write_back().unwrap(); // in place
    append(
        &p,
        &[NewMessage {
            data: b"S: c\n\nc\n",
            from: "x",
            date: (5, 0),
            flags: Flags::default(),
            keywords: &[],
        }],
    )
    .unwrap();
    let ch = r.sync().unwrap();
    assert_eq!((ch.new, ch.flags_changed), (1, vec![1]));
    assert_eq!(r.messages()[1].flags, Flags::FLAGGED);
    assert_eq!(r.keywords()[r.messages()[1].keywords[0] as usize], "later");
}

#[test]
fn exclusive_session_does_not_block_others() {
    let data = format!("{F}Subject: a\n\na\n");
    let p = tmp("exclusive", data.as_bytes());
    let pop = OpenOptions {
        exclusive_session: true,
        ..Default::default()
    };
    let a = Mailbox::open(&p, &pop).unwrap();
    assert_eq!(
        Mailbox::open(&p, &pop).err().map(|e| e.kind),
        Some(ErrorKind::InUse)
    );
    let mut imap = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    append(
        &p,
        &[NewMessage {
            data: b"S: c\n\nc\n",
            from: "x",
            date: (5, 0),
            flags: Flags::default(),
            keywords: &[],
        }],
    )
    .unwrap();
    assert_eq!(imap.sync().unwrap().new, 1);
    drop(a);
    Mailbox::open(&p, &pop).unwrap();
}

/// Gap "sync is O(new tail)": after a pure append (ours or an MDA's) sync
/// scans only the tail; in-place flag changes by postern are still seen at
/// once, foreign ones near the start at once and elsewhere within
/// `VERIFY_EVERY`.
#[test]
fn pure_append_sync_skips_metadata_reread() {
    let mut data = String::new();
    for i in 0..300 {
        // ~1 KiB each: message 200 lies outside both 64 KiB samples.
        let pad = "x".repeat(1000);
        data.push_str(&format!("{F}Subject: {i}\n\nbody {i}\n{pad}\n\n"));
    }
    let p = tmp("pure-append", data.as_bytes());
    let mut w = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    w.set_flags(0, Flags::SEEN, &[]);
    w.write_back().unwrap(); // full rewrite: every message has a region now
    let mut r = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    let one = |tag: &str| {
        let text = format!("Subject: {tag}\n\n{tag}\n");
        append(
            &p,
            &[NewMessage {
                data: text.as_bytes(),
                from: "x",
                date: (5, 0),
                flags: Flags::default(),
                keywords: &[],
            }],
        )
        .unwrap();
    };
    if rewrite::read_flag_seq(&r.file).is_none() {
        eprintln!("no xattrs on this file system: skipped");
        return;
    }
    // Pure appends, ours and an MDA's: no re-read.
    one("a");
    let ch = r.sync().unwrap();
    assert_eq!(
        (ch.new, ch.flags_changed.len(), r.region_rereads),
        (1, 0, 0)
    );
    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    std::io::Write::write_all(&mut f, format!("{F}Subject: mda\n\nm\n\n").as_bytes()).unwrap();
    let ch = r.sync().unwrap();
    assert_eq!((ch.new, r.region_rereads), (1, 0));
    // postern flag change in the middle + append: seen at once.
    w.sync().unwrap();
    w.set_flags(150, Flags::FLAGGED, &[]);
    w.write_back().unwrap();
    one("b");
    let ch = r.sync().unwrap();
    assert_eq!((ch.new, ch.flags_changed), (1, vec![150]));
    assert_eq!(r.region_rereads, 1);
    // A foreign writer (Dovecot style: keyword into the X-Keywords padding)
    // in the middle + append: seen at the periodic re-read.
    let foreign = |nth: usize| {
        let mut text = fs::read(&p).unwrap();
        let at = memchr::memmem::find_iter(&text, b"X-Keywords: ")
            .nth(nth)
            .unwrap();
        text[at + 12..at + 17].copy_from_slice(b"$Junk");
        fs::write(&p, text).unwrap();
    };
    foreign(200);
    one("c");
    let ch = r.sync().unwrap();
    assert_eq!((ch.new, ch.flags_changed.len()), (1, 0));
    r.verified -= VERIFY_EVERY;
    one("d");
    let ch = r.sync().unwrap();
    assert_eq!((ch.new, ch.flags_changed), (1, vec![200]));
    // Near the start (first 64 KiB): seen at once.
    foreign(1);
    one("e");
    let ch = r.sync().unwrap();
    assert_eq!((ch.new, ch.flags_changed), (1, vec![1]));
    assert_eq!(r.region_rereads, 3);
}

/// Expunge speed: the first rewrite (metadata added to every message)
/// reads the old file in large windows, not several preads per message.
#[test]
fn first_rewrite_reads_in_windows() {
    let mut data = String::new();
    for i in 0..3000 {
        data.push_str(&format!("{F}Subject: {i}\n\nbody {i}\nFrom quoted\n\n"));
    }
    let p = tmp("windows", data.as_bytes());
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    let before: Vec<String> = (1..3000).map(|i| view(&mut mb, i)).collect();
    mb.expunge(&[0]).unwrap();
    assert!(
        mb.rewrite_reads.load(std::sync::atomic::Ordering::Relaxed) <= 2,
        "{} reads",
        mb.rewrite_reads.load(std::sync::atomic::Ordering::Relaxed)
    );
    let mut fresh = Mailbox::open(&p, &OpenOptions::default()).unwrap();
    let after: Vec<String> = (0..2999).map(|i| view(&mut fresh, i)).collect();
    assert_eq!(before, after);
}

/// The line-by-line conversion [`body_view`] replaced, kept as the oracle.
fn body_view_by_lines(body: &[u8], out: &mut Vec<u8>) {
    for line in body.split_inclusive(|&c| c == b'\n') {
        if scan::is_quoted_from(line) {
            push_crlf(&line[1..], out);
        } else {
            push_crlf(line, out);
        }
    }
}

#[test]
fn body_view_table() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"", b""),
        (b"\n", b"\r\n"),
        (b"\r\n", b"\r\n"),
        (b"a\nb", b"a\r\nb"),
        (b"a\r\nb\n", b"a\r\nb\r\n"),
        (b"\n\n\r\n\n", b"\r\n\r\n\r\n\r\n"),
        (b">From x\n", b"From x\r\n"),
        (b">>From x\r\n", b">From x\r\n"),
        (b"a\n>From x", b"a\r\nFrom x"),
        (b">From", b">From"),
        (b">from x\n", b">from x\r\n"),
        (b"x>From y\n", b"x>From y\r\n"),
        (b">\n>From \n", b">\r\nFrom \r\n"),
        (b"\r", b"\r"),
        (b"a\r\r\n\r", b"a\r\r\n\r"),
        (b" >From x\n", b" >From x\r\n"),
    ];
    for (input, want) in cases {
        let mut out = b"kept".to_vec();
        body_view(input, &mut out);
        assert_eq!(
            &out[4..],
            *want,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(&out[..4], b"kept");
    }
}

/// Whole and cut at every line boundary (a message body is any run of
/// whole lines), the fast conversion gives what the line-by-line one did.
#[test]
fn body_view_matches_lines_whole_and_in_chunks() {
    let pieces: [&[u8]; 9] = [b"\n", b"\r\n", b">From a\n", b">>From b\r\n", b"x", b"\r", b">", b"From ", b"text line\n"];
    let mut seed = 7u32;
    for _ in 0..400 {
        let mut body = Vec::new();
        for _ in 0..(seed % 23) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            body.extend_from_slice(pieces[(seed >> 16) as usize % pieces.len()]);
        }
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let mut want = Vec::new();
        body_view_by_lines(&body, &mut want);
        let mut whole = Vec::new();
        body_view(&body, &mut whole);
        assert_eq!(whole, want, "body {:?}", String::from_utf8_lossy(&body));
        let mut chunked = Vec::new();
        let mut rest = &body[..];
        while !rest.is_empty() {
            let cut = memchr::memchr(b'\n', rest).map_or(rest.len(), |n| n + 1);
            body_view(&rest[..cut], &mut chunked);
            rest = &rest[cut..];
        }
        assert_eq!(chunked, want, "chunked {:?}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn read_message_reuses_buffer_across_sizes() {
    let big = "y".repeat(3 << 20);
    let content = format!(
        "From a@b Mon Jan  1 00:00:00 2024\nSubject: big\n\n{big}\n\nFrom a@b Mon Jan  1 00:00:00 2024\nSubject: s\n\nsmall\n>From here\n"
    );
    let p = tmp("reuse", content.as_bytes());
    let mut mb = Mailbox::open(&p, &OpenOptions::default()).expect("open");
    for _ in 0..2 {
        let mut out = Vec::new();
        mb.read_message(0, &mut out).expect("read big");
        assert_eq!(out.len(), "Subject: big\r\n\r\n".len() + big.len() + 2);
        assert_eq!(view(&mut mb, 1), "Subject: s\r\n\r\nsmall\r\nFrom here\r\n");
        let mut h = Vec::new();
        mb.read_header(1, &mut h).expect("header");
        assert_eq!(h, b"Subject: s\r\n\r\n");
    }
    let _ = fs::remove_file(&p);
}
