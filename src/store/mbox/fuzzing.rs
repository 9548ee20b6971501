//! Entry points for the fuzz targets in `contrib/fuzz` (not part of the
//! API: hidden from docs, kept small). Each one panics on a broken
//! invariant, which is what libFuzzer reports:
//! * [`scan`]: the From_ scanner fed whole and in chunks finds the same
//!   messages; offsets are ordered and inside the input; every size is the
//!   length of the client view the server would send.
//! * [`header_codec`]: metadata header lines parse without panics, and
//!   what `headers::Render` writes (padded, and re-fitted
//!   to the same length as in-place writes do) parses back to the same
//!   flags, keywords and UID.

use super::headers::{self, Meta, Render, PAD};
use super::scan::Scanner;
use crate::store::Flags;

fn scan_in_chunks(data: &[u8], chunk: usize) -> Scanner {
    let mut sc = Scanner::new(0);
    sc.cap = usize::MAX;
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0u64;
    let mut pos = 0;
    loop {
        let take = chunk.min(data.len() - pos);
        buf.extend_from_slice(&data[pos..pos + take]);
        pos += take;
        let eof = pos == data.len();
        let used = sc.feed(&buf, base, eof);
        buf.drain(..used);
        base += used as u64;
        if eof && (buf.is_empty() || used == 0) {
            sc.finish(base + buf.len() as u64);
            return sc;
        }
    }
}

type Shape = (u64, u64, u64, u64, u64, (i64, i32), Option<(u64, u64)>, Meta);

fn shapes(sc: &Scanner) -> Vec<Shape> {
    sc.entries
        .iter()
        .map(|e| {
            (
                e.from_start,
                e.hdr_start,
                e.body_start,
                e.end,
                e.size,
                e.date,
                e.meta_region,
                e.meta.clone(),
            )
        })
        .collect()
}

/// See module doc.
pub fn scan(data: &[u8]) {
    let whole = scan_in_chunks(data, data.len().max(1));
    let chunk = usize::from(data.first().copied().unwrap_or(0) % 61) + 1;
    let parts = scan_in_chunks(data, chunk);
    assert_eq!(shapes(&whole), shapes(&parts), "chunk {chunk}");
    let len = data.len() as u64;
    let mut prev_end = 0;
    for e in &whole.entries {
        assert!(prev_end <= e.from_start, "overlap");
        assert!(e.from_start < e.hdr_start && e.hdr_start <= e.body_start);
        assert!(e.body_start <= e.end && e.end <= len, "bounds");
        if let Some((a, b)) = e.meta_region {
            assert!(e.hdr_start <= a && a <= b && b <= e.body_start, "region");
        }
        let (h, b, end) = (e.hdr_start as usize, e.body_start as usize, e.end as usize);
        let mut view = Vec::new();
        super::client_view(&data[h..end], b - h, false, &mut view);
        assert_eq!(view.len() as u64, e.size, "size of message at {}", e.from_start);
        prev_end = e.end;
    }
}

/// See module doc. `data`: header lines to parse, then (after the first
/// NUL) bytes that pick flags, keywords and a UID to render.
pub fn header_codec(data: &[u8]) {
    let (text, pick) = match memchr::memchr(0, data) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let mut meta = Meta::default();
    let mut field = None;
    for line in text.split_inclusive(|&c| c == b'\n') {
        let cont = matches!(line.first(), Some(b' ') | Some(b'\t'));
        if !cont {
            field = headers::hidden_field(line);
        }
        if let Some(f) = field {
            meta.apply(f, line, cont, true);
        }
    }
    let flags = Flags(pick.first().copied().unwrap_or(0) & 0x1f);
    let uid = pick
        .get(1..5)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .filter(|&u| u > 0);
    let words: Vec<String> = pick
        .get(5..)
        .unwrap_or_default()
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| headers::valid_keyword(w))
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .take(20)
        .collect();
    let mut kws: Vec<&str> = Vec::new();
    for w in &words {
        if !kws.contains(&w.as_str()) {
            kws.push(w);
        }
    }
    let r = Render {
        flags,
        old: true,
        keywords: kws.clone(),
        uid,
        base: None,
    };
    let padded = match r.lines(PAD, None) {
        Some(p) => p,
        None => return,
    };
    let back = parse(&padded);
    assert_eq!(back.flags, flags, "flags {padded:?}");
    assert_eq!(back.uid, uid, "uid {padded:?}");
    assert_eq!(back.keywords, kws, "keywords {padded:?}");
    // In place: fewer keywords must fit in the same bytes.
    let fewer = Render {
        keywords: kws.iter().take(kws.len() / 2).copied().collect(),
        ..r
    };
    let fitted = fewer
        .lines(0, Some(padded.len()))
        .expect("fewer keywords fit in the padded region");
    assert_eq!(fitted.len(), padded.len());
    assert_eq!(parse(&fitted).keywords, fewer.keywords);
}

fn parse(lines: &[u8]) -> Meta {
    let mut m = Meta::default();
    let mut field = None;
    for line in lines.split_inclusive(|&c| c == b'\n') {
        let cont = matches!(line.first(), Some(b' ') | Some(b'\t'));
        if !cont {
            field = headers::hidden_field(line);
        }
        if let Some(f) = field {
            m.apply(f, line, cont, false);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_hold() {
        let f = "From a@b Mon Nov 23 11:18:26 2026\n";
        for d in [
            String::new(),
            format!("{f}Subject: x\nStatus: RO\nX-Keywords: a b\n\n>From y\nFrom z\n\n{f}\n"),
            format!("junk\r\n{f}S: x\r\n\r\nbody"),
        ] {
            super::scan(d.as_bytes());
        }
        super::header_codec(b"Status: RO\nX-Status: AF\nX-Keywords: a b\n\0\x07\x05\0\0\0one two two");
        super::header_codec(b"\0\x1f");
        // Fuzz find: a keyword "," came back as no keyword at all.
        super::header_codec(b"\n \0\0 \n 8\t,");
        super::header_codec(b"\0\0\0\0\0\0a,b c");
    }
}
