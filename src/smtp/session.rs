//! One SMTP session as straight-line code: read a line, parse it, check it
//! against the state, proceed, reply (RFC 5321 §3, §4.1.4 ordering rules;
//! RFC 2920 pipelining; RFC 3207 STARTTLS; RFC 4954 AUTH; RFC 3030 BDAT).
//!
//! State is a few fields rather than an enum because SMTP's states nest:
//! greeted (HELO/EHLO seen) ⊃ authenticated ⊃ transaction (MAIL seen) ⊃
//! recipients ⊃ BDAT chunks. `check_*` functions decide whether a command
//! may run now and return the refusal reply; `proceed_*` do the work
//! (OpenSMTPD's split). Replies are queued and written when the reader is
//! about to wait for the client (`transport::Input`), so a pipelined batch
//! gets one write.
//!
//! DATA/BDAT live in `message.rs`, AUTH in `auth.rs` (more `impl Session`).
//!
//! Bounds: 1,000-byte command lines, 100 recipients, `max_size` for SIZE=
//! and for the bytes actually sent, an error budget, the idle timeout (the
//! transport's), and the AUTH failure limit.

use super::command::{parse_command, Command, MailParams, Mailbox, ParseError};
use super::deliver::Backend;
use super::received;
use super::reply::Reply;
use super::transport::{Input, Line, Transport};
use super::Settings;
use crate::auth::Account;
use crate::log::event;
use crate::config::SmtpMode;

/// Longest command line, CRLF excluded (RFC 5321 §4.5.3.1.4 allows 512;
/// extensions may lengthen it, issue #6 caps at 1,000 with CRLF).
pub const MAX_LINE: usize = 998;
/// Longest AUTH continuation line; auth::sasl refuses longer responses.
pub(super) const MAX_AUTH_LINE: usize = crate::auth::sasl::MAX_RESPONSE_LEN;

/// An open mail transaction (after MAIL).
pub(super) struct Transaction {
    pub(super) from: Option<Mailbox>,
    pub(super) params: MailParams,
    pub(super) local: Vec<Account>,
    pub(super) remote: Vec<String>,
    /// Accepted RCPTs, duplicates included (the 100 limit counts commands).
    pub(super) accepted: usize,
    /// All accepted addresses, for the log.
    pub(super) to: Vec<String>,
    pub(super) bdat: Option<Bdat>,
}

pub(super) struct Bdat {
    pub(super) buf: Vec<u8>,
    pub(super) size: u64,
    pub(super) too_big: bool,
}

pub(super) enum Flow {
    Continue,
    Close,
}

pub struct Session<'a, T: Transport, B: Backend> {
    pub(super) input: Input<T>,
    pub(super) backend: &'a mut B,
    pub(super) s: &'a Settings,
    pub(super) helo: Option<String>,
    pub(super) esmtp: bool,
    pub(super) user: Option<String>,
    pub(super) auth_failures: u32,
    pub(super) errors: u32,
    pub(super) tx: Option<Transaction>,
}

impl<'a, T: Transport, B: Backend> Session<'a, T, B> {
    pub fn new(t: T, backend: &'a mut B, s: &'a Settings) -> Self {
        Session {
            input: Input::new(t),
            backend,
            s,
            helo: None,
            esmtp: false,
            user: None,
            auth_failures: 0,
            errors: 0,
            tx: None,
        }
    }

    /// Hand back the transport (tests inspect what was written).
    pub fn into_transport(self) -> T {
        self.input.t
    }

    pub(super) fn queue(&mut self, r: Reply) {
        if r.is_client_error() {
            self.errors += 1;
        }
        r.render(self.input.out());
    }

    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        self.input.flush()
    }

    /// `[192.0.2.7]` for log lines.
    pub(super) fn host(&self) -> String {
        crate::log::host(self.input.t.peer())
    }

    /// Serve until QUIT, EOF, timeout or a fatal limit.
    pub fn run(&mut self) {
        self.queue(Reply::plain(220, vec![format!("{} ESMTP postern", self.s.hostname)]));
        loop {
            let line = match self.input.read_line(MAX_LINE) {
                Ok(l) => l,
                Err(_) => return,
            };
            let flow = match line {
                Line::Line(l) => self.command(&l),
                Line::TooLong => {
                    self.queue(Reply::line_too_long());
                    Flow::Continue
                }
                Line::Eof => {
                    event("Disconnected").raw("host", self.host()).debug();
                    return;
                }
                Line::Timeout => {
                    event("Timeout").raw("host", self.host()).info();
                    self.queue(Reply::timeout());
                    Flow::Close
                }
            };
            if let Flow::Continue = flow {
                if self.errors >= self.s.max_errors {
                    event("Too many errors").raw("host", self.host()).info();
                    self.queue(Reply::too_many_errors());
                    let _ = self.flush();
                    return;
                }
                continue;
            }
            let _ = self.flush();
            return;
        }
    }

    fn command(&mut self, line: &[u8]) -> Flow {
        let cmd = match parse_command(line) {
            Ok(c) => c,
            Err(e) => {
                let r = match e {
                    ParseError::Unknown => Reply::unknown_command(),
                    ParseError::Syntax(u) => Reply::syntax(u),
                    ParseError::BadSender => Reply::bad_sender_syntax(),
                    ParseError::BadRecipient => Reply::bad_recipient_syntax(),
                    ParseError::BadParam(p) => Reply::bad_param(&p),
                };
                self.queue(r);
                return Flow::Continue;
            }
        };
        match cmd {
            Command::Helo(name) => self.proceed_hello(name, false),
            Command::Ehlo(name) => self.proceed_hello(name, true),
            Command::Mail { from, params } => match self.check_mail(&from, &params) {
                Some(r) => self.queue(r),
                None => self.proceed_mail(from, params),
            },
            Command::Rcpt { to } => match self.check_rcpt(&to) {
                Some(r) => self.queue(r),
                None => self.proceed_rcpt(to),
            },
            Command::Data => match self.check_data() {
                Some(r) => self.queue(r),
                None => return self.proceed_data(),
            },
            Command::Bdat { size, last } => return self.proceed_bdat(size, last),
            Command::Rset => {
                self.tx = None;
                self.queue(Reply::ok());
            }
            Command::Noop => self.queue(Reply::ok()),
            Command::Vrfy => self.queue(Reply::vrfy()),
            Command::Help => self.queue(Reply::help()),
            Command::Quit => {
                self.queue(Reply::bye(&self.s.hostname));
                return Flow::Close;
            }
            Command::StartTls => return self.proceed_starttls(),
            Command::Auth { mechanism, initial } => match self.check_auth() {
                Some(r) => self.queue(r),
                None => return self.proceed_auth(&mechanism, initial),
            },
        }
        Flow::Continue
    }

    pub(super) fn tls_active(&self) -> bool {
        self.input.t.tls().is_some()
    }

    pub(super) fn auth_offered(&self) -> bool {
        self.s.mode == SmtpMode::Submission && (self.tls_active() || !self.s.auth_needs_tls)
    }

    /// HELO / EHLO (RFC 5321 §4.1.1.1): also an implicit RSET.
    fn proceed_hello(&mut self, name: String, esmtp: bool) {
        self.tx = None;
        self.helo = Some(name.clone());
        self.esmtp = esmtp;
        let first = format!("{} Hello {}", self.s.hostname, received::sanitize(&name));
        if !esmtp {
            self.queue(Reply::plain(250, vec![first]));
            return;
        }
        let mut lines = vec![first, "PIPELINING".into(), format!("SIZE {}", self.s.max_size), "8BITMIME".into(), "ENHANCEDSTATUSCODES".into()];
        if !self.tls_active() && self.input.t.can_start_tls() {
            lines.push("STARTTLS".into());
        }
        if self.auth_offered() && self.user.is_none() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        lines.push("SMTPUTF8".into());
        lines.push("CHUNKING".into());
        self.queue(Reply::plain(250, lines));
    }

    fn check_mail(&self, from: &Option<Mailbox>, params: &MailParams) -> Option<Reply> {
        if self.helo.is_none() {
            return Some(Reply::bad_sequence("Send HELO/EHLO first"));
        }
        if self.tx.is_some() {
            return Some(Reply::bad_sequence("Sender already specified"));
        }
        if self.s.mode == SmtpMode::Submission && self.user.is_none() {
            return Some(Reply::auth_required());
        }
        if !self.esmtp && *params != MailParams::default() {
            return Some(Reply::bad_param("(parameters need EHLO)"));
        }
        if params.size.is_some_and(|n| n > self.s.max_size) {
            return Some(Reply::too_big());
        }
        if from.as_ref().is_some_and(|m| !m.is_ascii()) && !params.smtputf8 {
            return Some(Reply::non_ascii_address());
        }
        None
    }

    fn proceed_mail(&mut self, from: Option<Mailbox>, params: MailParams) {
        self.tx = Some(Transaction { from, params, local: vec![], remote: vec![], accepted: 0, to: vec![], bdat: None });
        self.queue(Reply::sender_ok());
    }

    fn check_rcpt(&self, to: &Mailbox) -> Option<Reply> {
        let Some(tx) = &self.tx else {
            return Some(Reply::bad_sequence("Need MAIL before RCPT"));
        };
        if tx.bdat.is_some() {
            return Some(Reply::bad_sequence("RCPT not allowed during BDAT"));
        }
        if tx.accepted >= self.s.max_recipients {
            return Some(Reply::too_many_recipients());
        }
        if !to.is_ascii() && !tx.params.smtputf8 {
            return Some(Reply::non_ascii_address());
        }
        None
    }

    fn is_local_domain(&self, domain: &str) -> bool {
        domain.is_empty() || self.s.local_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// RCPT (RFC 5321 §4.1.1.3): local accounts, postmaster, or relay.
    fn proceed_rcpt(&mut self, to: Mailbox) {
        let reply = if self.is_local_domain(&to.domain) {
            self.accept_local(&to)
        } else if self.s.mode == SmtpMode::Submission && self.s.relay {
            if to.local.starts_with('-') {
                // Would read as an option of the relay command.
                Err(Reply::bad_recipient_syntax())
            } else {
                if let Some(tx) = self.tx.as_mut() {
                    tx.remote.push(to.to_string());
                }
                Ok(())
            }
        } else {
            event("Refused").raw("host", self.host()).field("to", format!("<{to}>")).raw("reason", "relaying denied").info();
            Err(Reply::relay_denied())
        };
        match reply {
            Ok(()) => {
                if let Some(tx) = self.tx.as_mut() {
                    tx.accepted += 1;
                    tx.to.push(to.to_string());
                }
                self.queue(Reply::recipient_ok());
            }
            Err(r) => self.queue(r),
        }
    }

    fn accept_local(&mut self, to: &Mailbox) -> Result<(), Reply> {
        let is_postmaster = to.local.eq_ignore_ascii_case("postmaster");
        let candidates: Vec<String> = if is_postmaster {
            vec!["postmaster".into(), "root".into()]
        } else if to.local.starts_with('"') {
            vec![]
        } else {
            let lower = to.local.to_ascii_lowercase();
            if lower == to.local { vec![lower] } else { vec![to.local.clone(), lower] }
        };
        for user in candidates {
            match self.backend.lookup(&user) {
                Ok(Some(acct)) => {
                    if let Some(tx) = self.tx.as_mut() {
                        if !tx.local.iter().any(|a| a.user == acct.user) {
                            tx.local.push(acct);
                        }
                    }
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => {
                    event("Lookup failed").field("user", &user).raw("error", &e).warn();
                    return Err(Reply::lookup_failed());
                }
            }
        }
        event("Refused").raw("host", self.host()).field("to", format!("<{to}>")).raw("reason", "user unknown").info();
        Err(Reply::user_unknown())
    }

    /// STARTTLS (RFC 3207 §4): 220, drop anything pipelined after it,
    /// handshake, forget everything learnt before.
    fn proceed_starttls(&mut self) -> Flow {
        if self.tls_active() {
            self.queue(Reply::bad_sequence("TLS already active"));
            return Flow::Continue;
        }
        if !self.input.t.can_start_tls() {
            self.queue(Reply::tls_unavailable());
            return Flow::Continue;
        }
        self.queue(Reply::tls_ready());
        if self.flush().is_err() {
            return Flow::Close;
        }
        let dropped = self.input.discard_buffered();
        if dropped > 0 || self.input.t.has_buffered() {
            event("STARTTLS pipelined plaintext discarded").raw("host", self.host()).raw("bytes", dropped).info();
        }
        // The transport logs the TLS session or the handshake failure.
        if self.input.t.start_tls().is_err() {
            return Flow::Close;
        }
        self.helo = None;
        self.esmtp = false;
        self.user = None;
        self.tx = None;
        Flow::Continue
    }

}
