//! POP3 server (ipop3d): RFC 1939 with CAPA and response codes (RFC 2449,
//! RFC 3206), AUTH (RFC 5034) and STLS (RFC 2595), on the user's mbox spool.
//!
//! - [`command`]  — command lines → typed [`command::Command`] (no I/O)
//! - [`reply`]    — every byte sent: `+OK`/`-ERR [code]`, dot-stuffing, TOP cut
//! - [`session`]  — AUTHORIZATION → TRANSACTION → UPDATE state machine
//! - [`maildrop`] — the maildrop as POP3 sees it; mbox and in-memory versions
//!
//! The session talks to the world through two narrow traits defined here:
//! [`Transport`] (the connection: lines in, replies out, STLS) and
//! [`Backend`] (password check, login delay, privilege drop + opening the
//! maildrop). Production uses [`crate::server::Context`] and
//! [`SystemBackend`] over `auth::` and `store::mbox`; transcript tests use
//! scripted ones (tests/pop3_transcript.rs), so no test authenticator is
//! compiled into the binary.
//!
//! PREAUTH (shared/DESIGN.md): when fd 0 is not a socket and the process is
//! not root (`ssh host ipop3d`), the invoking user's maildrop is opened
//! right after the greeting (`+OK ... ready, preauthenticated`), so STAT
//! works at once; USER/PASS or AUTH with that user's name are still
//! answered `+OK` (any password), any other name fails. Not done: APOP (no
//! plaintext secrets are stored), RFC 2449 LOGIN-DELAY, EXPIRE other than
//! NEVER.

pub mod command;
pub mod maildrop;
pub mod reply;
pub mod session;

use crate::auth::policy::FailureLimit;
use crate::auth::{privilege, Account, AuthError};
use crate::config::{Config, PlaintextAuth};
use crate::io::ReadLine;
use crate::server::Context;
use crate::store::{ErrorKind, StoreError};
use maildrop::{Maildrop, MboxMaildrop};
use session::{Outcome, Session};
use std::io;
use std::net::IpAddr;
use std::process::ExitCode;

/// The parts of [`Config`] a POP3 session uses, so tests can build one
/// without a configuration file.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Shown in the greeting and goodbye.
    pub hostname: String,
    /// `plaintext_auth = yes`: USER/PASS and AUTH PLAIN/LOGIN without TLS.
    pub plaintext_auth_always: bool,
    /// Failed logins before the connection is closed (at least 1).
    pub max_auth_failures: u32,
    /// PREAUTH: the invoking user, when fd 0 is not a socket and not root.
    pub preauth: Option<Account>,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Settings {
        Settings {
            hostname: cfg.hostname.clone(),
            plaintext_auth_always: cfg.plaintext_auth == PlaintextAuth::Yes,
            max_auth_failures: cfg.max_auth_failures.max(1),
            preauth: None,
        }
    }
}

/// The connection as a POP3 session needs it.
pub trait Transport {
    /// One line of at most `max` bytes (idle timeout applies).
    fn read_line(&mut self, max: usize) -> io::Result<ReadLine>;
    /// Write and flush one batch of replies.
    fn send(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Input already received but not yet read (pipelining).
    fn has_buffered(&self) -> bool;
    /// The connection is encrypted.
    fn is_tls(&self) -> bool;
    /// A certificate is configured, so STLS can be offered.
    fn tls_available(&self) -> bool;
    /// Handshake now; plaintext input buffered before it is discarded.
    fn start_tls(&mut self) -> io::Result<()>;
    /// `TLSv1.3/TLS13_AES_256_GCM_SHA384` for the login line.
    fn tls_summary(&self) -> Option<String>;
    /// Client address for logs and PAM_RHOST.
    fn peer(&self) -> Option<IpAddr>;
}

/// Authentication and maildrop access as a POP3 session needs them.
pub trait Backend {
    /// Check a password (the caller wipes it).
    fn authenticate(&mut self, user: &str, password: &[u8], peer: Option<IpAddr>) -> Result<Account, AuthError>;
    /// Wait after a failed login (`login_delay`).
    fn delay_after_failure(&mut self);
    /// Become `account` (when root) and open its maildrop exclusively.
    fn open_maildrop(&mut self, account: &Account) -> Result<Box<dyn Maildrop>, StoreError>;
}

/// [`Transport`] over the real connection and its TLS configuration.
impl Transport for Context {
    fn read_line(&mut self, max: usize) -> io::Result<ReadLine> {
        self.conn.read_line(max)
    }
    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        self.conn.send(buf)
    }
    fn has_buffered(&self) -> bool {
        self.conn.has_buffered()
    }
    fn is_tls(&self) -> bool {
        self.conn.tls().is_some()
    }
    fn tls_available(&self) -> bool {
        self.starttls_available()
    }
    fn start_tls(&mut self) -> io::Result<()> {
        Context::start_tls(self)
    }
    fn tls_summary(&self) -> Option<String> {
        self.conn.tls().map(|t| format!("{}/{}", t.version, t.cipher))
    }
    fn peer(&self) -> Option<IpAddr> {
        self.peer_ip()
    }
}

/// [`Backend`] over `auth::` and `store::mbox`.
pub struct SystemBackend<'c> {
    pub cfg: &'c Config,
    pub limit: FailureLimit,
}

impl<'c> SystemBackend<'c> {
    pub fn new(cfg: &'c Config) -> SystemBackend<'c> {
        SystemBackend { cfg, limit: FailureLimit::from_config(cfg) }
    }
}

impl Backend for SystemBackend<'_> {
    fn authenticate(&mut self, user: &str, password: &[u8], peer: Option<IpAddr>) -> Result<Account, AuthError> {
        crate::auth::authenticate(self.cfg, user, password, peer)
    }
    fn delay_after_failure(&mut self) {
        self.limit.record_failure();
    }
    fn open_maildrop(&mut self, account: &Account) -> Result<Box<dyn Maildrop>, StoreError> {
        let refused = |e: AuthError| StoreError::new(ErrorKind::Permission, format!("privilege drop: {e}"));
        let keep_group = if nix::unistd::geteuid().is_root() {
            privilege::resolve_group(&self.cfg.mail_group).map_err(refused)?
        } else {
            None
        };
        privilege::drop_to(account, keep_group).map_err(refused)?;
        if nix::unistd::geteuid().is_root() {
            return Err(StoreError::new(ErrorKind::Permission, "still root after the privilege drop"));
        }
        let path = Config::expand(&self.cfg.inbox, &account.user, &account.home);
        Ok(Box::new(MboxMaildrop::open(&path)?))
    }
}

/// The invoking user for PREAUTH (the caller checked that fd 0 is not a
/// socket); `None` for root, who is never preauthenticated.
pub fn preauth_account() -> Option<Account> {
    if nix::unistd::getuid().is_root() || nix::unistd::geteuid().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
    Some(Account { user: user.name, uid: user.uid.as_raw(), gid: user.gid.as_raw(), home: user.dir, virtual_user: false })
}

/// Serve one POP3 connection: what `ipop3d`'s `main` hands to
/// [`crate::server::main`]. Implicit TLS, if wanted, is already running.
pub fn serve(ctx: &mut Context) -> ExitCode {
    ctx.set_goodbye(b"-ERR [SYS/TEMP] Internal error, see server log\r\n");
    if ctx.startup_error.is_some() {
        // Already logged with the file and line; the client only learns
        // that it should try again later.
        let _ = ctx.conn.send(b"-ERR [SYS/TEMP] Server configuration error, see server log\r\n");
        return ExitCode::FAILURE;
    }
    let mut settings = Settings::from_config(&ctx.cfg);
    if !ctx.stdin_is_socket {
        settings.preauth = preauth_account();
    }
    let cfg = ctx.cfg.clone();
    let mut backend = SystemBackend::new(&cfg);
    let outcome = Session::new(ctx, &mut backend, &settings).run();
    match outcome {
        Outcome::Quit | Outcome::Eof | Outcome::Timeout => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
