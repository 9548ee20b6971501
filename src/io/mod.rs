//! Transport for one inetd connection: fd 0 (read) and fd 1 (write) as one
//! stream, optionally wrapped in TLS, with a bounded line reader and idle
//! timeouts. Protocol code talks only to [`Conn`].
//!
//! Reads block for at most the idle timeout (poll(2) on fd 0, after
//! checking that no decrypted or buffered bytes wait: poll cannot see
//! those). Writes: one `send` is one write(2) or one TLS flush. STARTTLS
//! drops plaintext pipelined before the handshake (CVE-2011-0411 class).
//! A TCP close without TLS close_notify is an ordinary EOF.

pub mod line;
pub mod mem;
pub mod stdio;
pub mod tls;

pub use mem::{duplex, Duplex, Output, Script};

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Raw byte stream under the TLS layer: the fd pair in production, an
/// in-memory script in transcript tests.
pub trait RawIo: io::Read + io::Write + Send {
    /// Wait until input is readable or `timeout` passes. `Ok(false)` on timeout.
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool>;
    /// Remote address, when the transport is a TCP socket.
    fn peer_addr(&self) -> Option<SocketAddr> {
        None
    }
    /// Local address, when the transport is a TCP socket.
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }
}

/// What a session learns of its TLS layer, for logs and Received headers.
#[derive(Clone, Debug, Default)]
pub struct TlsInfo {
    /// e.g. `TLSv1.3`
    pub version: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`
    pub cipher: String,
    /// Subject of an accepted client certificate.
    pub client_subject: Option<String>,
}

/// Outcome of a bounded line read.
#[derive(Debug)]
pub enum ReadLine {
    /// One line, without its CRLF (or bare LF).
    Line(Vec<u8>),
    /// Line longer than the bound: the rest of it up to the next LF was
    /// discarded, so the session can answer with an error and go on.
    TooLong,
    /// Peer closed the connection.
    Eof,
    /// No input for the idle timeout.
    Timeout,
}

/// One client connection.
pub struct Conn {
    raw: Box<dyn RawIo>,
    tls: Option<Box<rustls::ServerConnection>>,
    info: Option<TlsInfo>,
    buf: line::LineBuf,
    idle: Option<Duration>,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    /// close_notify already sent.
    closed: bool,
}

/// Result of one attempt to get more input.
enum Fill {
    Data,
    Eof,
    Timeout,
}

/// Bytes read from the transport per read(2).
const CHUNK: usize = 16 * 1024;
/// Longest a TLS handshake may take (shorter if the idle timeout is).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

impl Conn {
    /// The inetd connection on fd 0/fd 1. Sets TCP_NODELAY when fd 0 is a socket.
    pub fn stdio() -> Conn {
        Conn::new(Box::new(stdio::Stdio::take()))
    }
    /// A connection over any [`RawIo`] (tests).
    pub fn new(raw: Box<dyn RawIo>) -> Conn {
        let peer = raw.peer_addr();
        let local = raw.local_addr();
        Conn {
            raw,
            tls: None,
            info: None,
            buf: line::LineBuf::default(),
            idle: None,
            peer,
            local,
            closed: false,
        }
    }
    /// Idle timeout applied to every read.
    pub fn set_idle_timeout(&mut self, t: Duration) {
        self.idle = Some(t);
    }
    /// Read one line of at most `max` bytes.
    pub fn read_line(&mut self, max: usize) -> io::Result<ReadLine> {
        loop {
            match self.buf.take_line(max) {
                line::Scan::Line(l) => return Ok(ReadLine::Line(l)),
                line::Scan::TooLong => return Ok(ReadLine::TooLong),
                line::Scan::NeedMore => {}
            }
            match self.fill()? {
                Fill::Data => {}
                Fill::Eof => return Ok(ReadLine::Eof),
                Fill::Timeout => return Ok(ReadLine::Timeout),
            }
        }
    }
    /// Read exactly `n` bytes (IMAP literal, SMTP BDAT) into `out`.
    /// EOF gives `UnexpectedEof`, the idle timeout `TimedOut`.
    pub fn read_exact_into(&mut self, n: usize, out: &mut Vec<u8>) -> io::Result<()> {
        // The caller bounds n (max_size); still grow as data arrives.
        out.reserve(n.min(1 << 20));
        let mut left = n;
        loop {
            left -= self.buf.take_bytes(left, out);
            if left == 0 {
                return Ok(());
            }
            match self.fill()? {
                Fill::Data => {}
                Fill::Eof => return Err(io::ErrorKind::UnexpectedEof.into()),
                Fill::Timeout => return Err(io::ErrorKind::TimedOut.into()),
            }
        }
    }
    /// Append up to `max` bytes to `out`: what is already buffered, or else
    /// one read's worth, waiting at most the idle timeout (`TimedOut`).
    /// `Ok(0)` is EOF. For readers that must see line ends as sent (SMTP
    /// DATA) and so cannot use [`Conn::read_line`].
    pub fn read_available(&mut self, max: usize, out: &mut Vec<u8>) -> io::Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        loop {
            let n = self.buf.take_bytes(max, out);
            if n > 0 {
                return Ok(n);
            }
            match self.fill()? {
                Fill::Data => {}
                Fill::Eof => return Ok(0),
                Fill::Timeout => return Err(io::ErrorKind::TimedOut.into()),
            }
        }
    }
    /// Write one whole response and flush: one TLS record / one write(2).
    pub fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        match self.tls.as_deref_mut() {
            None => {
                self.raw.write_all(buf)?;
                self.raw.flush()
            }
            Some(tls) => {
                let mut rest = buf;
                while !rest.is_empty() {
                    let n = tls.writer().write(rest)?;
                    rest = &rest[n..];
                    if n == 0 {
                        // rustls' send buffer is full: push it out first.
                        flush_tls(tls, &mut *self.raw)?;
                    }
                }
                flush_tls(tls, &mut *self.raw)
            }
        }
    }
    /// End the session cleanly: under TLS, send close_notify (RFC 8446
    /// §6.1) so that the client sees an orderly end rather than a
    /// truncation. Safe to call more than once and without TLS (no-op).
    /// Errors are ignored: the peer may already be gone.
    pub fn close(&mut self) {
        if let Some(tls) = self.tls.as_deref_mut() {
            if !self.closed {
                self.closed = true;
                tls.send_close_notify();
                let _ = flush_tls(tls, &mut *self.raw);
            }
        }
    }
    /// True when decrypted or plaintext bytes wait in a buffer (pipelined input).
    pub fn has_buffered(&self) -> bool {
        // fill() drains rustls' plaintext into buf, so buf is the whole story.
        !self.buf.is_empty()
    }
    /// Wait up to `t` for input, counting buffered bytes as input (IDLE).
    pub fn wait_input(&mut self, t: Duration) -> io::Result<bool> {
        if self.has_buffered() {
            return Ok(true);
        }
        self.raw.wait_readable(t)
    }
    /// Start TLS now (implicit TLS, or after the STARTTLS reply was sent).
    /// Any plaintext bytes buffered before the handshake are discarded.
    /// Logs one `TLS` line (version, cipher, client subject) on success and
    /// a `TLS failed` line otherwise.
    pub fn start_tls(&mut self, cfg: Arc<rustls::ServerConfig>) -> io::Result<()> {
        self.buf.clear();
        let host = crate::log::host(self.peer.map(|a| a.ip()));
        match self.handshake(cfg) {
            Ok(()) => {
                if let Some(i) = &self.info {
                    let mut e = crate::log::event("TLS")
                        .raw("host", &host)
                        .raw("version", &i.version)
                        .raw("cipher", &i.cipher);
                    if let Some(s) = &i.client_subject {
                        e = e.field("client", s);
                    }
                    e.info();
                }
                Ok(())
            }
            Err(e) => {
                crate::log::event("TLS failed")
                    .raw("host", &host)
                    .detail("error", &e)
                    .info();
                Err(e)
            }
        }
    }
    fn handshake(&mut self, cfg: Arc<rustls::ServerConfig>) -> io::Result<()> {
        if self.tls.is_some() {
            return Err(io::Error::other("TLS already active"));
        }
        let mut c = rustls::ServerConnection::new(cfg).map_err(io::Error::other)?;
        let timeout = self
            .idle
            .map_or(HANDSHAKE_TIMEOUT, |t| t.min(HANDSHAKE_TIMEOUT));
        loop {
            flush_tls(&mut c, &mut *self.raw)?;
            if !c.is_handshaking() {
                break;
            }
            if !self.raw.wait_readable(timeout)? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ));
            }
            if read_tls_retry(&mut c, &mut *self.raw)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed during TLS handshake",
                ));
            }
            if let Err(e) = c.process_new_packets() {
                // Tell the peer why (the alert), then give up.
                let _ = flush_tls(&mut c, &mut *self.raw);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        self.info = Some(tls::info_of(&c));
        self.tls = Some(Box::new(c));
        Ok(())
    }
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.info.as_ref()
    }
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// Get more input into `buf`, waiting at most the idle timeout.
    fn fill(&mut self) -> io::Result<Fill> {
        let mut tmp = [0u8; CHUNK];
        loop {
            if let Some(tls) = self.tls.as_deref_mut() {
                match drain_plaintext(tls, &mut self.buf, &mut tmp)? {
                    Drained::Data => return Ok(Fill::Data),
                    Drained::Closed => return Ok(Fill::Eof),
                    Drained::Nothing => {}
                }
                // Key updates and the like may want an answer before we wait.
                flush_tls(tls, &mut *self.raw)?;
            }
            if let Some(t) = self.idle {
                if !self.raw.wait_readable(t)? {
                    return Ok(Fill::Timeout);
                }
            }
            match self.tls.as_deref_mut() {
                None => {
                    let n = read_retry(&mut *self.raw, &mut tmp)?;
                    if n == 0 {
                        return Ok(Fill::Eof);
                    }
                    self.buf.push(&tmp[..n]);
                    return Ok(Fill::Data);
                }
                Some(tls) => {
                    if read_tls_retry(tls, &mut *self.raw)? == 0 {
                        return Ok(Fill::Eof);
                    }
                    if let Err(e) = tls.process_new_packets() {
                        let _ = flush_tls(tls, &mut *self.raw);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
            }
        }
    }
}

enum Drained {
    Data,
    Nothing,
    /// close_notify, or (rustls' `UnexpectedEof`) a TCP close without it.
    Closed,
}

/// Move all decrypted bytes from rustls into `buf`, so that nothing hides
/// from poll(2) and [`Conn::has_buffered`] sees pipelined input.
fn drain_plaintext(
    tls: &mut rustls::ServerConnection,
    buf: &mut line::LineBuf,
    tmp: &mut [u8],
) -> io::Result<Drained> {
    let mut got = false;
    loop {
        let closed = match tls.reader().read(tmp) {
            Ok(0) => true,
            Ok(n) => {
                buf.push(&tmp[..n]);
                got = true;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => true,
            Err(e) => return Err(e),
        };
        // Data first; the close shows again on the next call.
        return Ok(if got {
            Drained::Data
        } else if closed {
            Drained::Closed
        } else {
            Drained::Nothing
        });
    }
}

/// `&mut dyn RawIo` as `&mut dyn Read`/`Write` for rustls, forwarding
/// `write_vectored` (without trait upcasting, for older compilers).
struct Raw<'a>(&'a mut dyn RawIo);

impl Read for Raw<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Raw<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Write every pending TLS record; rustls hands them to `write_vectored`.
fn flush_tls(tls: &mut rustls::ServerConnection, raw: &mut dyn RawIo) -> io::Result<()> {
    let mut wrote = false;
    while tls.wants_write() {
        match tls.write_tls(&mut Raw(&mut *raw)) {
            Ok(_) => wrote = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if wrote {
        raw.flush()?;
    }
    Ok(())
}

fn read_tls_retry(tls: &mut rustls::ServerConnection, raw: &mut dyn RawIo) -> io::Result<usize> {
    loop {
        match tls.read_tls(&mut Raw(&mut *raw)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

fn read_retry(raw: &mut dyn RawIo, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match raw.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(s: Script) -> Conn {
        let mut c = Conn::new(Box::new(s));
        c.set_idle_timeout(Duration::from_secs(5));
        c
    }

    fn line(r: ReadLine) -> Vec<u8> {
        match r {
            ReadLine::Line(l) => l,
            other => panic!("expected a line, got {:?}", other),
        }
    }

    #[test]
    fn lines_timeout_eof() {
        let s = Script::new()
            .input("a1 NO")
            .input("OP\r\na2 ")
            .pause()
            .input("X\r\n");
        let mut c = conn(s);
        assert_eq!(line(c.read_line(100).unwrap()), b"a1 NOOP");
        assert!(c.has_buffered());
        assert!(matches!(c.read_line(100).unwrap(), ReadLine::Timeout));
        assert_eq!(line(c.read_line(100).unwrap()), b"a2 X");
        assert!(!c.has_buffered());
        assert!(matches!(c.read_line(100).unwrap(), ReadLine::Eof));
    }

    #[test]
    fn too_long_then_recovers_and_literal() {
        let big = vec![b'a'; 10 * 1024 * 1024];
        let s = Script::new()
            .input(&big)
            .input("\r\nA1 APPEND x {5}\r\nhello\r\n");
        let mut c = conn(s);
        assert!(matches!(c.read_line(8192).unwrap(), ReadLine::TooLong));
        assert_eq!(line(c.read_line(8192).unwrap()), b"A1 APPEND x {5}");
        let mut out = Vec::new();
        c.read_exact_into(5, &mut out).unwrap();
        assert_eq!(out, b"hello");
        assert_eq!(line(c.read_line(8192).unwrap()), b"");
        let e = c.read_exact_into(3, &mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn literal_timeout() {
        let mut c = conn(Script::new().input("ab").pause());
        let mut out = Vec::new();
        assert_eq!(
            c.read_exact_into(4, &mut out).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
    }

    #[test]
    fn one_write_per_send() {
        let s = Script::new();
        let out = s.output();
        let mut c = conn(s);
        c.send(b"* OK ready\r\n").unwrap();
        c.send(b"* 1 EXISTS\r\na OK done\r\n").unwrap();
        assert_eq!(out.writes(), 2);
        assert_eq!(out.text(), "* OK ready\r\n* 1 EXISTS\r\na OK done\r\n");
        assert!(c.tls().is_none());
        assert!(c.peer_addr().is_none());
    }

    #[test]
    fn read_available_table() {
        /// (script inputs, max, expected successive results; None = EOF)
        type Case<'a> = (&'a [&'a str], usize, &'a [Option<&'a str>]);
        let cases: &[Case] = &[
            (&["abc"], 10, &[Some("abc"), None]),
            (&["abcdef"], 4, &[Some("abcd"), Some("ef"), None]),
            (&["ab", "cd"], 10, &[Some("ab"), Some("cd"), None]),
            (&["a\r\n.\n", "x"], 3, &[Some("a\r\n"), Some(".\n"), Some("x"), None]),
            (&[], 5, &[None]),
        ];
        for (inputs, max, want) in cases {
            let mut s = Script::new();
            for i in *inputs {
                s = s.input(i);
            }
            let mut c = conn(s);
            for w in *want {
                let mut out = b"old".to_vec();
                let n = c.read_available(*max, &mut out).unwrap();
                match w {
                    Some(w) => {
                        assert_eq!(&out[3..], w.as_bytes(), "{inputs:?}");
                        assert_eq!(n, w.len());
                    }
                    None => assert_eq!(n, 0, "{inputs:?}"),
                }
            }
        }
        // Buffered bytes after a line come first, without another read.
        let mut c = conn(Script::new().input("L\r\nrest").pause());
        assert_eq!(line(c.read_line(10).unwrap()), b"L");
        let mut out = Vec::new();
        assert_eq!(c.read_available(100, &mut out).unwrap(), 4);
        assert_eq!(out, b"rest");
        let e = c.read_available(100, &mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(c.read_available(0, &mut out).unwrap(), 0);
    }

    #[test]
    fn close_without_tls_writes_nothing() {
        let s = Script::new();
        let out = s.output();
        let mut c = conn(s);
        c.send(b"221 bye\r\n").unwrap();
        c.close();
        c.close();
        assert_eq!(out.writes(), 1);
    }

    #[test]
    fn wait_input_counts_buffer() {
        let mut c = conn(Script::new().input("a\r\nb\r\n").pause());
        assert_eq!(line(c.read_line(10).unwrap()), b"a");
        assert!(c.wait_input(Duration::from_millis(1)).unwrap());
        assert_eq!(line(c.read_line(10).unwrap()), b"b");
        assert!(!c.wait_input(Duration::from_millis(1)).unwrap());
    }
}
