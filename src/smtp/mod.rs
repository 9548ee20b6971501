//! SMTP server (smtpd): RFC 5321 with PIPELINING (RFC 2920), SIZE (1870),
//! 8BITMIME (6152), ENHANCEDSTATUSCODES (2034, 3463), STARTTLS (3207),
//! AUTH PLAIN/LOGIN (4954), SMTPUTF8 (6531) and CHUNKING/BDAT (3030), for
//! the two modes of issue #6: `mx` (mail for local users, no relaying, no
//! AUTH) and `submission` (AUTH first; local delivery plus `relay_command`).
//!
//! Local mail goes straight into the recipients' mbox spools before the
//! final reply, all or nothing ([`deliver`]). There is no queue: a failure
//! is a `451` and the client retries.
//!
//! - [`command`]   — command line parser (no I/O)
//! - [`data`]      — DATA body decoder: dot-unstuffing, bare CR/LF refusal, size bound
//! - [`reply`]     — every reply code and text, enhanced status codes
//! - [`session`]   — the state machine: check/proceed per command
//! - `message`     — DATA and BDAT, trace headers, delivery before the reply
//! - `auth`        — AUTH PLAIN/LOGIN in submission mode
//! - [`transport`] — what the session needs from a connection; buffered input
//! - [`received`]  — Return-Path, Received, Message-ID, Date headers
//! - [`deliver`]   — mbox delivery with rollback, relay command, the [`deliver::Backend`] seam

mod auth;
pub mod command;
pub mod data;
pub mod deliver;
mod message;
pub mod received;
pub mod reply;
pub mod session;
pub mod transport;

use crate::config::{Config, PlaintextAuth, SmtpMode};
use crate::io::{Conn, TlsInfo};
use std::sync::Arc;
use std::time::Duration;

/// The configuration the session uses, taken from [`Config`] once.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: SmtpMode,
    pub hostname: String,
    pub local_domains: Vec<String>,
    pub max_size: u64,
    /// `relay_command` is set: submission may accept non-local recipients.
    pub relay: bool,
    /// `plaintext_auth = tls`: AUTH only under TLS.
    pub auth_needs_tls: bool,
    pub login_delay: Duration,
    pub max_auth_failures: u32,
    pub max_recipients: usize,
    /// Client errors (4xx/5xx replies) before `421 4.7.0`.
    pub max_errors: u32,
}

impl Settings {
    pub fn from_config(cfg: &Config, mode: SmtpMode) -> Settings {
        let local_domains = if cfg.local_domains.is_empty() { vec![cfg.hostname.clone()] } else { cfg.local_domains.clone() };
        Settings {
            mode,
            hostname: cfg.hostname.clone(),
            local_domains,
            max_size: cfg.max_size,
            relay: cfg.relay_command.as_deref().is_some_and(|c| !c.trim().is_empty()),
            auth_needs_tls: cfg.plaintext_auth == PlaintextAuth::Tls,
            login_delay: Duration::from_secs(cfg.login_delay),
            max_auth_failures: cfg.max_auth_failures.max(1),
            max_recipients: 100,
            max_errors: 20,
        }
    }
}

/// [`Conn`] seen through [`transport::Transport`].
pub struct ConnTransport<'c> {
    pub conn: &'c mut Conn,
    pub tls_config: Option<Arc<rustls::ServerConfig>>,
}

impl transport::Transport for ConnTransport<'_> {
    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Not read_line: DATA must see line ends as sent (bare LF).
        let mut v = Vec::with_capacity(buf.len());
        let n = self.conn.read_available(buf.len(), &mut v)?;
        buf[..n].copy_from_slice(&v[..n]);
        Ok(n)
    }
    fn send(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.conn.send(buf)
    }
    fn has_buffered(&self) -> bool {
        self.conn.has_buffered()
    }
    fn can_start_tls(&self) -> bool {
        self.tls_config.is_some()
    }
    fn start_tls(&mut self) -> std::io::Result<()> {
        match &self.tls_config {
            Some(c) => self.conn.start_tls(c.clone()),
            None => Err(std::io::Error::other("no certificate")),
        }
    }
    fn tls(&self) -> Option<TlsInfo> {
        self.conn.tls().cloned()
    }
    fn peer(&self) -> Option<std::net::IpAddr> {
        self.conn.peer_addr().map(|a| a.ip().to_canonical())
    }
}

/// What `smtpd` runs (`server::main(Server::Smtp, smtp::serve)`): one
/// connection from the inetd context, with the mode the server chose.
pub fn serve(ctx: &mut crate::server::Context) -> std::process::ExitCode {
    ctx.set_goodbye(b"421 4.3.0 Internal error, closing connection\r\n");
    if ctx.startup_error.is_some() {
        // Already logged by the server set-up; the client just learns we are unavailable.
        let _ = ctx.conn.send(&reply::Reply::new(421, "4.3.0", "Service not available, closing connection").to_bytes());
        return std::process::ExitCode::FAILURE;
    }
    let tls = ctx.tls.clone();
    let mode = ctx.smtp_mode;
    serve_conn(&ctx.cfg, &mut ctx.conn, tls, mode)
}

/// Serve one SMTP connection with the production backend. `tls_config` is
/// `None` when no certificate is installed (STARTTLS not offered); the
/// TLS session itself is logged by [`Conn`].
pub fn serve_conn(cfg: &Config, conn: &mut Conn, tls_config: Option<Arc<rustls::ServerConfig>>, mode: SmtpMode) -> std::process::ExitCode {
    conn.set_idle_timeout(Duration::from_secs(cfg.idle_timeout));
    let settings = Settings::from_config(cfg, mode);
    let mut backend = deliver::SystemBackend { cfg };
    let t = ConnTransport { conn, tls_config };
    session::Session::new(t, &mut backend, &settings).run();
    std::process::ExitCode::SUCCESS
}
