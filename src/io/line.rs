//! Bounded CRLF line buffer under [`super::Conn`]: splits received bytes
//! into lines (CRLF or bare LF, RFC 3501 §2.2, RFC 1939 §3, RFC 5321
//! §2.3.8), hands out byte counts for literals, and discards an over-long
//! line up to its LF with memory bounded by the limit, never by the input.
//!
//! No I/O here: [`super::Conn`] fills the buffer and asks again.

/// What the buffer can give right now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A whole line without its line ending.
    Line(Vec<u8>),
    /// A line over the limit ended; its bytes were dropped.
    TooLong,
    /// No complete line yet: fill and ask again.
    NeedMore,
}

/// Received bytes not yet consumed.
#[derive(Debug, Default)]
pub(crate) struct LineBuf {
    buf: Vec<u8>,
    start: usize,
    /// Inside an over-long line: drop bytes until its LF.
    discarding: bool,
}

impl LineBuf {
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forget everything buffered (STARTTLS: pipelined plaintext).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.discarding = false;
    }

    /// Take the next line if one of at most `max` bytes (without the line
    /// ending) is complete. Over `max`, the line's bytes are dropped as
    /// they arrive and [`Scan::TooLong`] comes once its LF is seen.
    pub(crate) fn take_line(&mut self, max: usize) -> Scan {
        let data = &self.buf[self.start..];
        match memchr::memchr(b'\n', data) {
            Some(i) => {
                self.start += i + 1;
                if self.discarding {
                    self.discarding = false;
                    return Scan::TooLong;
                }
                let line = &data[..i];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.len() > max {
                    Scan::TooLong
                } else {
                    Scan::Line(line.to_vec())
                }
            }
            None => {
                // max content bytes plus a CR may wait for their LF.
                if self.discarding || data.len() > max.saturating_add(1) {
                    self.discarding = true;
                    self.buf.clear();
                    self.start = 0;
                }
                Scan::NeedMore
            }
        }
    }

    /// Move up to `n` buffered bytes into `out`; returns how many.
    pub(crate) fn take_bytes(&mut self, n: usize, out: &mut Vec<u8>) -> usize {
        let k = n.min(self.len());
        out.extend_from_slice(&self.buf[self.start..self.start + k]);
        self.start += k;
        k
    }

    /// Bytes held, for the memory bound tests.
    #[cfg(test)]
    pub(crate) fn capacity_used(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` in chunks of `chunk` bytes, collecting every scan result.
    fn run(input: &[u8], chunk: usize, max: usize) -> Vec<Scan> {
        let mut b = LineBuf::default();
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            b.push(c);
            loop {
                match b.take_line(max) {
                    Scan::NeedMore => break,
                    s => out.push(s),
                }
            }
        }
        out
    }

    fn line(s: &str) -> Scan {
        Scan::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn lines_whole_and_chunked() {
        let table: Vec<(&[u8], usize, Vec<Scan>)> = vec![
            (b"a1 NOOP\r\n", 10, vec![line("a1 NOOP")]),
            (
                b"USER x\nPASS y\r\n",
                10,
                vec![line("USER x"), line("PASS y")],
            ),
            (b"\r\n\n", 10, vec![line(""), line("")]),
            (b"12345\r\n", 5, vec![line("12345")]),
            (b"123456\r\nok\r\n", 5, vec![Scan::TooLong, line("ok")]),
            (
                b"123456789012345678901234567890\r\nnext\r\n",
                5,
                vec![Scan::TooLong, line("next")],
            ),
            (b"a\rb\r\n", 10, vec![line("a\rb")]),
            (b"partial", 10, vec![]),
        ];
        for (input, max, want) in table {
            for chunk in 1..=input.len() {
                assert_eq!(run(input, chunk, max), want, "{:?} chunk {}", input, chunk);
            }
        }
    }

    #[test]
    fn long_line_memory_bounded() {
        let mut b = LineBuf::default();
        let block = vec![b'x'; 16 * 1024];
        for _ in 0..640 {
            b.push(&block);
            assert_eq!(b.take_line(1000), Scan::NeedMore);
            assert!(b.capacity_used() <= 20 * 1024);
        }
        b.push(b"\r\nA OK\r\n");
        assert_eq!(b.take_line(1000), Scan::TooLong);
        assert_eq!(b.take_line(1000), line("A OK"));
    }

    #[test]
    fn bytes_and_clear() {
        let mut b = LineBuf::default();
        b.push(b"{3}\r\nabcdef\r\n");
        assert_eq!(b.take_line(100), line("{3}"));
        let mut out = Vec::new();
        assert_eq!(b.take_bytes(3, &mut out), 3);
        assert_eq!(out, b"abc");
        assert_eq!(b.take_line(100), line("def"));
        b.push(b"junk");
        assert!(!b.is_empty());
        b.clear();
        assert!(b.is_empty());
    }
}
