//! Debug/inspection driver: print what the store sees in an mbox file
//! (UIDVALIDITY, UIDNEXT, then one line per message: uid, flags, size).
//!
//! ```text
//! cargo run --example mbox_dump -- FILE [expunge N | verify]
//! ```

use postern::store::mbox::{Mailbox, OpenOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        println!("usage: mbox_dump FILE [expunge N]");
        std::process::exit(64);
    };
    let path = std::path::Path::new(path);
    let mut mb = match Mailbox::open(path, &OpenOptions::default()) {
        Ok(m) => m,
        Err(e) => {
            println!("open: {e}");
            std::process::exit(1);
        }
    };
    if args.get(2).map(String::as_str) == Some("expunge") {
        let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
        if let Err(e) = mb.expunge(&[n.saturating_sub(1)]) {
            println!("expunge: {e}");
            std::process::exit(1);
        }
    }
    if args.get(2).map(String::as_str) == Some("verify") {
        // Every client view has exactly the size the scan computed.
        let mut bad = 0;
        let mut v = Vec::new();
        for i in 0..mb.len() {
            v.clear();
            let size = mb.messages()[i].size;
            match mb.read_message(i, &mut v) {
                Ok(()) if v.len() as u64 == size => {}
                r => {
                    bad += 1;
                    println!(
                        "message {}: {:?} view {} size {}",
                        i + 1,
                        r.err(),
                        v.len(),
                        size
                    );
                }
            }
        }
        println!("verified {} messages, {bad} bad", mb.len());
        std::process::exit(i32::from(bad > 0));
    }
    println!(
        "uidvalidity {} uidnext {} messages {} keywords {:?}",
        mb.uid_validity(),
        mb.uid_next(),
        mb.len(),
        mb.keywords()
    );
    for m in mb.messages() {
        println!(
            "{} flags={} recent={} size={} date={}",
            m.uid, m.flags.0, m.recent, m.size, m.internal_date.0
        );
    }
}
