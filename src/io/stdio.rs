//! The inetd transport: fd 0 (read) and fd 1 (write) as one [`RawIo`].
//!
//! Both are plain `File`s, never `std::io::stdin()`/`stdout()`: those keep
//! hidden buffers that would swallow pipelined input or split responses
//! (shared/NOTES.md). Writes forward `write_vectored` so rustls records
//! leave in one writev(2), and TCP_NODELAY is set, which together avoid
//! the Nagle + delayed-ACK stall on every handshake.

use super::RawIo;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, RawFd};
use std::time::Duration;

/// fd 0 / fd 1 of an inetd child.
pub struct Stdio {
    r: File,
    w: File,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
}

impl Stdio {
    /// Take over fd 0 and fd 1 for the rest of the process.
    pub fn take() -> Stdio {
        // SAFETY: fd 0 and fd 1 belong to the process for its lifetime and
        // nothing else in postern reads or writes them once this exists.
        let (r, w) = unsafe { (File::from_raw_fd(0), File::from_raw_fd(1)) };
        Stdio::from_files(r, w)
    }

    /// Any read/write pair (tests use a TCP socket).
    pub fn from_files(r: File, w: File) -> Stdio {
        let peer = peer_of(r.as_raw_fd());
        let local = local_of(r.as_raw_fd());
        if local.is_some() {
            let _ = nix::sys::socket::setsockopt(
                &r.as_fd(),
                nix::sys::socket::sockopt::TcpNoDelay,
                &true,
            );
        }
        Stdio { r, w, peer, local }
    }
}

fn to_std(ss: &nix::sys::socket::SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = ss.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    if let Some(v6) = ss.as_sockaddr_in6() {
        let a = SocketAddrV6::from(*v6);
        // v4-mapped peers on a dual-stack socket log and match certs as v4.
        return Some(SocketAddr::new(a.ip().to_canonical(), a.port()));
    }
    None
}

/// Local address of a TCP socket on `fd`; `None` for pipes, ttys, unix sockets.
pub fn local_of(fd: RawFd) -> Option<SocketAddr> {
    nix::sys::socket::getsockname::<nix::sys::socket::SockaddrStorage>(fd)
        .ok()
        .as_ref()
        .and_then(to_std)
}

/// Peer address of a TCP socket on `fd`.
pub fn peer_of(fd: RawFd) -> Option<SocketAddr> {
    nix::sys::socket::getpeername::<nix::sys::socket::SockaddrStorage>(fd)
        .ok()
        .as_ref()
        .and_then(to_std)
}

/// poll(2) one fd for input; EINTR restarts with the full timeout (a
/// signal is rare here and only lengthens the wait).
pub fn poll_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, ms) };
        if rc >= 0 {
            // POLLHUP/POLLERR count: the following read reports them.
            return Ok(rc > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl Read for Stdio {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.r.read(buf)
    }
}

impl Write for Stdio {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.w.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl RawIo for Stdio {
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        poll_readable(self.r.as_raw_fd(), timeout)
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;

    #[test]
    fn tcp_socket_as_stdio() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (sock, _) = l.accept().unwrap();
        let fd: OwnedFd = sock.into();
        let r = File::from(fd.try_clone().unwrap());
        let w = File::from(fd);
        let mut s = Stdio::from_files(r, w);
        assert_eq!(s.local_addr(), Some(l.local_addr().unwrap()));
        assert_eq!(s.peer_addr(), Some(client.local_addr().unwrap()));
        let nodelay: bool =
            nix::sys::socket::getsockopt(&s.r.as_fd(), nix::sys::socket::sockopt::TcpNoDelay)
                .unwrap();
        assert!(nodelay);
        assert!(!s.wait_readable(Duration::from_millis(20)).unwrap());
        client.write_all(b"hi").unwrap();
        assert!(s.wait_readable(Duration::from_secs(5)).unwrap());
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf).unwrap(), 2);
        assert_eq!(
            s.write_vectored(&[io::IoSlice::new(b"a"), io::IoSlice::new(b"b")])
                .unwrap(),
            2
        );
        let mut got = [0u8; 2];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ab");
        drop(client);
        assert!(
            s.wait_readable(Duration::from_secs(5)).unwrap(),
            "EOF is readable"
        );
        assert_eq!(s.read(&mut buf).unwrap(), 0);
        // A pipe is not a socket: no addresses.
        let (pr, pw) = nix::unistd::pipe().unwrap();
        let p = Stdio::from_files(File::from(pr), File::from(pw));
        assert_eq!((p.local_addr(), p.peer_addr()), (None, None));
    }
}
