//! In-memory transports for tests: [`Script`] replays scripted client
//! input chunks (with idle-timeout pauses) and captures what the server
//! writes; [`duplex`] is a connected pair for a live peer in another
//! thread (an in-memory rustls client against the server, as rustls'
//! own `tests/api.rs` does).
//!
//! Not used by the binaries; public so protocol transcript tests can use it.

use super::RawIo;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

enum Input {
    Data(Vec<u8>),
    /// The client stays silent for one idle timeout.
    Pause,
}

/// Scripted client: input chunks are read in order (one `read` never
/// crosses a chunk), then EOF.
pub struct Script {
    input: VecDeque<Input>,
    out: Output,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
}

/// Handle on what the server wrote to a [`Script`]; stays valid after the
/// `Conn` is gone.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<(Vec<u8>, usize)>>);

impl Output {
    /// Every byte written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().map(|g| g.0.clone()).unwrap_or_default()
    }
    /// The bytes as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
    /// Number of `write`/`write_vectored` calls (one per response expected).
    pub fn writes(&self) -> usize {
        self.0.lock().map(|g| g.1).unwrap_or(0)
    }
    fn record(&self, data: &[u8]) {
        if let Ok(mut g) = self.0.lock() {
            g.0.extend_from_slice(data);
            g.1 += 1;
        }
    }
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    pub fn new() -> Script {
        Script {
            input: VecDeque::new(),
            out: Output::default(),
            peer: None,
            local: None,
        }
    }
    /// Append one chunk of client input (delivered by a single `read`).
    pub fn input(mut self, data: impl AsRef<[u8]>) -> Script {
        self.input.push_back(Input::Data(data.as_ref().to_vec()));
        self
    }
    /// The client then stays silent long enough for one idle timeout.
    pub fn pause(mut self) -> Script {
        self.input.push_back(Input::Pause);
        self
    }
    /// Addresses reported as the connection's peer and local end.
    pub fn addrs(mut self, peer: SocketAddr, local: SocketAddr) -> Script {
        self.peer = Some(peer);
        self.local = Some(local);
        self
    }
    /// Handle on the server's output.
    pub fn output(&self) -> Output {
        self.out.clone()
    }
}

impl io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.input.front_mut() {
                None => return Ok(0),
                Some(Input::Pause) => {
                    self.input.pop_front();
                }
                Some(Input::Data(d)) => {
                    let n = buf.len().min(d.len());
                    buf[..n].copy_from_slice(&d[..n]);
                    d.drain(..n);
                    if d.is_empty() {
                        self.input.pop_front();
                    }
                    if n > 0 || buf.is_empty() {
                        return Ok(n);
                    }
                }
            }
        }
    }
}

impl io::Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.record(buf);
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.out.record(&all);
        Ok(all.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RawIo for Script {
    fn wait_readable(&mut self, _timeout: Duration) -> io::Result<bool> {
        if let Some(Input::Pause) = self.input.front() {
            self.input.pop_front();
            return Ok(false);
        }
        Ok(true)
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }
}

/// One end of an in-memory connection made by [`duplex`]. Dropping an end
/// is a TCP close for the other.
pub struct Duplex {
    tx: mpsc::Sender<Vec<u8>>,
    rx: mpsc::Receiver<Vec<u8>>,
    pending: Vec<u8>,
    closed: bool,
}

/// A connected pair: what one end writes, the other reads.
pub fn duplex() -> (Duplex, Duplex) {
    let (atx, arx) = mpsc::channel();
    let (btx, brx) = mpsc::channel();
    (
        Duplex {
            tx: atx,
            rx: brx,
            pending: Vec::new(),
            closed: false,
        },
        Duplex {
            tx: btx,
            rx: arx,
            pending: Vec::new(),
            closed: false,
        },
    )
}

impl io::Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() && !self.closed {
            match self.rx.recv() {
                Ok(d) => self.pending = d,
                Err(_) => self.closed = true,
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

impl io::Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .send(buf.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.write(&all)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RawIo for Duplex {
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        if !self.pending.is_empty() || self.closed {
            return Ok(true);
        }
        match self.rx.recv_timeout(timeout) {
            Ok(d) => {
                self.pending = d;
                Ok(true)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(false),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.closed = true;
                Ok(true)
            }
        }
    }
}
