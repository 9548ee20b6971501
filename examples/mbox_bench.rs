//! Benchmark of the mbox store (issue 3): open + full scan, expunge of
//! message 1 (crash-safe rewrite), append of a message with fsync, and the
//! peak RSS of the process. Works on a copy, never on the given file.
//!
//! ```text
//! cargo run --release --example mbox_bench -- CORPUS.mbox [APPEND.eml] [WORKDIR]
//! ```

use postern::store::mbox::{append, Mailbox, NewMessage, OpenOptions};
use postern::store::Flags;
use std::path::PathBuf;
use std::time::Instant;

/// Peak RSS of this program. VmHWM belongs to the address space, so it
/// starts afresh at exec; getrusage's ru_maxrss does not (Linux carries it
/// over execve), which made a Python driver's own 33 MB show up here.
fn max_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Prints the store's debug lines (phase timings of a rewrite).
struct Stdout;
impl log::Log for Stdout {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target().starts_with("postern::store")
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            println!("    [{}]", r.args());
        }
    }
    fn flush(&self) {}
}

fn main() {
    let _ = log::set_logger(&Stdout);
    log::set_max_level(log::LevelFilter::Debug);
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        println!("usage: mbox_bench CORPUS.mbox [APPEND.eml] [WORKDIR]");
        std::process::exit(64);
    }
    let corpus = PathBuf::from(&args[1]);
    let msg = args
        .get(2)
        .map(|p| std::fs::read(p).expect("read append message"));
    let work = PathBuf::from(
        args.get(3)
            .cloned()
            .unwrap_or_else(|| "/tmp/postern-bench-store".into()),
    );
    std::fs::create_dir_all(&work).expect("workdir");
    let mbox = work.join("INBOX");
    let _ = std::fs::remove_file(&mbox);
    std::fs::copy(&corpus, &mbox).expect("copy corpus");

    let t = Instant::now();
    let mb = Mailbox::open(&mbox, &OpenOptions::default()).expect("open");
    let open = t.elapsed();
    println!(
        "open+scan: {:.3} s  ({} messages, uidvalidity {}, uidnext {})",
        open.as_secs_f64(),
        mb.len(),
        mb.uid_validity(),
        mb.uid_next()
    );
    drop(mb);
    println!("peak RSS after scan: {:.1} MB", max_rss_mb());

    let mut mb = Mailbox::open(&mbox, &OpenOptions::default()).expect("open");
    let t = Instant::now();
    mb.expunge(&[0]).expect("expunge");
    println!(
        "expunge message 1, first write (adds metadata to all; rewrite + fsync + rename): {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    mb.expunge(&[0]).expect("expunge");
    println!(
        "expunge message 1 again (verbatim copy of the rest; + fsync + rename): {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    mb.set_flags(1, Flags::SEEN, &[]);
    mb.write_back().expect("flags");
    println!(
        "flag change written in place (+ fsync): {:.4} s",
        t.elapsed().as_secs_f64()
    );

    let data = msg.unwrap_or_else(|| {
        let mut v = b"Subject: bench\r\n\r\n".to_vec();
        while v.len() < 1 << 20 {
            v.extend_from_slice(
                b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n",
            );
        }
        v
    });
    let mut other = Mailbox::open(&mbox, &OpenOptions::default()).expect("open");
    let t = Instant::now();
    let (v, uids) = append(
        &mbox,
        &[NewMessage {
            data: &data,
            from: "bench@example.org",
            date: (1_700_000_000, 0),
            flags: Flags::default(),
            keywords: &[],
        }],
    )
    .expect("append");
    println!(
        "append {} bytes (fsync): {:.4} s  uidvalidity {v} uid {:?}",
        data.len(),
        t.elapsed().as_secs_f64(),
        uids
    );
    let t = Instant::now();
    let ch = other.sync().expect("sync");
    println!(
        "sync of another session after that append (pure append: tail only): {:.4} s  new {}",
        t.elapsed().as_secs_f64(),
        ch.new
    );
    let t = Instant::now();
    let ch = mb.sync().expect("sync");
    println!(
        "sync of the flag-writing session after the append: {:.4} s  new {}",
        t.elapsed().as_secs_f64(),
        ch.new
    );
    println!("peak RSS: {:.1} MB", max_rss_mb());
    let _ = std::fs::remove_file(&mbox);
}
