//! Helpers shared by the store's integration tests: mailbox fixtures, the
//! `mbox_fault` child driver (built by `cargo test` as an example), and a
//! snapshot of every message's client view by UID.

#![allow(dead_code)]

use postern::store::mbox::{Mailbox, OpenOptions};
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("postern-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("temp dir");
    d
}

/// target/<profile>/examples/<name>, next to this test's deps directory.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let p = dir.join("examples").join(name);
    assert!(
        p.exists(),
        "{} not built (cargo test builds examples)",
        p.display()
    );
    p
}

/// An mbox of `n` messages as an MDA writes it (no metadata, mboxrd
/// quoting), subjects from `subject(i)`, bodies with From-lines.
pub fn mbox_text(n: usize, subject: impl Fn(usize) -> String) -> String {
    let mut s = String::new();
    for i in 0..n {
        let secs_day = 1 + i % 28;
        s.push_str(&format!(
            "From sender{i}@example.org Sun Nov {secs_day:2} 10:{:02}:{:02} 2026\n",
            i % 60,
            (i * 7) % 60
        ));
        s.push_str(&format!(
            "Subject: {}\nMessage-ID: <{i}@example.org>\n\n",
            subject(i)
        ));
        s.push_str(&format!(
            "line one of {i}\n>From the start\n>>From deeper\n"
        ));
        for k in 0..(i % 5) {
            s.push_str(&format!(
                "padding line {k} of message {i} ......................................\n"
            ));
        }
        s.push('\n');
    }
    s
}

/// Every message's client view by UID, and the UIDVALIDITY.
pub fn views(path: &Path) -> (u32, BTreeMap<u32, Vec<u8>>) {
    let mut mb = Mailbox::open(
        path,
        &OpenOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .expect("open for check");
    let mut out = BTreeMap::new();
    for i in 0..mb.len() {
        let mut v = Vec::new();
        mb.read_message(i, &mut v).expect("read");
        assert_eq!(v.len() as u64, mb.messages()[i].size, "size of message {i}");
        out.insert(mb.messages()[i].uid, v);
    }
    (mb.uid_validity(), out)
}

pub fn spawn(args: &[&str]) -> Child {
    Command::new(example("mbox_fault"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mbox_fault")
}

/// Read the child's stdout lines until it exits; returns them.
pub fn finish(mut c: Child) -> Vec<String> {
    let out = c.stdout.take().expect("stdout");
    let lines: Vec<String> = BufReader::new(out).lines().map_while(Result::ok).collect();
    let _ = c.wait();
    lines
}

/// Wait for the child's `ready` line.
pub fn wait_ready(c: &mut Child) -> BufReader<std::process::ChildStdout> {
    let mut r = BufReader::new(c.stdout.take().expect("stdout"));
    let mut line = String::new();
    let _ = r.read_line(&mut line);
    assert_eq!(line.trim(), "ready", "driver did not get ready");
    r
}

/// Small deterministic PRNG (xorshift) for kill times.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Files in `dir` other than `keep` (temp files, locks left behind).
pub fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}
