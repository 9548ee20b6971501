//! Child-process driver for the store's fault-injection and concurrency
//! tests (tests/store_fault.rs, tests/store_concurrency.rs): the tests kill
//! it with SIGKILL at random points or run it under RLIMIT_FSIZE, which
//! cannot be done to the test process itself.
//!
//! ```text
//! mbox_fault [--fsize BYTES] expunge-half FILE      expunge messages 1,3,5,...
//! mbox_fault [--fsize BYTES] flag-all FILE          \Seen + keyword on every message
//! mbox_fault [--fsize BYTES] append FILE N TAG      N appends, Subject: TAG-i
//! mbox_fault [--fsize BYTES] append-big FILE BYTES one message of about BYTES, Subject: big
//! mbox_fault rename-inbox INBOX MAILDIR NAME       RENAME INBOX to NAME
//! mbox_fault read FILE ITERATIONS                   sync + read every message, check sizes
//! mbox_fault expunge-victims FILE                   expunge "Subject: victim" messages, 5 at a time
//! ```
//! Prints `ready` after opening (where that applies), then `ok` or `err KIND`.

use postern::store::mbox::{append, Mailbox, NewMessage, OpenOptions};
use postern::store::{Flags, StoreError};
use std::io::Write;
use std::path::Path;

fn say(s: &str) {
    let mut o = std::io::stdout();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

fn done(r: Result<(), StoreError>) -> ! {
    match r {
        Ok(()) => {
            say("ok");
            std::process::exit(0)
        }
        Err(e) => {
            say(&format!("err {:?} {}", e.kind, e.detail));
            std::process::exit(1)
        }
    }
}

/// Body of test message `tag`: has lines the mbox format must protect.
pub fn message_text(tag: &str) -> String {
    format!(
        "Subject: {tag}\r\nFrom: t@example.org\r\nStatus: RO\r\n\r\nbody of {tag}\r\nFrom the start\r\n>From quoted\r\n\r\nFrom x Mon Nov 23 11:18:26 2026\r\nend {tag}\r\n"
    )
}

/// A message of about `n` bytes whose every line is distinct, so a cut
/// anywhere shows.
pub fn big_message(n: usize) -> String {
    let mut s = String::from("Subject: big\r\nFrom: t@example.org\r\n\r\n");
    let mut i = 0;
    while s.len() < n {
        s.push_str(&format!(
            "line {i:08} of the big message, with From quoting:\r\nFrom here\r\n"
        ));
        i += 1;
    }
    s.push_str("end of big\r\n");
    s
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--fsize") && args.len() > 1 {
        let n: u64 = args[1].parse().unwrap_or(0);
        let lim = libc::rlimit {
            rlim_cur: n,
            rlim_max: n,
        };
        unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &lim) };
        args.drain(..2);
    }
    if args.len() < 2 {
        say("usage: see examples/mbox_fault.rs");
        std::process::exit(64);
    }
    let path = Path::new(&args[1]);
    match args[0].as_str() {
        "expunge-half" => {
            let mut mb = match Mailbox::open(path, &OpenOptions::default()) {
                Ok(m) => m,
                Err(e) => done(Err(e)),
            };
            say("ready");
            let idx: Vec<usize> = (0..mb.len()).step_by(2).collect();
            done(mb.expunge(&idx))
        }
        "flag-all" => {
            let mut mb = match Mailbox::open(path, &OpenOptions::default()) {
                Ok(m) => m,
                Err(e) => done(Err(e)),
            };
            say("ready");
            for i in 0..mb.len() {
                mb.set_flags(i, Flags::SEEN, &["$Forwarded".to_string()]);
            }
            done(mb.write_back())
        }
        "append" => {
            let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
            let tag = args.get(3).cloned().unwrap_or_else(|| "m".into());
            say("ready");
            for i in 0..n {
                let text = message_text(&format!("{tag}-{i}"));
                let m = NewMessage {
                    data: text.as_bytes(),
                    from: "t@example.org",
                    date: (1_795_432_706, 0),
                    flags: Flags::default(),
                    keywords: &[],
                };
                if let Err(e) = append(path, &[m]) {
                    done(Err(e));
                }
            }
            done(Ok(()))
        }
        "append-big" => {
            let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1 << 20);
            let text = big_message(n);
            say("ready");
            let m = NewMessage {
                data: text.as_bytes(),
                from: "t@example.org",
                date: (1_795_432_706, 0),
                flags: Flags::default(),
                keywords: &[],
            };
            done(append(path, &[m]).map(|_| ()))
        }
        "rename-inbox" => {
            let (dir, name) = match (args.get(2), args.get(3)) {
                (Some(d), Some(n)) => (d.clone(), n.clone()),
                _ => {
                    say("usage: rename-inbox INBOX MAILDIR NAME");
                    std::process::exit(64);
                }
            };
            say("ready");
            let f = postern::store::Folders::new(dir, path);
            done(f.rename_inbox(&name).map(|_| ()))
        }
        "read" => {
            let iters: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
            let mut mb = match Mailbox::open(
                path,
                &OpenOptions {
                    read_only: true,
                    ..Default::default()
                },
            ) {
                Ok(m) => m,
                Err(e) => done(Err(e)),
            };
            say("ready");
            for _ in 0..iters {
                if let Err(e) = mb.sync() {
                    done(Err(e));
                }
                let mut last = 0;
                for i in 0..mb.len() {
                    let m = &mb.messages()[i];
                    if m.uid <= last {
                        say(&format!("bad uid order at {i}"));
                        std::process::exit(2);
                    }
                    last = m.uid;
                    let size = m.size;
                    let mut v = Vec::new();
                    match mb.read_message(i, &mut v) {
                        Ok(()) if v.len() as u64 == size && v.starts_with(b"Subject: ") => {}
                        Ok(()) => {
                            say(&format!("bad message {i}: size {} want {size}", v.len()));
                            std::process::exit(2);
                        }
                        Err(_) => {} // expunged by another process since our sync
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            done(Ok(()))
        }
        "expunge-victims" => {
            let mut mb = match Mailbox::open(path, &OpenOptions::default()) {
                Ok(m) => m,
                Err(e) => done(Err(e)),
            };
            say("ready");
            loop {
                if let Err(e) = mb.sync() {
                    done(Err(e));
                }
                let mut victims = Vec::new();
                for i in 0..mb.len() {
                    let mut h = Vec::new();
                    if mb.read_header(i, &mut h).is_ok() && h.starts_with(b"Subject: victim") {
                        victims.push(i);
                    }
                    if victims.len() == 5 {
                        break;
                    }
                }
                if victims.is_empty() {
                    done(Ok(()));
                }
                if let Err(e) = mb.expunge(&victims) {
                    done(Err(e));
                }
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
        }
        _ => {
            say("unknown mode");
            std::process::exit(64);
        }
    }
}
