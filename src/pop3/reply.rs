//! Every byte ipop3d sends passes through [`Replies`]: status lines
//! (`+OK` / `-ERR` with RFC 2449 §8 / RFC 3206 response codes), multi-line
//! responses with dot-stuffing and the terminating `.` (RFC 1939 §3), and
//! the TOP cut of a message (RFC 1939 §7).
//!
//! Replies are collected in one buffer and written by the session with one
//! `send` when no pipelined input is waiting, so a pipelining client
//! (RFC 2449 §6.6) gets few TLS records. This module does no I/O.

/// RFC 2449 §8 / RFC 3206 response codes used by ipop3d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// `[AUTH]` — credentials refused, or authentication against policy
    /// (plaintext before TLS). RFC 3206 §4.
    Auth,
    /// `[IN-USE]` — another POP3 session holds the maildrop. RFC 2449 §8.1.1.
    InUse,
    /// `[SYS/TEMP]` — temporary server failure. RFC 3206 §5.
    SysTemp,
    /// `[SYS/PERM]` — permanent server failure. RFC 3206 §5.
    SysPerm,
}

impl Code {
    fn as_str(self) -> &'static str {
        match self {
            Code::Auth => "[AUTH] ",
            Code::InUse => "[IN-USE] ",
            Code::SysTemp => "[SYS/TEMP] ",
            Code::SysPerm => "[SYS/PERM] ",
        }
    }
}

/// Line state of a message being dot-stuffed in pieces.
#[derive(Debug)]
pub struct Stuffer {
    at_line_start: bool,
    prev: u8,
    any: bool,
}

impl Default for Stuffer {
    fn default() -> Stuffer {
        Stuffer { at_line_start: true, prev: 0, any: false }
    }
}

/// Pending output of the session.
#[derive(Default, Debug)]
pub struct Replies {
    buf: Vec<u8>,
}

impl Replies {
    /// `+OK text`
    pub fn ok(&mut self, text: &str) {
        self.buf.extend_from_slice(b"+OK");
        if !text.is_empty() {
            self.buf.push(b' ');
            self.buf.extend_from_slice(text.as_bytes());
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-ERR [code] text`
    pub fn err(&mut self, code: Option<Code>, text: &str) {
        self.buf.extend_from_slice(b"-ERR ");
        if let Some(c) = code {
            self.buf.extend_from_slice(c.as_str().as_bytes());
        }
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// SASL continuation `+ base64` (RFC 5034 §4).
    pub fn continuation(&mut self, b64: &str) {
        self.buf.extend_from_slice(b"+ ");
        self.buf.extend_from_slice(b64.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// One line of a multi-line listing (our own text: never starts with `.`).
    pub fn line(&mut self, text: &str) {
        self.stuffed(text.as_bytes());
    }

    /// Message data, dot-stuffed, with every line ended by CRLF (a bare LF
    /// becomes CRLF; a missing final line end is added).
    pub fn stuffed(&mut self, data: &[u8]) {
        let mut st = Stuffer::default();
        self.stuff_part(&mut st, data);
        self.stuff_finish(&st);
    }

    /// One piece of a message being dot-stuffed; `st` carries the line
    /// state across pieces so a large message can be sent in parts.
    pub fn stuff_part(&mut self, st: &mut Stuffer, data: &[u8]) {
        self.buf.reserve(data.len() + data.len() / 64 + 4);
        for &b in data {
            if st.at_line_start && b == b'.' {
                self.buf.push(b'.');
            }
            if b == b'\n' && st.prev != b'\r' {
                self.buf.push(b'\r');
            }
            self.buf.push(b);
            st.at_line_start = b == b'\n';
            st.prev = b;
            st.any = true;
        }
    }

    /// Ends the last line of a stuffed message if it had no line end.
    pub fn stuff_finish(&mut self, st: &Stuffer) {
        if st.any && !st.at_line_start {
            self.buf.extend_from_slice(b"\r\n");
        }
    }

    /// The `.` that ends a multi-line response.
    pub fn end(&mut self) {
        self.buf.extend_from_slice(b".\r\n");
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes to send; the buffer is left empty.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// What `TOP msg n` sends of a message (RFC 1939 §7): the header, the blank
/// line, then at most `n` lines of the body. A message without a blank line
/// is all header and is sent whole.
pub fn top_slice(msg: &[u8], n: u32) -> &[u8] {
    let body_start = match find_header_end(msg) {
        Some(p) => p,
        None => return msg,
    };
    let mut end = body_start;
    let mut left = n;
    while left > 0 && end < msg.len() {
        match memchr::memchr(b'\n', &msg[end..]) {
            Some(p) => end += p + 1,
            None => end = msg.len(),
        }
        left -= 1;
    }
    &msg[..end]
}

/// Offset just after the blank line ending the header (CRLF or LF style).
fn find_header_end(msg: &[u8]) -> Option<usize> {
    if msg.starts_with(b"\r\n") {
        return Some(2);
    }
    if msg.starts_with(b"\n") {
        return Some(1);
    }
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'\n', &msg[i..]) {
        let next = i + p + 1;
        if msg[next..].starts_with(b"\r\n") {
            return Some(next + 2);
        }
        if msg[next..].starts_with(b"\n") {
            return Some(next + 1);
        }
        i = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let mut r = Replies::default();
        r.ok("");
        r.ok("2 320");
        r.err(None, "No such message");
        r.err(Some(Code::InUse), "locked");
        r.err(Some(Code::SysTemp), "x");
        r.continuation("");
        assert_eq!(
            r.take(),
            b"+OK\r\n+OK 2 320\r\n-ERR No such message\r\n-ERR [IN-USE] locked\r\n-ERR [SYS/TEMP] x\r\n+ \r\n"
        );
        assert!(r.is_empty());
    }

    #[test]
    fn dot_stuffing() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"a\r\n", b"a\r\n"),
            (b".\r\n", b"..\r\n"),
            (b"..x\r\n.\r\n", b"...x\r\n..\r\n"),
            (b"a.\r\n.b\r\n", b"a.\r\n..b\r\n"),
            (b"no end", b"no end\r\n"),
            (b"bare\nlf\n.x", b"bare\r\nlf\r\n..x\r\n"),
            (b"\r\n.\r\n", b"\r\n..\r\n"),
            (b"nul\0byte\r\n", b"nul\0byte\r\n"),
        ];
        for (input, want) in cases {
            let mut r = Replies::default();
            r.stuffed(input);
            assert_eq!(r.take(), *want, "input {:?}", String::from_utf8_lossy(input));
            // The same in pieces of every size: state must carry over.
            for piece in 1..=4 {
                let mut st = Stuffer::default();
                for part in input.chunks(piece) {
                    r.stuff_part(&mut st, part);
                }
                r.stuff_finish(&st);
                assert_eq!(r.take(), *want, "input {:?} piece {}", String::from_utf8_lossy(input), piece);
            }
        }
    }

    #[test]
    fn top() {
        let m: &[u8] = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        let cases: &[(&[u8], u32, &[u8])] = &[
            (m, 0, b"A: 1\r\nB: 2\r\n\r\n"),
            (m, 1, b"A: 1\r\nB: 2\r\n\r\nl1\r\n"),
            (m, 2, b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n"),
            (m, 3, m),
            (m, u32::MAX, m),
            (b"A: 1\r\n", 5, b"A: 1\r\n"),
            (b"\r\nbody\r\n", 0, b"\r\n"),
            (b"A: 1\r\n\r\nno end", 1, b"A: 1\r\n\r\nno end"),
            (b"A: 1\n\nx\ny\n", 1, b"A: 1\n\nx\n"),
            (b"", 3, b""),
        ];
        for (msg, n, want) in cases {
            assert_eq!(top_slice(msg, *n), *want, "msg {:?} n {}", String::from_utf8_lossy(msg), n);
        }
    }
}
