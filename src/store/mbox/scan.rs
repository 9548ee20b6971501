//! From_ boundary scanning: the one pass over an mbox file that builds the
//! per-message index (byte offsets, client-view size, INTERNALDATE, mbox
//! metadata headers). The role of Dovecot's istream-raw-mbox and UW's
//! `unix_parse`.
//!
//! * A message starts at a line `From <sender> <ctime date>` that passes the
//!   strict check of UW's `VALID` (c-client unix.h): weekday, month, day,
//!   `hh:mm[:ss]`, year, one optional zone before or after the year, and an
//!   optional ` remote from <host>` tail. Any other `From ` line is body text.
//! * The file is read in chunks with `pread` (never loaded whole): the
//!   [`Scanner`] is fed any prefix of the remaining bytes and says how much it
//!   consumed; bodies are skipped with `memchr`/`memmem`, only header lines
//!   are looked at one by one.
//! * A blank line right before the next From_ (or at end of file) is the
//!   separator the writer added, not message text (UW and Dovecot agree).
//! * Bytes before the first From_ (garbage, blank lines) are not a message;
//!   their length is kept so a rewrite copies them unchanged (no data loss).
//! * Client size (RFC822.SIZE, POP3 LIST) = bytes of the message with hidden
//!   metadata headers removed, one `>` removed from each body line matching
//!   `^>+From ` (mboxrd), and every bare LF counted as CRLF.
//!
//! Does not interpret MIME, and assigns no UIDs (see `uid.rs` logic in mod.rs).

use super::headers::{self, Field, Meta};
use memchr::memmem;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Chunk size for reading; also the longest line treated as a line.
pub(crate) const CHUNK: usize = 1 << 20;

/// Index entry for one message as found in the file.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawEntry {
    /// Offset of the `From ` line.
    pub from_start: u64,
    /// First header byte (just after the From_ line).
    pub hdr_start: u64,
    /// First body byte (just after the blank line ending the header).
    pub body_start: u64,
    /// End of message text (the separator blank line excluded).
    pub end: u64,
    /// INTERNALDATE: unix seconds and zone minutes.
    pub date: (i64, i32),
    /// Client-view size with CRLF line ends.
    pub size: u64,
    /// Metadata headers found.
    pub meta: Meta,
    /// Byte range of the contiguous run of metadata header lines, if they
    /// are contiguous (in-place flag updates rewrite exactly this range).
    pub meta_region: Option<(u64, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Preamble,
    Header,
    Body,
}

/// Incremental scanner. Feed it chunks, then call [`Scanner::finish`].
pub(crate) struct Scanner {
    pub entries: Vec<RawEntry>,
    /// Bytes before the first From_ line (only meaningful when the scan
    /// started at offset 0).
    pub preamble_end: Option<u64>,
    state: State,
    /// The line at the current position began in an earlier chunk.
    midline: bool,
    cur: RawEntry,
    stats: Stats,
    /// The last header field seen was hidden (continuations are too).
    field: Option<Field>,
    /// The current message's metadata run was interrupted by a visible line.
    region_broken: bool,
    visible_after_meta: bool,
    /// Length of the last line if it was blank (1 = "\n", 2 = "\r\n").
    last_blank: u8,
    start: u64,
    /// Size of the caller's buffer ([`CHUNK`]; smaller in tests).
    pub cap: usize,
}

#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    lf: u64,
    crlf: u64,
    quoted: u64,
    hidden_bytes: u64,
    hidden_lf: u64,
    hidden_crlf: u64,
}

impl Scanner {
    /// A scanner whose first byte fed is at file offset `start`; `start`
    /// must be 0 or the offset of a From_ line.
    pub fn new(start: u64) -> Scanner {
        Scanner {
            entries: Vec::new(),
            preamble_end: None,
            state: State::Preamble,
            midline: false,
            cur: RawEntry::default(),
            stats: Stats::default(),
            field: None,
            region_broken: false,
            visible_after_meta: false,
            last_blank: 0,
            start,
            cap: CHUNK,
        }
    }

    /// Consume a prefix of `buf` (which starts at file offset `base`).
    /// `eof`: no more bytes will come. A line without LF is otherwise left
    /// for the next call, unless it fills the whole buffer (`cap`). Returns
    /// the number of bytes consumed.
    pub fn feed(&mut self, buf: &[u8], base: u64, eof: bool) -> usize {
        let mut p = 0usize;
        while p < buf.len() {
            // The unconsumed rest cannot grow: take a line without LF as is.
            let must_progress = eof || (p == 0 && buf.len() >= self.cap);
            if self.midline {
                // Rest of an over-long line: count it with the current state.
                match memchr::memchr(b'\n', &buf[p..]) {
                    Some(i) => {
                        self.count_body(&buf[p..p + i + 1], false);
                        self.last_blank = 0;
                        p += i + 1;
                        self.midline = false;
                    }
                    None => {
                        self.count_body(&buf[p..], false);
                        self.last_blank = 0;
                        return buf.len();
                    }
                }
                continue;
            }
            match self.state {
                State::Preamble | State::Header => {
                    let line_end = match memchr::memchr(b'\n', &buf[p..]) {
                        Some(i) => p + i + 1,
                        None if must_progress => buf.len(),
                        None => return p,
                    };
                    let line = &buf[p..line_end];
                    let off = base + p as u64;
                    if line_end == buf.len() && !eof && line.last() != Some(&b'\n') {
                        // Over-long line with no LF in a full buffer.
                        if self.state == State::Header {
                            self.state = State::Body;
                            self.cur.body_start = off;
                        }
                        self.midline = true;
                        self.count_body(line, false);
                        return buf.len();
                    }
                    if line.starts_with(b"From ") {
                        if let Some(date) = parse_from_line(line) {
                            self.boundary(off, line_end as u64 + base, date);
                            p = line_end;
                            continue;
                        }
                    }
                    if self.state == State::Preamble {
                        p = line_end;
                        continue;
                    }
                    self.header_line(line, off);
                    p = line_end;
                }
                State::Body => {
                    // Candidate From_ at a line start.
                    let cand = if buf[p..].starts_with(b"From ") {
                        Some(p)
                    } else {
                        memmem::find(&buf[p..], b"\nFrom ").map(|i| p + i + 1)
                    };
                    match cand {
                        Some(q) => {
                            if q > p {
                                self.count_body(&buf[p..q], true);
                            }
                            let line_end = match memchr::memchr(b'\n', &buf[q..]) {
                                Some(i) => q + i + 1,
                                None if eof => buf.len(),
                                None if must_progress && q == p => {
                                    self.midline = true;
                                    self.count_body(&buf[q..], true);
                                    return buf.len();
                                }
                                None => return q,
                            };
                            let line = &buf[q..line_end];
                            if let Some(date) = parse_from_line(line) {
                                self.boundary(base + q as u64, base + line_end as u64, date);
                            } else {
                                self.count_body(line, true);
                            }
                            p = line_end;
                        }
                        None => {
                            // Up to the last complete line; a partial line
                            // may be the start of "From ".
                            let rest = &buf[p..];
                            match memchr::memrchr(b'\n', rest) {
                                Some(i) if !eof => {
                                    self.count_body(&rest[..i + 1], true);
                                    // A partial last line is left for the
                                    // next chunk: it may begin "From ".
                                    return p + i + 1;
                                }
                                _ => {
                                    if eof {
                                        self.count_body(rest, true);
                                        return buf.len();
                                    }
                                    if must_progress {
                                        self.midline = true;
                                        self.count_body(rest, true);
                                        return buf.len();
                                    }
                                    return p;
                                }
                            }
                        }
                    }
                }
            }
        }
        p
    }

    /// A valid From_ line at `off` ending at `line_end`.
    fn boundary(&mut self, off: u64, line_end: u64, date: (i64, i32)) {
        match self.state {
            State::Preamble => {
                if self.preamble_end.is_none() {
                    self.preamble_end = Some(off);
                }
            }
            _ => self.finish_message(off),
        }
        self.cur = RawEntry {
            from_start: off,
            hdr_start: line_end,
            body_start: line_end,
            end: line_end,
            date,
            ..RawEntry::default()
        };
        self.stats = Stats::default();
        self.field = None;
        self.region_broken = false;
        self.visible_after_meta = false;
        self.last_blank = 0;
        self.state = State::Header;
    }

    fn header_line(&mut self, line: &[u8], off: u64) {
        let len = line.len() as u64;
        let lf = u64::from(line.last() == Some(&b'\n'));
        let crlf = u64::from(line.ends_with(b"\r\n"));
        self.stats.lf += lf;
        self.stats.crlf += crlf;
        if line == b"\n" || line == b"\r\n" {
            self.state = State::Body;
            self.cur.body_start = off + len;
            self.last_blank = len as u8;
            return;
        }
        self.last_blank = 0;
        let is_cont = matches!(line.first(), Some(b' ') | Some(b'\t'));
        let field = if is_cont {
            self.field
        } else {
            headers::hidden_field(line)
        };
        if !is_cont {
            self.field = field;
        }
        match field {
            Some(f) => {
                self.stats.hidden_bytes += len;
                self.stats.hidden_lf += lf;
                self.stats.hidden_crlf += crlf;
                let first = self.entries.is_empty() && self.start == 0;
                self.cur.meta.apply(f, line, is_cont, first);
                match self.cur.meta_region {
                    None => self.cur.meta_region = Some((off, off + len)),
                    Some((s, _)) => {
                        if self.visible_after_meta {
                            self.region_broken = true;
                        }
                        self.cur.meta_region = Some((s, off + len));
                    }
                }
            }
            None => {
                if self.cur.meta_region.is_some() {
                    self.visible_after_meta = true;
                }
            }
        }
    }

    /// Body bytes (whole lines unless `midline`). `line_start`: `bytes`
    /// begins at a line start.
    fn count_body(&mut self, bytes: &[u8], line_start: bool) {
        let lf = memchr::memchr_iter(b'\n', bytes).count() as u64;
        self.stats.lf += lf;
        if memchr::memchr(b'\r', bytes).is_some() {
            self.stats.crlf += memmem::find_iter(bytes, b"\r\n").count() as u64;
        }
        if self.state == State::Body {
            if line_start && !self.midline && is_quoted_from(bytes) {
                self.stats.quoted += 1;
            }
            for i in memmem::find_iter(bytes, b"\n>") {
                if is_quoted_from(&bytes[i + 1..]) {
                    self.stats.quoted += 1;
                }
            }
        }
        // Is the last line of `bytes` blank?
        if bytes.last() == Some(&b'\n') {
            let body = &bytes[..bytes.len() - 1];
            let prev = memchr::memrchr(b'\n', body);
            let last_line = match prev {
                Some(i) => &bytes[i + 1..],
                None if line_start && !self.midline => bytes,
                None => &b"x"[..],
            };
            self.last_blank = match last_line {
                b"\n" => 1,
                b"\r\n" => 2,
                _ => 0,
            };
        } else {
            self.last_blank = 0;
        }
    }

    fn finish_message(&mut self, at: u64) {
        let mut e = std::mem::take(&mut self.cur);
        let mut st = self.stats;
        let mut end = at;
        if self.state == State::Body
            && self.last_blank > 0
            && at - u64::from(self.last_blank) >= e.body_start
        {
            end = at - u64::from(self.last_blank);
            st.lf = st.lf.saturating_sub(1);
            if self.last_blank == 2 {
                st.crlf = st.crlf.saturating_sub(1);
            }
        }
        if self.state == State::Header {
            e.body_start = at;
        }
        e.end = end;
        if self.region_broken {
            e.meta_region = None;
        }
        let bytes = end.saturating_sub(e.hdr_start);
        let lf = st.lf.saturating_sub(st.hidden_lf);
        let crlf = st.crlf.saturating_sub(st.hidden_crlf);
        e.size = (bytes
            .saturating_sub(st.hidden_bytes)
            .saturating_sub(st.quoted)
            + lf)
            .saturating_sub(crlf);
        self.entries.push(e);
    }

    /// End of input at file offset `end`.
    pub fn finish(&mut self, end: u64) {
        if self.state == State::Preamble {
            if self.preamble_end.is_none() {
                self.preamble_end = Some(end);
            }
        } else {
            self.finish_message(end);
        }
        self.state = State::Preamble;
    }
}

/// `^>+From ` — the lines mboxrd quoting adds a `>` to.
pub(crate) fn is_quoted_from(line: &[u8]) -> bool {
    let n = line.iter().take_while(|&&c| c == b'>').count();
    n > 0 && line[n..].starts_with(b"From ")
}

/// Scan `file` from `start` (0 or a From_ offset) to `end` with pread.
pub(crate) fn scan_file(file: &File, start: u64, end: u64) -> io::Result<Scanner> {
    let mut sc = Scanner::new(start);
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0usize;
    let mut base = start;
    loop {
        let want = ((end - base) as usize)
            .saturating_sub(filled)
            .min(CHUNK - filled);
        let mut n = 0;
        if want > 0 {
            n = file.read_at(&mut buf[filled..filled + want], base + filled as u64)?;
        }
        filled += n;
        let eof = n == 0 || base + filled as u64 >= end;
        let used = sc.feed(&buf[..filled], base, eof);
        buf.copy_within(used..filled, 0);
        filled -= used;
        base += used as u64;
        if eof && (filled == 0 || used == 0) {
            sc.finish(base + filled as u64);
            return Ok(sc);
        }
    }
}

const WEEKDAYS: [&[u8]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Strict From_ line check (UW `VALID`); returns INTERNALDATE (unix
/// seconds, zone minutes). Dates without a zone are taken as UTC.
///
/// ```text
/// From sender Www Mmm dd hh:mm[:ss] [zone] yyyy [zone] [remote from host]
/// ```
pub(crate) fn parse_from_line(line: &[u8]) -> Option<(i64, i32)> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(b"From ")?;
    if rest.len() > 4096 {
        return None;
    }
    let mut toks: Vec<&[u8]> = rest
        .split(|&c| c == b' ' || c == b'\t')
        .filter(|t| !t.is_empty())
        .collect();
    let n = toks.len();
    if n >= 3 && toks[n - 3] == b"remote" && toks[n - 2] == b"from" {
        toks.truncate(n - 3);
    }
    // Year last, or zone last.
    let (year, zone, tail) = {
        let n = toks.len();
        if n < 6 {
            return None;
        }
        if is_year(toks[n - 1]) {
            if n >= 7 && is_zone(toks[n - 2]) {
                (toks[n - 1], Some(toks[n - 2]), n - 2)
            } else {
                (toks[n - 1], None, n - 1)
            }
        } else if is_zone(toks[n - 1]) && is_year(toks[n - 2]) {
            (toks[n - 2], Some(toks[n - 1]), n - 2)
        } else {
            return None;
        }
    };
    if tail < 5 {
        return None;
    }
    let (wd, mon, day, time) = (
        toks[tail - 4],
        toks[tail - 3],
        toks[tail - 2],
        toks[tail - 1],
    );
    if !WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(wd)) {
        return None;
    }
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
    let day = num(day, 1, 2)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let mut tp = time.split(|&c| c == b':');
    let h = num(tp.next()?, 1, 2)?;
    let mi = num(tp.next()?, 2, 2)?;
    let s = match tp.next() {
        Some(s) => num(s, 2, 2)?,
        None => 0,
    };
    if tp.next().is_some() || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut y = num(year, 2, 4)? as i64;
    if year.len() == 2 {
        y += if y < 70 { 2000 } else { 1900 };
    }
    let zmin = zone.map(zone_minutes).unwrap_or(0);
    let days = days_from_civil(y, month, day);
    let secs = days * 86400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)
        - i64::from(zmin) * 60;
    Some((secs, zmin))
}

fn num(t: &[u8], min: usize, max: usize) -> Option<u32> {
    if t.len() < min || t.len() > max || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    t.iter()
        .try_fold(0u32, |a, &c| Some(a * 10 + u32::from(c - b'0')))
}

fn is_year(t: &[u8]) -> bool {
    (t.len() == 4 || t.len() == 2) && t.iter().all(u8::is_ascii_digit)
}

fn is_zone(t: &[u8]) -> bool {
    (t.len() == 5 && (t[0] == b'+' || t[0] == b'-') && t[1..].iter().all(u8::is_ascii_digit))
        || ((2..=5).contains(&t.len()) && t.iter().all(u8::is_ascii_alphabetic))
}

fn zone_minutes(t: &[u8]) -> i32 {
    if t.len() == 5 && (t[0] == b'+' || t[0] == b'-') {
        let v = t[1..]
            .iter()
            .fold(0i32, |a, &c| a * 10 + i32::from(c - b'0'));
        let m = (v / 100) * 60 + v % 100;
        return if t[0] == b'-' { -m } else { m };
    }
    const NAMED: &[(&[u8], i32)] = &[
        (b"EST", -300),
        (b"EDT", -240),
        (b"CST", -360),
        (b"CDT", -300),
        (b"MST", -420),
        (b"MDT", -360),
        (b"PST", -480),
        (b"PDT", -420),
        (b"BST", 60),
        (b"CET", 60),
        (b"CEST", 120),
        (b"MET", 60),
        (b"MEST", 120),
    ];
    NAMED
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(t))
        .map(|&(_, m)| m)
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `Www Mmm dd hh:mm:ss yyyy` (asctime, UTC) for a From_ line.
pub(crate) fn format_ctime(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let wd = (days + 4).rem_euclid(7) as usize;
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        String::from_utf8_lossy(WEEKDAYS[wd]),
        String::from_utf8_lossy(MONTHS[(m - 1) as usize]),
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        y
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines() {
        let cases: &[(&str, Option<i64>)] = &[
            ("From a@b Thu Jan  1 00:00:00 1970\n", Some(0)),
            ("From a@b Mon Nov 23 11:18:26 2026\n", Some(1795432706)),
            ("From a@b Mon Nov 23 11:18 2026\n", Some(1795432680)),
            (
                "From a@b Mon Nov 23 11:18:26 2026 +0100\n",
                Some(1795432706 - 3600),
            ),
            (
                "From a@b Mon Nov 23 11:18:26 -0100 2026\r\n",
                Some(1795432706 + 3600),
            ),
            (
                "From a@b Mon Nov 23 11:18:26 PST 2026\n",
                Some(1795432706 + 8 * 3600),
            ),
            (
                "From a b c Mon Nov 23 11:18:26 2026 remote from x\n",
                Some(1795432706),
            ),
            (
                "From a@b Mon Nov 23 11:18:26 70\n",
                None.or(Some(days_from_civil(1970, 11, 23) * 86400 + 40706)),
            ),
            (
                "From MAILER-DAEMON Mon Nov 23 11:18:26 2026",
                Some(1795432706),
            ),
            ("From here to eternity\n", None),
            ("From a@b Xyz Nov 23 11:18:26 2026\n", None),
            ("From a@b Mon Foo 23 11:18:26 2026\n", None),
            ("From a@b Mon Nov 32 11:18:26 2026\n", None),
            ("From a@b Mon Nov 23 25:18:26 2026\n", None),
            ("From Mon Nov 23 11:18:26 2026\n", None),
            ("From: a@b Mon Nov 23 11:18:26 2026\n", None),
            ("from a@b Mon Nov 23 11:18:26 2026\n", None),
        ];
        for &(line, want) in cases {
            assert_eq!(
                parse_from_line(line.as_bytes()).map(|d| d.0),
                want,
                "{line:?}"
            );
        }
    }

    #[test]
    fn ctime_round_trip() {
        for secs in [0i64, 1795432706, 951782400, 4102444799] {
            let l = format!("From x {}\n", format_ctime(secs));
            assert_eq!(parse_from_line(l.as_bytes()), Some((secs, 0)), "{l}");
        }
    }

    fn scan_chunked(data: &[u8], chunk: usize) -> Scanner {
        scan_capped(data, chunk, usize::MAX)
    }

    /// Feed `chunk` bytes at a time into a buffer never larger than `cap`.
    fn scan_capped(data: &[u8], chunk: usize, cap: usize) -> Scanner {
        let mut sc = Scanner::new(0);
        sc.cap = cap;
        let mut buf: Vec<u8> = Vec::new();
        let mut base = 0u64;
        let mut pos = 0;
        loop {
            let take = chunk.min(data.len() - pos).min(cap - buf.len());
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

    type Want = (u64, u64, u64, u64, u64); // from, hdr, body, end, size

    #[test]
    fn scanner_table_whole_and_chunked() {
        let f1 = "From a@b Mon Nov 23 11:18:26 2026\n";
        let cases: Vec<(String, u64, Vec<Want>)> = vec![
            (String::new(), 0, vec![]),
            ("garbage\n\n".into(), 9, vec![]),
            (
                format!("{f1}Subject: x\n\nbody\n\n{f1}A: b\n\nline\n"),
                0,
                vec![(0, 34, 46, 51, 20), (52, 86, 92, 97, 14)],
            ),
            // X-UID/Status hidden; >From unquoted; body From line not valid.
            (
                format!("{f1}Status: RO\nX-UID: 7\nS: y\n\n>From me\nFrom here on\n"),
                0,
                vec![(0, 34, 60, 82, 6 + 2 + 9 + 14)],
            ),
            // CRLF file, no final newline, leading garbage.
            (
                format!("junk\r\n{}Subject: x\r\n\r\nbody", f1.replace('\n', "\r\n")),
                6,
                vec![(6, 41, 55, 59, 18)],
            ),
            // NULs and an empty body.
            (format!("{f1}A: \0\n\n\n"), 0, vec![(0, 34, 40, 40, 8)]),
            // Header with no blank line before the next From_.
            (
                format!("{f1}A: b\n{f1}B: c\n"),
                0,
                vec![(0, 34, 39, 39, 6), (39, 73, 78, 78, 6)],
            ),
        ];
        for (data, pre, want) in &cases {
            for chunk in [1usize, 2, 3, 7, 64, 100000] {
                let sc = scan_chunked(data.as_bytes(), chunk);
                let got: Vec<Want> = sc
                    .entries
                    .iter()
                    .map(|e| (e.from_start, e.hdr_start, e.body_start, e.end, e.size))
                    .collect();
                assert_eq!(&got, want, "chunk {chunk} data {data:?}");
                assert_eq!(
                    sc.preamble_end.unwrap_or(0),
                    *pre,
                    "chunk {chunk} data {data:?}"
                );
            }
        }
    }

    /// A buffer that is full at every feed (the driver's normal case) must
    /// not cut header lines: every message's X-UID is found, whatever the
    /// buffer size, as long as lines fit.
    #[test]
    fn full_buffer_keeps_header_lines_whole() {
        let mut data = String::new();
        for i in 1..=40 {
            data.push_str(&format!("From a@b Mon Nov 23 11:18:26 2026\nSubject: message {i}\nX-UID: {i}\n\nbody {i}\n>From x\n\n"));
        }
        let whole = scan_chunked(data.as_bytes(), data.len());
        for cap in [64usize, 65, 80, 97, 128, 1000] {
            let sc = scan_capped(data.as_bytes(), cap, cap);
            let uids: Vec<Option<u32>> = sc.entries.iter().map(|e| e.meta.uid).collect();
            assert_eq!(uids, (1..=40).map(Some).collect::<Vec<_>>(), "cap {cap}");
            let a: Vec<_> = sc
                .entries
                .iter()
                .map(|e| (e.from_start, e.body_start, e.end, e.size))
                .collect();
            let b: Vec<_> = whole
                .entries
                .iter()
                .map(|e| (e.from_start, e.body_start, e.end, e.size))
                .collect();
            assert_eq!(a, b, "cap {cap}");
        }
    }

    #[test]
    fn scanner_reads_metadata() {
        let data = "From a@b Mon Nov 23 11:18:26 2026\nX-IMAPbase: 1234 0000000010 $Junk work\n\
                    Status: RO\nX-Status: AF\nX-Keywords: work   \nX-UID: 5\n\nb\n";
        for chunk in [1usize, 5, 1000] {
            let sc = scan_chunked(data.as_bytes(), chunk);
            let m = &sc.entries[0].meta;
            assert_eq!(m.base, Some((1234, 11)));
            assert_eq!(
                m.base_keywords,
                vec!["$Junk".to_string(), "work".to_string()]
            );
            assert_eq!(m.uid, Some(5));
            assert!(m.old);
            assert_eq!(m.keywords, vec!["work".to_string()]);
            assert_eq!(sc.entries[0].meta_region, Some((34, 34 + 92)));
            assert_eq!(sc.entries[0].size, 2 + 3);
        }
    }
}
