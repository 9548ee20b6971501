//! What every binary does before its protocol starts: fd 2 to /dev/null,
//! command line and configuration, syslog, panic hook, implicit-TLS
//! decision from the local port, smtpd's mode from the port, and a
//! catch_unwind around the protocol so a panic ends with the protocol's
//! goodbye and a log line, never with text on the client's socket.
//!
//! The protocol gets a [`Context`] and returns an exit code:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     postern::server::main(postern::config::Server::Pop3, postern::pop3::serve)
//! }
//! ```
//!
//! Environment (debugging and tests only): `POSTERN_STDERR=1` keeps fd 2;
//! `POSTERN_LOG_FILE`, `POSTERN_LOG_LEVEL` see [`crate::log`].

use crate::config::{Config, ConfigError, Invocation, Server, SmtpMode};
use crate::io::{tls, Conn};
use std::ffi::CStr;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Environment variable: keep fd 2 open (debugging in a terminal).
pub const ENV_STDERR: &str = "POSTERN_STDERR";

/// Exit code after a panic in the protocol (sysexits EX_SOFTWARE).
pub const EXIT_PANIC: u8 = 70;
/// Bad command line (sysexits EX_USAGE).
pub const EXIT_USAGE: u8 = 64;
/// Bad configuration file or `-o` value (sysexits EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// Everything a protocol session starts with.
pub struct Context {
    pub cfg: Config,
    pub conn: Conn,
    /// Server TLS configuration when a certificate is installed and loads:
    /// offer STARTTLS/STLS only when this is `Some` and TLS is not yet on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// TLS was started from the first byte (`-s` or a TLS port); already
    /// active on `conn` when `serve` is called.
    pub implicit_tls: bool,
    /// smtpd's mode: `smtp_mode`, else from the port (25 → MX,
    /// 587/465 → submission; unknown ports: submission with implicit TLS,
    /// else MX).
    pub smtp_mode: SmtpMode,
    /// fd 0 is a socket. `false` (pipe, tty, ssh) with a non-root process
    /// means PREAUTH as the invoking user (shared/DESIGN.md).
    pub stdin_is_socket: bool,
    /// The configuration could not be loaded (already logged; `cfg` holds
    /// defaults). The protocol tells the client it is unavailable (`* BYE`,
    /// `-ERR`, `421`) and returns.
    pub startup_error: Option<String>,
    goodbye: Option<Vec<u8>>,
}

impl Context {
    /// A context over any connection (tests): no TLS decision is made.
    pub fn new(cfg: Config, conn: Conn, tls: Option<Arc<rustls::ServerConfig>>) -> Context {
        let smtp_mode = cfg.smtp_mode.unwrap_or(SmtpMode::Mx);
        let stdin_is_socket = conn.local_addr().is_some();
        Context {
            cfg,
            conn,
            tls,
            implicit_tls: false,
            smtp_mode,
            stdin_is_socket,
            startup_error: None,
            goodbye: None,
        }
    }

    /// The bytes to send if the session panics (`* BYE Internal error\r\n`,
    /// `-ERR ...`, `421 ...`). Set it early; it is sent as one response.
    pub fn set_goodbye(&mut self, line: &[u8]) {
        self.goodbye = Some(line.to_vec());
    }

    /// Whether to advertise STARTTLS/STLS now.
    pub fn starttls_available(&self) -> bool {
        self.tls.is_some() && self.conn.tls().is_none()
    }

    /// Start TLS with [`Context::tls`] (after the STARTTLS reply was sent).
    /// Buffered plaintext is discarded; the outcome is logged by [`Conn`].
    pub fn start_tls(&mut self) -> std::io::Result<()> {
        match self.tls.clone() {
            Some(t) => self.conn.start_tls(t),
            None => Err(std::io::Error::other("no server certificate installed")),
        }
    }

    /// Peer IP for PAM_RHOST and logs.
    pub fn peer_ip(&self) -> Option<IpAddr> {
        self.conn.peer_addr().map(|a| a.ip().to_canonical())
    }

    /// `[192.0.2.7]` for log lines.
    pub fn host(&self) -> String {
        crate::log::host(self.peer_ip())
    }
}

/// The whole life of a server process; `serve` is the protocol.
pub fn main(server: Server, serve: impl FnOnce(&mut Context) -> ExitCode) -> ExitCode {
    quiet_stderr();
    crate::log::init(server.program(), "mail");
    install_panic_hook();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let is_socket = fd0_is_socket();
    run(server, &args, Conn::stdio(), is_socket, serve)
}

/// [`main`] after the process set-up, over any connection (tests).
pub fn run(
    server: Server,
    args: &[String],
    mut conn: Conn,
    stdin_is_socket: bool,
    serve: impl FnOnce(&mut Context) -> ExitCode,
) -> ExitCode {
    // sysexits(3) codes, as the man pages document: the session still
    // runs so the client hears why, but inetd's log shows the cause too.
    let mut startup_exit = 0u8;
    let (cfg, startup_error) = match Config::from_args(server, args) {
        Ok(Invocation::Serve(cfg)) => (*cfg, None),
        Ok(Invocation::Help(text)) | Ok(Invocation::Version(text)) => {
            let _ = conn.send(format!("{}\n", text).as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            config_error(&e);
            startup_exit = if e.origin == "command line" { EXIT_USAGE } else { EXIT_CONFIG };
            let mut cfg = Config::defaults(server);
            cfg.implicit_tls = args.iter().any(|a| a == "-s");
            (cfg, Some(e.to_string()))
        }
    };
    if cfg.syslog_facility != "mail" {
        // openlog again with the configured facility.
        crate::log::init(server.program(), &cfg.syslog_facility);
    }
    conn.set_idle_timeout(Duration::from_secs(cfg.idle_timeout));

    let local = conn.local_addr();
    let service = local.and_then(|a| service_name(a.port()));
    let implicit_tls = cfg.implicit_tls || service.as_deref().is_some_and(is_tls_service);
    let smtp_mode = cfg.smtp_mode.unwrap_or(match service.as_deref() {
        Some("smtp") => SmtpMode::Mx,
        Some("submission" | "submissions" | "smtps" | "ssmtp") => SmtpMode::Submission,
        _ if implicit_tls => SmtpMode::Submission,
        _ => SmtpMode::Mx,
    });
    let host = crate::log::host(conn.peer_addr().map(|a| a.ip()));

    let mut tls_error = None;
    let tls = if startup_error.is_some() {
        None
    } else {
        match tls::server_config(&cfg, local.map(|a| a.ip())) {
            Ok(t) => Some(t),
            Err(e) => {
                if let tls::TlsError::NoCertificate(_) = e {
                    log::debug!("TLS unavailable: {}", e);
                } else {
                    crate::log::event("TLS unavailable")
                        .detail("error", &e)
                        .error();
                }
                tls_error = Some(e.to_string());
                None
            }
        }
    };

    if implicit_tls {
        let reason = startup_error.as_deref().or(tls_error.as_deref());
        match (&tls, reason) {
            (Some(t), _) => {
                if conn.start_tls(t.clone()).is_err() {
                    return ExitCode::FAILURE; // logged by Conn
                }
            }
            (None, reason) => {
                crate::log::event("Implicit TLS impossible, closing")
                    .raw("host", &host)
                    .detail("reason", reason.unwrap_or("no TLS configuration"))
                    .error();
                return ExitCode::FAILURE;
            }
        }
    }

    let mut ctx = Context {
        cfg,
        conn,
        tls,
        implicit_tls,
        smtp_mode,
        stdin_is_socket,
        startup_error,
        goodbye: None,
    };
    let code = match std::panic::catch_unwind(AssertUnwindSafe(|| serve(&mut ctx))) {
        Ok(code) if startup_exit != 0 => {
            let _ = code;
            ExitCode::from(startup_exit)
        }
        Ok(code) => code,
        Err(_) => {
            // The hook has logged the panic itself.
            crate::log::event("Session aborted after internal error")
                .raw("host", &host)
                .error();
            if let Some(g) = ctx.goodbye.take() {
                let _ = ctx.conn.send(&g);
            }
            ExitCode::from(EXIT_PANIC)
        }
    };
    // Every way out of a session (QUIT, LOGOUT, timeout, even a panic's
    // goodbye) ends TLS with close_notify.
    ctx.conn.close();
    code
}

fn config_error(e: &ConfigError) {
    crate::log::event("Configuration error")
        .detail("error", e)
        .error();
}

/// Ports whose protocol starts with a TLS handshake.
fn is_tls_service(name: &str) -> bool {
    matches!(name, "imaps" | "pop3s" | "submissions" | "smtps" | "ssmtp")
}

/// getservbyport(3) for TCP: `143` → `imap2` on Debian, `465` → `submissions`.
pub fn service_name(port: u16) -> Option<String> {
    // SAFETY: getservbyport returns NULL or a pointer to static data that
    // stays valid until the next call; this process is single-threaded
    // here and copies the name out at once.
    unsafe {
        let ent = libc::getservbyport(libc::c_int::from(port.to_be()), c"tcp".as_ptr());
        if ent.is_null() || (*ent).s_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr((*ent).s_name).to_string_lossy().into_owned())
    }
}

/// Point fd 2 at /dev/null: under inetd it is the client socket, and a
/// stray message would reach the client. Kept when `POSTERN_STDERR` is set
/// or fd 2 is a terminal (an admin trying the program by hand).
pub fn quiet_stderr() {
    // SAFETY: isatty on a plain fd number.
    if std::env::var_os(ENV_STDERR).is_some() || unsafe { libc::isatty(2) } == 1 {
        return;
    }
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 of a valid fd onto 2; `null` is closed afterwards.
        unsafe { libc::dup2(null.as_raw_fd(), 2) };
    } else {
        // SAFETY: closing fd 2 is better than leaving the socket there.
        unsafe { libc::close(2) };
    }
}

/// Log panics through syslog; never print them (fd 2 may be the client).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        crate::log::event("Panic").raw("detail", info).error();
    }));
}

/// fstat(0) says socket (TCP or unix).
fn fd0_is_socket() -> bool {
    // SAFETY: fstat on fd 0 into an owned, zeroed buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(0, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Script;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn services() {
        let table = [
            (143, Some("imap2")),
            (993, Some("imaps")),
            (995, Some("pop3s")),
            (465, Some("submissions")),
            (25, Some("smtp")),
            (587, Some("submission")),
            (1, Some("tcpmux")),
            (40999, None),
        ];
        for (port, want) in table {
            assert_eq!(service_name(port).as_deref(), want, "port {port}");
        }
        assert!(
            is_tls_service("imaps") && is_tls_service("submissions") && !is_tls_service("imap2")
        );
    }

    fn addr(s: &str) -> std::net::SocketAddr {
        s.parse().unwrap()
    }

    /// What serve saw: (smtp_mode, implicit_tls, startup_error, starttls_available).
    type Seen = (SmtpMode, bool, Option<String>, bool);

    /// Run with a script; returns (exit, what serve saw, client output).
    fn go(a: &[&str], s: Script, panic: bool) -> (ExitCode, Option<Seen>, String) {
        let out = s.output();
        let mut seen = None;
        let code = run(
            Server::Smtp,
            &args(a),
            Conn::new(Box::new(s)),
            true,
            |ctx| {
                seen = Some((
                    ctx.smtp_mode,
                    ctx.implicit_tls,
                    ctx.startup_error.clone(),
                    ctx.starttls_available(),
                ));
                ctx.set_goodbye(b"421 4.3.0 internal error\r\n");
                let _ = ctx.conn.send(b"220 hi\r\n");
                if panic {
                    panic!("boom in session");
                }
                ExitCode::SUCCESS
            },
        );
        (code, seen, out.text())
    }

    #[test]
    fn smtp_mode_from_port() {
        let nocert = "cert_dir=/nonexistent";
        let table = [
            ("127.0.0.1:25", &["-o", nocert][..], SmtpMode::Mx),
            ("127.0.0.1:587", &["-o", nocert][..], SmtpMode::Submission),
            ("127.0.0.1:40025", &["-o", nocert][..], SmtpMode::Mx),
            (
                "127.0.0.1:587",
                &["-o", nocert, "-o", "smtp_mode=mx"][..],
                SmtpMode::Mx,
            ),
        ];
        for (local, a, want) in table {
            let s = Script::new().addrs(addr("192.0.2.7:5000"), addr(local));
            let (code, seen, out) = go(a, s, false);
            assert_eq!(code, ExitCode::SUCCESS);
            let (mode, implicit, err, starttls) = seen.unwrap();
            assert_eq!(
                (mode, implicit, err, starttls),
                (want, false, None, false),
                "{local}"
            );
            assert_eq!(out, "220 hi\r\n");
        }
    }

    #[test]
    fn implicit_tls_without_cert_closes() {
        for (local, a) in [
            ("127.0.0.1:465", &["-o", "cert_dir=/nonexistent"][..]),
            (
                "127.0.0.1:40465",
                &["-s", "-o", "cert_dir=/nonexistent"][..],
            ),
        ] {
            let s = Script::new().addrs(addr("192.0.2.7:5000"), addr(local));
            let (code, seen, out) = go(a, s, false);
            assert_eq!(code, ExitCode::FAILURE);
            assert!(seen.is_none(), "serve must not run");
            assert_eq!(out, "");
        }
    }

    #[test]
    fn config_error_reaches_serve() {
        let (code, seen, _) = go(&["-o", "bogus=1"], Script::new(), false);
        assert_eq!(code, ExitCode::from(EXIT_CONFIG));
        let err = seen.unwrap().2.unwrap();
        assert!(err.contains("-o bogus=1"), "{err}");
    }

    #[test]
    fn bad_command_line_exits_with_usage_code() {
        let (code, seen, _) = go(&["-x"], Script::new(), false);
        assert_eq!(code, ExitCode::from(EXIT_USAGE));
        assert!(seen.unwrap().2.is_some());
    }

    #[test]
    fn help_and_version_go_to_fd1() {
        let (code, seen, out) = go(&["-V"], Script::new(), false);
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(seen.is_none());
        assert!(out.starts_with("smtpd (postern) "), "{out}");
    }

    #[test]
    fn panic_sends_goodbye_only() {
        let (code, _, out) = go(&["-o", "cert_dir=/nonexistent"], Script::new(), true);
        assert_eq!(code, ExitCode::from(EXIT_PANIC));
        assert_eq!(out, "220 hi\r\n421 4.3.0 internal error\r\n");
    }

    #[test]
    fn implicit_tls_with_cert() {
        use crate::io::tls::tests::{client_config, file, pki, BOTH};
        use std::io::{BufRead, Write};
        let dir = pki().join("server-implicit");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("smtpd.pem"),
            [file("srv.crt"), file("srv.key")].concat(),
        )
        .unwrap();
        let a = args(&["-s", "-o", &format!("cert_dir={}", dir.display())]);
        let (server_end, client_end) = crate::io::duplex();
        let h = std::thread::spawn(move || {
            let mut seen = None;
            let code = run(
                Server::Smtp,
                &a,
                Conn::new(Box::new(server_end)),
                true,
                |ctx| {
                    seen = Some((
                        ctx.implicit_tls,
                        ctx.smtp_mode,
                        ctx.starttls_available(),
                        ctx.conn.tls().cloned(),
                    ));
                    let _ = ctx.conn.send(b"220 hi\r\n");
                    ExitCode::SUCCESS
                },
            );
            (code, seen)
        });
        let cc = rustls::ClientConnection::new(
            client_config(BOTH, None),
            "localhost".try_into().unwrap(),
        )
        .unwrap();
        let mut s = rustls::StreamOwned::new(cc, client_end);
        let _ = s.flush();
        let mut line = String::new();
        let mut r = std::io::BufReader::new(&mut s);
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "220 hi\r\n");
        // The session ended with close_notify: a clean EOF, not rustls'
        // UnexpectedEof for a truncated stream.
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut rest).expect("close_notify before EOF");
        assert!(rest.is_empty());
        drop(r);
        drop(s);
        let (code, seen) = h.join().unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let (implicit, mode, starttls, info) = seen.unwrap();
        assert!(implicit);
        assert_eq!(mode, SmtpMode::Submission);
        assert!(!starttls, "no STARTTLS inside TLS");
        assert_eq!(info.unwrap().version, "TLSv1.3");
    }

    const CHILD_ENV: &str = "POSTERN_TEST_PANIC_CHILD";

    /// Child half of `panic_never_reaches_client`: the whole process path
    /// (fd 2, panic hook, fd 0/fd 1) with a session that writes to fd 2 and
    /// panics. Does nothing in a normal test run.
    #[test]
    fn panic_child() {
        if std::env::var_os(CHILD_ENV).is_none() {
            return;
        }
        let code = main(Server::Pop3, |ctx| {
            ctx.set_goodbye(b"-ERR internal error\r\n");
            let _ = ctx.conn.send(b"+OK hello\r\n");
            // A stray write to fd 2, as a library might do.
            // SAFETY: write(2) of a static buffer.
            unsafe { libc::write(2, b"secret stderr\n".as_ptr().cast(), 14) };
            panic!("secret panic text");
        });
        assert_eq!(code, ExitCode::from(EXIT_PANIC));
    }

    /// The child gets one socket on fd 0, 1 and 2, as under xinetd.
    #[test]
    fn panic_never_reaches_client() {
        use std::io::Read;
        use std::os::fd::OwnedFd;
        let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = OwnedFd::from(theirs);
        let log = std::env::temp_dir().join(format!("postern-panic-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "server::tests::panic_child",
                "--test-threads=1",
                "-q",
            ])
            .env(CHILD_ENV, "1")
            .env(crate::log::ENV_LOG_FILE, &log)
            .env_remove(ENV_STDERR)
            .stdin(std::process::Stdio::from(fd.try_clone().unwrap()))
            .stdout(std::process::Stdio::from(fd.try_clone().unwrap()))
            .stderr(std::process::Stdio::from(fd))
            .spawn()
            .unwrap();
        ours.set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut out = Vec::new();
        let _ = ours.read_to_end(&mut out);
        let _ = child.wait();
        let out = String::from_utf8_lossy(&out);
        assert!(
            out.contains("+OK hello\r\n-ERR internal error\r\n"),
            "{out:?}"
        );
        assert!(!out.contains("secret"), "{out:?}");
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            logged.contains("Panic") && logged.contains("secret panic text"),
            "{logged:?}"
        );
        let _ = std::fs::remove_file(&log);
    }
}
