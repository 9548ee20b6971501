//! RFC 5322 / MIME message parsing for the servers: header fields,
//! address lists, dates, the MIME part tree with byte offsets, IMAP
//! ENVELOPE and BODYSTRUCTURE values and their wire rendering, content
//! decoding and case-insensitive text search.
//!
//! Pure and I/O-free: every function takes the message bytes as the client
//! sees them (CRLF line ends; bare LF is accepted too) and knows nothing of
//! IMAP sessions or mbox files. Parsers never panic on any input and are
//! bounded in depth and part count.
//!
//! - [`header`]        — split header/body, fields, unfold, HEADER.FIELDS subsets, msg-ids (RFC 5322 §2.2, §3.6.4)
//! - [`address`]       — address lists with groups (RFC 5322 §3.4, §4.4)
//! - [`date`]          — RFC 5322 dates, IMAP date-time/date, mbox ctime dates
//! - [`mime`]          — part tree, Content-* fields, RFC 2231 params, IMAP section addressing (RFC 2045/2046, RFC 3501 §6.4.5)
//! - [`envelope`]      — ENVELOPE value and rendering (RFC 3501 §7.4.2)
//! - [`bodystructure`] — BODY/BODYSTRUCTURE value and rendering (RFC 3501 §7.4.2)
//! - [`decode`]        — QP, base64, RFC 2047 encoded words, charsets
//! - [`search`]        — SEARCH BODY/TEXT/HEADER matching on decoded text
//! - [`subject`]       — base subject for SORT/THREAD (RFC 5256 §2.1)
//! - [`imapstr`]       — IMAP quoted/literal/NIL string rendering, shared with the IMAP wire writer

//!
//! How the IMAP server uses it (one parse per message and command):
//!
//! ```text
//! let root = mime::parse(msg);                          // FETCH
//! BodyStructure::build(msg, &root).render(&mut out, true);   // BODYSTRUCTURE (false: BODY)
//! Envelope::from_header(header::split(msg).0).render(&mut out);
//! mime::section(msg, &root, &[2, 1], &SectionText::Mime)     // None => send "" as Dovecot does
//! let n = Needle::new("word"); let mut s = Scratch::default(); // SEARCH, once per key
//! n.in_message(msg, &mime::parse_without_lines(msg), Scope::Body, &mut s)
//! n.in_header_field(header::split(msg).0, "Subject")          // SUBJECT/FROM/HEADER x
//! date::parse_rfc5322(header::find(hdr, "Date")?)?.day_number() // SENTON/SENTBEFORE
//! DateTime::from_timestamp(ts, offset_min).to_imap()          // INTERNALDATE
//! subject::base_subject(raw), header::parse_msg_ids(raw)      // SORT / THREAD
//! imapstr::write_nstring(&mut out, Some(b"value"))            // quoted / literal / NIL
//! ```
//!
//! Checked against Dovecot 2.3 on the first 2,000 messages of the
//! 10,000-message benchmark corpus (ENVELOPE, BODYSTRUCTURE, 14 `BODY[section]`
//! forms, SEARCH BODY/TEXT of 7 words) and on all 10,000 plus 3,000 of the
//! small-message corpus (ENVELOPE, BODYSTRUCTURE): no differences once
//! case and quoted-vs-literal choice are ignored.

pub mod address;
pub mod bodystructure;
pub mod date;
pub mod decode;
pub mod envelope;
pub mod header;
pub mod imapstr;
pub mod mime;
pub mod search;
pub mod subject;

/// Golden pairs in tests/fixtures/messages: `NNN.eml` with `NNN.envelope`,
/// `NNN.bodystructure` and `NNN.body` (one line each, IMAP syntax, literals
/// shown inline). A mismatch writes `NNN.<kind>.failed` next to the
/// fixture. `POSTERN_BLESS=1` (re)writes the goldens; each was then checked
/// by hand against RFC 3501 §7.4.2 and Dovecot's output.
#[cfg(test)]
mod golden {
    use std::path::PathBuf;

    use super::bodystructure::BodyStructure;
    use super::envelope::Envelope;
    use super::{header, mime};

    #[test]
    fn golden_pairs() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages");
        let bless = std::env::var_os("POSTERN_BLESS").is_some();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("fixture dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        entries.sort();
        assert!(entries.len() >= 5, "fixtures missing in {}", dir.display());
        let mut failures = Vec::new();
        for eml in entries {
            let msg = std::fs::read(&eml).expect("read fixture");
            let root = mime::parse(&msg);
            let bs = BodyStructure::build(&msg, &root);
            let outputs = [
                ("envelope", Envelope::from_header(header::split(&msg).0).to_imap()),
                ("bodystructure", bs.to_imap(true)),
                ("body", bs.to_imap(false)),
            ];
            for (kind, mut got) in outputs {
                got.push(b'\n');
                let path = eml.with_extension(kind);
                let failed = eml.with_extension(format!("{kind}.failed"));
                if bless {
                    std::fs::write(&path, &got).expect("write golden");
                    continue;
                }
                let want = std::fs::read(&path).unwrap_or_default();
                if want != got {
                    let _ = std::fs::write(&failed, &got);
                    failures.push(format!(
                        "{}:\n  want {}\n  got  {}",
                        path.display(),
                        String::from_utf8_lossy(&want).trim_end(),
                        String::from_utf8_lossy(&got).trim_end()
                    ));
                } else {
                    let _ = std::fs::remove_file(&failed);
                }
            }
        }
        assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
    }
}

/// Sections of the fixtures, with the bytes Dovecot 2.3 returned for the
/// same FETCH (run here with shared/bench/run-imap.sh, 2026-11-23).
#[cfg(test)]
mod sections_as_dovecot {
    use super::mime::{parse, section, SectionText};

    fn fixture(n: &str) -> Vec<u8> {
        let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/messages/{n}.eml"));
        std::fs::read(p).expect("fixture")
    }

    #[test]
    fn section_table() {
        let fields = |n: &[&str]| SectionText::HeaderFields { names: n.iter().map(|s| s.as_bytes().to_vec()).collect(), not: false };
        let cases: Vec<(&str, &[u32], SectionText, &str)> = vec![
            ("003", &[2], SectionText::Header, "From: Inner Sender <inner@example.com>\r\nTo: outer@example.org\r\nSubject: nested\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\nMessage-ID: <inner@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1-alt\r\n\r\n"),
            ("003", &[2, 1], SectionText::Full, "plain version"),
            ("003", &[2, 2], SectionText::Mime, "Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"),
            ("003", &[2], SectionText::Text, "--b1-alt\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain version\r\n--b1-alt\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>html version</p>\r\n--b1-alt--\r\n"),
            ("003", &[1], SectionText::Mime, "Content-Type: text/plain\r\n\r\n"),
            ("003", &[], fields(&["From", "Subject"]), "From: outer@example.org\r\nSubject: Fwd: nested\r\n\r\n"),
            ("003", &[2, 2], SectionText::Full, "<p>html version</p>"),
            ("003", &[2], SectionText::Mime, "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"),
            ("003", &[3], SectionText::Full, ""),
            ("003", &[2, 1, 1], SectionText::Full, "plain version"),
            ("001", &[1], SectionText::Full, "Hello,\r\nthis is a plain message with the default content type.\r\n"),
            ("001", &[2], SectionText::Full, ""),
            ("006", &[1], SectionText::Text, "first body"),
            ("006", &[2], SectionText::Header, "From: two@example.org\r\nSubject: second\r\n\r\n"),
            ("006", &[1, 1], SectionText::Full, "first body"),
            ("002", &[1], SectionText::Header, ""),
            ("002", &[2], SectionText::Text, ""),
        ];
        for (n, path, text, want) in cases {
            let msg = fixture(n);
            let root = parse(&msg);
            let got = section(&msg, &root, path, &text).unwrap_or_default();
            assert_eq!(String::from_utf8_lossy(&got), want, "{n} {path:?} {text:?}");
        }
    }
}

/// Random, truncated and mutated input fed to every parser: nothing may
/// panic, loop or blow up. A fixed xorshift seed keeps failures
/// reproducible.
#[cfg(test)]
mod robustness {
    use super::mime::{self, SectionText};
    use super::search::{self, Needle, Scope, Scratch};
    use super::{address, bodystructure, date, decode, envelope, header, subject};

    fn exercise(msg: &[u8]) {
        let root = mime::parse(msg);
        let bs = bodystructure::BodyStructure::build(msg, &root);
        let _ = bs.to_imap(true);
        let _ = envelope::Envelope::from_header(header::split(msg).0).to_imap();
        for path in [&[][..], &[1], &[2], &[1, 1], &[2, 1], &[2, 2, 1], &[3, 1, 2]] {
            for t in [
                SectionText::Full,
                SectionText::Header,
                SectionText::Text,
                SectionText::Mime,
                SectionText::HeaderFields { names: vec![b"subject".to_vec()], not: true },
            ] {
                let _ = mime::section(msg, &root, path, &t);
            }
        }
        let mut scratch = Scratch::default();
        for n in ["a", "é", "--"] {
            let _ = Needle::new(n).in_message(msg, &root, Scope::Text, &mut scratch);
        }
        let _ = address::parse_address_list(msg);
        let _ = date::parse_rfc5322(msg);
        let _ = date::parse_imap_datetime(msg);
        let _ = date::parse_ctime(msg);
        let _ = decode::decode_header_value(msg);
        let _ = decode::decode_qp(msg);
        let _ = decode::decode_rfc2231_value(msg);
        let _ = subject::base_subject(msg);
        let _ = mime::parse_field_params(msg);
        let _ = header::parse_msg_ids(msg);
        let _ = search::text_contains(msg, "x", Scope::Body);
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn fixtures() -> Vec<Vec<u8>> {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages");
        let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .filter_map(|p| std::fs::read(p).ok())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn truncated_fixtures_never_panic() {
        for msg in fixtures() {
            for n in 0..=msg.len() {
                exercise(&msg[..n]);
                exercise(&msg[msg.len() - n..]);
            }
        }
    }

    #[test]
    fn mutated_and_random_input_never_panics() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let alphabet: &[u8] = b"-=?:;<>@,\"()[]\\\r\n \tabBQ09/*'%";
        let seeds = fixtures();
        for round in 0..3000 {
            let mut m = if round % 3 == 0 || seeds.is_empty() {
                let len = (rng.next() % 400) as usize;
                (0..len).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect()
            } else {
                seeds[(rng.next() % seeds.len() as u64) as usize].clone()
            };
            for _ in 0..(rng.next() % 8) {
                if m.is_empty() {
                    break;
                }
                let i = (rng.next() % m.len() as u64) as usize;
                match rng.next() % 3 {
                    0 => m[i] = alphabet[(rng.next() % alphabet.len() as u64) as usize],
                    1 => m[i] = rng.next() as u8,
                    _ => {
                        let j = (i + (rng.next() % 40) as usize).min(m.len());
                        m.drain(i..j);
                    }
                }
            }
            exercise(&m);
        }
    }
}

/// Timing on a real mbox (not run by default): `POSTERN_BENCH_MBOX=/path
/// POSTERN_BENCH_WORD=word cargo test --release --lib message::bench --
/// --ignored --nocapture`. Splits on `\nFrom ` lines, which is close
/// enough for timing the parser and search.
#[cfg(test)]
mod bench {
    use std::time::Instant;

    use super::bodystructure::BodyStructure;
    use super::envelope::Envelope;
    use super::mime::SectionText;
    use super::search::{Needle, Scope, Scratch};
    use super::{header, mime};

    /// Sections dumped for comparison; keep in step with /tmp/msgcmp3.py.
    fn dump_sections() -> Vec<(Vec<u32>, SectionText)> {
        let f = |not| SectionText::HeaderFields { names: vec![b"FROM".to_vec(), b"TO".to_vec(), b"SUBJECT".to_vec()], not };
        vec![
            (vec![1], SectionText::Full),
            (vec![1], SectionText::Mime),
            (vec![2], SectionText::Full),
            (vec![2], SectionText::Mime),
            (vec![], SectionText::Text),
            (vec![], SectionText::Header),
            (vec![1, 1], SectionText::Full),
            (vec![2, 1], SectionText::Full),
            (vec![2], SectionText::Header),
            (vec![], f(false)),
            (vec![], f(true)),
            (vec![3], SectionText::Full),
            (vec![1, 2], SectionText::Full),
            (vec![2, 2], SectionText::Mime),
        ]
    }

    /// CPU time of this thread, which the machine's load does not inflate.
    fn cpu() -> std::time::Duration {
        // SAFETY: getrusage only writes the struct we pass.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
        std::time::Duration::new(ru.ru_utime.tv_sec as u64, ru.ru_utime.tv_usec as u32 * 1000)
            + std::time::Duration::new(ru.ru_stime.tv_sec as u64, ru.ru_stime.tv_usec as u32 * 1000)
    }

    #[test]
    #[ignore]
    fn bench_mbox() {
        let Some(path) = std::env::var_os("POSTERN_BENCH_MBOX") else { return };
        let word = std::env::var("POSTERN_BENCH_WORD").unwrap_or_else(|_| "zqx007919vorn".into());
        let data = std::fs::read(path).expect("read mbox");
        let mut starts: Vec<usize> = memchr::memmem::find_iter(&data, b"\nFrom ").map(|i| i + 1).collect();
        starts.insert(0, 0);
        let msgs: Vec<&[u8]> = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let e = starts.get(i + 1).copied().unwrap_or(data.len());
                let m = &data[s..e];
                let body = memchr::memchr(b'\n', m).map_or(m.len(), |n| n + 1);
                &m[body..]
            })
            .collect();
        let (t, c) = (Instant::now(), cpu());
        let envs: usize = msgs.iter().map(|m| Envelope::from_header(header::split(m).0).to_imap().len()).sum();
        println!("{} messages; ENVELOPE all: {:?} cpu {:?} ({envs} bytes)", msgs.len(), t.elapsed(), cpu() - c);
        let (t, c) = (Instant::now(), cpu());
        let bss: usize = msgs.iter().map(|m| BodyStructure::of_message(m).to_imap(true).len()).sum();
        println!("BODYSTRUCTURE all: {:?} cpu {:?} ({bss} bytes)", t.elapsed(), cpu() - c);
        let (t, c) = (Instant::now(), cpu());
        let parts: usize = msgs.iter().map(|m| mime::parse(m).children().len()).sum();
        println!("mime::parse all: {:?} cpu {:?} ({parts} top-level children)", t.elapsed(), cpu() - c);
        let (t, c) = (Instant::now(), cpu());
        let needle = Needle::new(&word);
        let mut scratch = Scratch::default();
        let hits: Vec<usize> = msgs
            .iter()
            .enumerate()
            .filter(|(_, m)| needle.in_message(m, &mime::parse_without_lines(m), Scope::Body, &mut scratch))
            .map(|(i, _)| i + 1)
            .collect();
        println!("SEARCH BODY {word}: {:?} cpu {:?} hits {hits:?}", t.elapsed(), cpu() - c);
        // POSTERN_DUMP=file: one line per message with ENVELOPE and
        // BODYSTRUCTURE of the CRLF form, for comparison with Dovecot.
        if let Some(dump) = std::env::var_os("POSTERN_DUMP") {
            let mut out = Vec::new();
            let mut msgs_crlf = Vec::new();
            let mut sections = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                let mut crlf = Vec::with_capacity(m.len() + m.len() / 50);
                for line in m.split_inclusive(|&b| b == b'\n') {
                    match line.strip_suffix(b"\n") {
                        Some(l) => {
                            crlf.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
                            crlf.extend_from_slice(b"\r\n");
                        }
                        None => crlf.extend_from_slice(line),
                    }
                }
                // The mbox separator's blank line is not part of the message.
                if crlf.ends_with(b"\r\n\r\n") {
                    crlf.truncate(crlf.len() - 2);
                }
                out.extend_from_slice(format!("{} ", i + 1).as_bytes());
                out.extend(Envelope::from_header(header::split(&crlf).0).to_imap());
                out.push(b' ');
                out.extend(BodyStructure::of_message(&crlf).to_imap(true));
                let root = mime::parse(&crlf);
                for (path, text) in dump_sections() {
                    let sec = mime::section(&crlf, &root, &path, &text).unwrap_or_default();
                    out.extend_from_slice(format!(" {}", sec.len()).as_bytes());
                    sections.extend_from_slice(&sec);
                }
                out.push(b'\n');
                msgs_crlf.push(crlf);
            }
            std::fs::write(&dump, out).expect("write dump");
            let mut bin = dump.clone();
            bin.push(".sections");
            std::fs::write(bin, sections).expect("write sections");
            let words = std::env::var("POSTERN_WORDS").unwrap_or_default();
            for w in words.split(',').filter(|w| !w.is_empty()) {
                let n = Needle::new(w);
                for scope in [Scope::Body, Scope::Text] {
                    let hits: Vec<usize> = msgs_crlf
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| n.in_message(m, &mime::parse(m), scope, &mut scratch))
                        .map(|(i, _)| i + 1)
                        .collect();
                    println!("WORD {w} {scope:?} {}", hits.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(","));
                }
            }
        }
    }
}
