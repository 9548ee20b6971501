//! The DATA body decoder (RFC 5321 §4.1.1.4, §4.5.2): finds the end of data,
//! undoes dot-stuffing, turns CRLF into the LF that mbox stores, and bounds
//! memory by `max_size`.
//!
//! The end of data is only ever `CRLF . CRLF` with a real CRLF before the
//! dot. A bare LF or bare CR anywhere in the body marks the message as
//! refused (`550 5.6.0`) and is not a line end, so `\n.\n`, `\r\n.\n` or
//! `\n.\r\n` can never end a message and start a smuggled second one
//! (SMTP smuggling, 2023). Input past `max_size` is read and dropped until
//! the real end of data, then refused with `552 5.3.4`.
//!
//! It does no I/O: [`DataDecoder::feed`] takes whatever bytes arrived and
//! says how many it used, so pipelined commands after the body stay in the
//! reader's buffer.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (after a real CRLF, or the DATA line).
    LineStart,
    /// Saw `.` at line start.
    Dot,
    /// Saw `.` CR at line start.
    DotCr,
    /// Inside a line.
    Middle,
    /// Saw CR inside a line.
    Cr,
}

/// How the body turned out once the end of data was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    TooBig,
    BareNewline,
}

pub struct DataDecoder {
    state: State,
    max: u64,
    /// Bytes of the body in wire form (CRLF counted as two), unstuffed.
    size: u64,
    too_big: bool,
    bare: bool,
    out: Vec<u8>,
}

impl DataDecoder {
    pub fn new(max_size: u64) -> DataDecoder {
        DataDecoder { state: State::LineStart, max: max_size, size: 0, too_big: false, bare: false, out: Vec::new() }
    }

    fn push(&mut self, bytes: &[u8], wire_len: u64) {
        self.size = self.size.saturating_add(wire_len);
        if self.size > self.max {
            // Past the limit nothing more is kept: memory stays bounded.
            if !self.too_big {
                self.too_big = true;
                self.out = Vec::new();
            }
            return;
        }
        if !self.bare {
            self.out.extend_from_slice(bytes);
        }
    }

    fn bare_newline(&mut self) {
        self.bare = true;
        self.out = Vec::new();
    }

    /// Consume bytes; returns how many were used and whether the end of
    /// data was reached (then the rest of `input` belongs to later commands).
    pub fn feed(&mut self, input: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            i += 1;
            match self.state {
                State::LineStart => match b {
                    b'.' => self.state = State::Dot,
                    b'\r' => self.state = State::Cr,
                    b'\n' => {
                        self.bare_newline();
                        self.state = State::Middle;
                    }
                    _ => self.run(input, &mut i, b),
                },
                State::Dot => match b {
                    b'\r' => self.state = State::DotCr,
                    b'\n' => {
                        // `\r\n.\n`: not an end; the dot line is body text.
                        self.bare_newline();
                        self.state = State::Middle;
                    }
                    // Dot-stuffing: a leading dot is dropped (§4.5.2).
                    _ => self.run(input, &mut i, b),
                },
                State::DotCr => {
                    if b == b'\n' {
                        return (i, true);
                    }
                    self.bare_newline();
                    self.state = State::Middle;
                    i -= 1;
                }
                State::Middle => self.run(input, &mut i, b),
                State::Cr => {
                    if b == b'\n' {
                        self.push(b"\n", 2);
                        self.state = State::LineStart;
                    } else {
                        self.bare_newline();
                        self.state = State::Middle;
                        i -= 1;
                    }
                }
            }
        }
        (i, false)
    }

    /// Copy a run of ordinary bytes starting with `first` up to the next CR
    /// or LF in one go (the fast path for large bodies).
    fn run(&mut self, input: &[u8], i: &mut usize, first: u8) {
        match first {
            b'\r' => {
                self.state = State::Cr;
                return;
            }
            b'\n' => {
                self.bare_newline();
                self.state = State::Middle;
                return;
            }
            _ => {}
        }
        let start = *i - 1;
        let end = memchr::memchr2(b'\r', b'\n', &input[*i..]).map_or(input.len(), |n| *i + n);
        let n = (end - start) as u64;
        self.push(&input[start..end], n);
        *i = end;
        self.state = State::Middle;
    }

    /// Wire size of the body so far (CRLF counted as two bytes).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The decoded body (LF line ends) and how it turned out.
    pub fn finish(self) -> (Vec<u8>, Outcome) {
        // A bare line end is the more specific refusal; its size is moot.
        let outcome = if self.bare {
            Outcome::BareNewline
        } else if self.too_big {
            Outcome::TooBig
        } else {
            Outcome::Ok
        };
        (if outcome == Outcome::Ok { self.out } else { Vec::new() }, outcome)
    }
}

/// CRLF → LF in place (BDAT bodies arrive raw, mbox stores LF).
pub fn crlf_to_lf(buf: &mut Vec<u8>) {
    let mut w = 0;
    let n = buf.len();
    for r in 0..n {
        let b = buf[r];
        if b == b'\r' && r + 1 < n && buf[r + 1] == b'\n' {
            continue;
        }
        buf[w] = b;
        w += 1;
    }
    buf.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` in chunks of `chunk` bytes; return (consumed, ended, body, outcome).
    fn run(input: &[u8], max: u64, chunk: usize) -> (usize, bool, Vec<u8>, Outcome) {
        let mut d = DataDecoder::new(max);
        let mut pos = 0;
        let mut ended = false;
        while pos < input.len() {
            let end = (pos + chunk).min(input.len());
            let (used, done) = d.feed(&input[pos..end]);
            pos += used;
            if done {
                ended = true;
                break;
            }
        }
        let (body, o) = d.finish();
        (pos, ended, body, o)
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn table_whole_and_chunked() {
        let cases: Vec<(&[u8], u64, usize, bool, &[u8], Outcome)> = vec![
            // input, max, expected consumed, ended, body, outcome
            (b".\r\n", 100, 3, true, b"", Outcome::Ok),
            (b"a\r\n.\r\nMAIL", 100, 6, true, b"a\n", Outcome::Ok),
            (b"..x\r\n...\r\n.\r\n", 100, 13, true, b".x\n..\n", Outcome::Ok),
            (b"Subject: x\r\n\r\nbody\r\n.\r\n", 100, 23, true, b"Subject: x\n\nbody\n", Outcome::Ok),
            // smuggling forms never end the message
            (b"a\n.\nMAIL FROM:<x@y>\r\n.\r\n", 100, 24, true, b"", Outcome::BareNewline),
            (b"a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", 100, 25, true, b"", Outcome::BareNewline),
            (b"a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", 100, 25, true, b"", Outcome::BareNewline),
            (b"a\r.\rX\r\n.\r\n", 100, 10, true, b"", Outcome::BareNewline),
            (b"a\r\n.\rb\r\n.\r\n", 100, 11, true, b"", Outcome::BareNewline),
            // unterminated
            (b"abc\r\n.", 100, 6, false, b"abc\n", Outcome::Ok),
            // over size: consumed to the end, then refused
            (b"0123456789\r\n0123456789\r\n.\r\n", 15, 27, true, b"", Outcome::TooBig),
            (b"0123456789\r\n.\r\n", 12, 15, true, b"0123456789\n", Outcome::Ok),
            (b"0123456789\r\n.\r\n", 11, 15, true, b"", Outcome::TooBig),
        ];
        for (input, max, consumed, ended, body, outcome) in cases {
            for chunk in [input.len(), 1, 2, 3, 7] {
                let got = run(input, max, chunk);
                assert_eq!(got, (consumed, ended, body.to_vec(), outcome), "{:?} chunk {chunk}", String::from_utf8_lossy(input));
            }
        }
    }

    #[test]
    fn size_counts_wire_bytes() {
        let mut d = DataDecoder::new(1000);
        d.feed(b"ab\r\n..c\r\n.\r\n");
        assert_eq!(d.size(), 4 + 4);
    }

    #[test]
    fn crlf_conversion() {
        for (i, o) in [(&b"a\r\nb\r\n"[..], &b"a\nb\n"[..]), (b"a\rb\n\r", b"a\rb\n\r"), (b"", b"")] {
            let mut v = i.to_vec();
            crlf_to_lf(&mut v);
            assert_eq!(v, o);
        }
    }

    /// Straightforward reference: the end is the first CRLF "." CRLF (the
    /// DATA line's CRLF counts as the one before a leading dot); the body
    /// is refused if any CR or LF in it is not part of a CRLF.
    fn reference(input: &[u8], max: u64) -> (usize, bool, Vec<u8>, Outcome) {
        let mut v = b"\r\n".to_vec();
        v.extend_from_slice(input);
        let Some(end) = memchr::memmem::find(&v, b"\r\n.\r\n") else {
            return (input.len(), false, vec![], Outcome::Ok);
        };
        let body = &v[2..end + 2]; // lines with their CRLF
        let consumed = end + 5 - 2;
        let bare = body.iter().enumerate().any(|(i, &b)| {
            (b == b'\r' && body.get(i + 1) != Some(&b'\n')) || (b == b'\n' && (i == 0 || body[i - 1] != b'\r'))
        });
        let mut out = Vec::new();
        let mut size = 0u64;
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = line.strip_prefix(b".").unwrap_or(line);
            size += line.len() as u64 + 2;
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        if bare {
            (consumed, true, vec![], Outcome::BareNewline)
        } else if size > max {
            (consumed, true, vec![], Outcome::TooBig)
        } else {
            (consumed, true, out, Outcome::Ok)
        }
    }

    #[test]
    fn agrees_with_reference_on_random_input() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let input: Vec<u8> = (0..len).map(|_| b"\r\n.a"[(next() % 4) as usize]).collect();
            let max = next() % 16;
            let want = reference(&input, max);
            let chunk = 1 + (next() % 5) as usize;
            let got = run(&input, max, chunk);
            // An unterminated body's partial decode is not compared.
            if want.1 {
                assert_eq!(got, want, "{:?} max {max}", String::from_utf8_lossy(&input));
            } else {
                assert_eq!((got.0, got.1), (want.0, want.1), "{:?}", String::from_utf8_lossy(&input));
            }
        }
    }
}
