//! Transport for one inetd connection: fd 0 (read) and fd 1 (write) as one
//! stream, optionally wrapped in TLS, with a bounded line reader and idle
//! timeouts. Protocol code talks only to [`Conn`].
//!
//! STUB INTERFACE — the core helper fills in the bodies; signatures are the
//! contract used by pop3/, imap/ and smtp/.

pub mod line;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Raw byte stream under the TLS layer: the fd pair in production, an
/// in-memory script in transcript tests.
pub trait RawIo: io::Read + io::Write + Send {
    /// Wait until input is readable or `timeout` passes. `Ok(false)` on timeout.
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool>;
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
    _private: (),
}

impl Conn {
    /// The inetd connection on fd 0/fd 1. Sets TCP_NODELAY when fd 0 is a socket.
    pub fn stdio() -> Conn {
        todo!()
    }
    /// A connection over any [`RawIo`] (tests).
    pub fn new(_raw: Box<dyn RawIo>) -> Conn {
        todo!()
    }
    /// Idle timeout applied to every read.
    pub fn set_idle_timeout(&mut self, _t: Duration) {
        todo!()
    }
    /// Read one line of at most `max` bytes.
    pub fn read_line(&mut self, _max: usize) -> io::Result<ReadLine> {
        todo!()
    }
    /// Read exactly `n` bytes (IMAP literal, SMTP BDAT) into `out`.
    pub fn read_exact_into(&mut self, _n: usize, _out: &mut Vec<u8>) -> io::Result<()> {
        todo!()
    }
    /// Write one whole response and flush: one TLS record / one write(2).
    pub fn send(&mut self, _buf: &[u8]) -> io::Result<()> {
        todo!()
    }
    /// True when decrypted or plaintext bytes wait in a buffer (pipelined input).
    pub fn has_buffered(&self) -> bool {
        todo!()
    }
    /// Wait up to `t` for input, counting buffered bytes as input (IDLE).
    pub fn wait_input(&mut self, _t: Duration) -> io::Result<bool> {
        todo!()
    }
    /// Start TLS now (implicit TLS, or after the STARTTLS reply was sent).
    /// Any plaintext bytes buffered before the handshake are discarded.
    pub fn start_tls(&mut self, _cfg: std::sync::Arc<rustls::ServerConfig>) -> io::Result<()> {
        todo!()
    }
    pub fn tls(&self) -> Option<&TlsInfo> {
        todo!()
    }
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        todo!()
    }
    pub fn local_addr(&self) -> Option<SocketAddr> {
        todo!()
    }
}
