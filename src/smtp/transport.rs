//! What the SMTP session needs from its connection, and the buffered reader
//! it reads commands, DATA bodies and BDAT chunks through.
//!
//! [`Transport`] is deliberately small (raw reads, one write per reply,
//! STARTTLS, TLS facts) so that transcript tests run the real session over an
//! in-memory script; `super::conn` adapts [`crate::io::Conn`] to it.
//! [`Input`] keeps its own buffer because DATA needs the line ends exactly
//! as sent (bare LF detection, RFC 5321 §4.1.1.4), which a line reader that
//! strips them cannot give. Every read is bounded: over-long command lines
//! are read and dropped up to their LF, never stored.

use crate::io::TlsInfo;
use std::io;

/// The connection as the session sees it.
pub trait Transport {
    /// Read some bytes; `Ok(0)` is EOF, an error of kind `TimedOut` or
    /// `WouldBlock` is the idle timeout.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Write one whole reply (or pipelined batch) and flush.
    fn send(&mut self, buf: &[u8]) -> io::Result<()>;
    /// True when the layer below holds bytes not yet returned by `read_some`.
    fn has_buffered(&self) -> bool;
    /// Whether STARTTLS can be offered (a certificate is configured).
    fn can_start_tls(&self) -> bool;
    /// Handshake now, discarding plaintext bytes still buffered below.
    fn start_tls(&mut self) -> io::Result<()>;
    /// Set once TLS is up.
    fn tls(&self) -> Option<TlsInfo>;
    /// Peer IP address for logs and the Received header.
    fn peer(&self) -> Option<std::net::IpAddr>;
}

/// Result of reading one command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line without CRLF (or bare LF).
    Line(Vec<u8>),
    /// Longer than the bound; read and dropped up to its LF.
    TooLong,
    Eof,
    Timeout,
}

const CHUNK: usize = 64 * 1024;

/// A buffered reader over a [`Transport`], holding the replies not yet
/// sent: they go out in one write when the reader is about to wait for the
/// client, so a pipelined batch gets one answer (RFC 2920 §3.2) and no
/// reply is ever held back while the client waits for it.
pub struct Input<T: Transport> {
    pub t: T,
    buf: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

/// Outcome of filling the buffer.
enum Fill {
    Data,
    Eof,
    Timeout,
}

impl<T: Transport> Input<T> {
    pub fn new(t: T) -> Input<T> {
        Input { t, buf: Vec::new(), pos: 0, out: Vec::new() }
    }

    fn fill(&mut self) -> io::Result<Fill> {
        if self.pos < self.buf.len() {
            return Ok(Fill::Data);
        }
        if !self.t.has_buffered() {
            // About to wait for the client: everything owed goes out first.
            self.flush()?;
        }
        self.buf.clear();
        self.pos = 0;
        self.buf.resize(CHUNK, 0);
        let r = self.t.read_some(&mut self.buf);
        let n = match r {
            Ok(n) => n,
            Err(e) => {
                self.buf.clear();
                if is_timeout(&e) {
                    return Ok(Fill::Timeout);
                }
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    return Ok(Fill::Eof);
                }
                return Err(e);
            }
        };
        self.buf.truncate(n);
        Ok(if n == 0 { Fill::Eof } else { Fill::Data })
    }

    /// Bytes received but not yet consumed, here or below (pipelining).
    pub fn has_buffered(&self) -> bool {
        self.pos < self.buf.len() || self.t.has_buffered()
    }

    /// Drop what is buffered here (before a TLS handshake).
    pub fn discard_buffered(&mut self) -> usize {
        let n = self.buf.len() - self.pos;
        self.buf.clear();
        self.pos = 0;
        n
    }

    /// One command line of at most `max` bytes before the CRLF.
    pub fn read_line(&mut self, max: usize) -> io::Result<Line> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            match self.fill()? {
                Fill::Data => {}
                Fill::Eof => return Ok(Line::Eof),
                Fill::Timeout => return Ok(Line::Timeout),
            }
            let avail = &self.buf[self.pos..];
            let (take, done) = match memchr::memchr(b'\n', avail) {
                Some(n) => (n + 1, true),
                None => (avail.len(), false),
            };
            if !too_long {
                line.extend_from_slice(&avail[..take]);
                // +2 leaves room for the CRLF itself.
                if line.len() > max + 2 {
                    too_long = true;
                    line = Vec::new();
                }
            }
            self.pos += take;
            if done {
                if too_long {
                    return Ok(Line::TooLong);
                }
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > max {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Line(line));
            }
        }
    }

    /// Feed buffered input to `f` until it says it is done; `f` returns
    /// (bytes used, done). Returns false on EOF/timeout before done.
    pub fn read_until(&mut self, mut f: impl FnMut(&[u8]) -> (usize, bool)) -> io::Result<Result<(), Line>> {
        loop {
            match self.fill()? {
                Fill::Data => {}
                Fill::Eof => return Ok(Err(Line::Eof)),
                Fill::Timeout => return Ok(Err(Line::Timeout)),
            }
            let (used, done) = f(&self.buf[self.pos..]);
            self.pos += used;
            if done {
                return Ok(Ok(()));
            }
        }
    }

    /// Read exactly `n` bytes, appending them to `out` while `keep` is
    /// true (BDAT chunks past `max_size` are read and dropped).
    pub fn read_exact(&mut self, n: u64, out: &mut Vec<u8>, keep: bool) -> io::Result<Result<(), Line>> {
        let mut left = n;
        self.read_until(|avail| {
            let take = (avail.len() as u64).min(left) as usize;
            if keep {
                out.extend_from_slice(&avail[..take]);
            }
            left -= take as u64;
            (take, left == 0)
        })
        .map(|r| if n == 0 { Ok(()) } else { r })
    }

    /// Reply bytes to send before the next wait for input.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Send what is queued now, in one write.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        self.t.send(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes delivered in fixed-size reads; `log` records reads and sends.
    struct Chunks {
        data: Vec<u8>,
        pos: usize,
        chunk: usize,
        log: Vec<String>,
    }
    impl Transport for Chunks {
        fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            self.log.push(format!("read {n}"));
            Ok(n)
        }
        fn send(&mut self, b: &[u8]) -> io::Result<()> {
            self.log.push(format!("send {}", String::from_utf8_lossy(b)));
            Ok(())
        }
        fn has_buffered(&self) -> bool {
            false
        }
        fn can_start_tls(&self) -> bool {
            false
        }
        fn start_tls(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn tls(&self) -> Option<TlsInfo> {
            None
        }
        fn peer(&self) -> Option<std::net::IpAddr> {
            None
        }
    }

    #[test]
    fn lines_whole_and_chunked() {
        let input = b"EHLO a\r\nNOOP\nxxxxxxxxxxxx\r\n12345678\r\nQUIT\r\n";
        let want = vec![
            Line::Line(b"EHLO a".to_vec()),
            Line::Line(b"NOOP".to_vec()),
            Line::TooLong,
            Line::Line(b"12345678".to_vec()),
            Line::Line(b"QUIT".to_vec()),
            Line::Eof,
        ];
        for chunk in [1, 2, 3, 5, 64] {
            let mut i = Input::new(Chunks { data: input.to_vec(), pos: 0, chunk, log: vec![] });
            let got: Vec<Line> = (0..want.len()).map(|_| i.read_line(8).unwrap()).collect();
            assert_eq!(got, want, "chunk {chunk}");
        }
    }

    #[test]
    fn exact_reads() {
        for chunk in [1, 4, 100] {
            let mut i = Input::new(Chunks { data: b"abcdefNOOP\r\n".to_vec(), pos: 0, chunk, log: vec![] });
            let mut out = Vec::new();
            i.read_exact(6, &mut out, true).unwrap().unwrap();
            assert_eq!(out, b"abcdef");
            i.read_exact(0, &mut out, true).unwrap().unwrap();
            assert_eq!(i.read_line(100).unwrap(), Line::Line(b"NOOP".to_vec()));
            assert_eq!(i.read_exact(3, &mut out, true).unwrap(), Err(Line::Eof));
        }
    }

    #[test]
    fn replies_go_out_before_waiting_not_before() {
        // Two pipelined lines in one read: both replies leave in one send,
        // and before the reader waits again.
        let mut i = Input::new(Chunks { data: b"A\r\nB\r\nC\r\n".to_vec(), pos: 0, chunk: 6, log: vec![] });
        for want in [&b"A"[..], b"B", b"C"] {
            assert_eq!(i.read_line(10).unwrap(), Line::Line(want.to_vec()));
            i.out().extend_from_slice(want);
        }
        assert_eq!(i.read_line(10).unwrap(), Line::Eof);
        assert_eq!(i.t.log, ["read 6", "send AB", "read 3", "send C", "read 0"]);
    }
}
