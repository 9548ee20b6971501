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
//! Bounds: 1,000-byte command lines, 100 recipients, `max_size` for SIZE=
//! and for the bytes actually sent, an error budget, the idle timeout (the
//! transport's), and the AUTH failure limit.

use super::command::{parse_command, Command, MailParams, Mailbox, ParseError};
use super::data::{crlf_to_lf, DataDecoder, Outcome};
use super::deliver::{Backend, Delivery};
use super::received::{self, Trace};
use super::reply::Reply;
use super::transport::{Input, Line, Transport};
use super::Settings;
use crate::auth::Account;
use crate::log::event;
use crate::config::SmtpMode;
use crate::auth::sasl::{Exchange, Mechanism, SaslError, Step};
use zeroize::Zeroizing;

/// Longest command line, CRLF excluded (RFC 5321 §4.5.3.1.4 allows 512;
/// extensions may lengthen it, issue #6 caps at 1,000 with CRLF).
pub const MAX_LINE: usize = 998;
/// Longest AUTH continuation line; auth::sasl refuses longer responses.
const MAX_AUTH_LINE: usize = crate::auth::sasl::MAX_RESPONSE_LEN;

/// An open mail transaction (after MAIL).
struct Transaction {
    from: Option<Mailbox>,
    params: MailParams,
    local: Vec<Account>,
    remote: Vec<String>,
    /// Accepted RCPTs, duplicates included (the 100 limit counts commands).
    accepted: usize,
    /// All accepted addresses, for the log.
    to: Vec<String>,
    bdat: Option<Bdat>,
}

struct Bdat {
    buf: Vec<u8>,
    size: u64,
    too_big: bool,
}

enum Flow {
    Continue,
    Close,
}

pub struct Session<'a, T: Transport, B: Backend> {
    input: Input<T>,
    backend: &'a mut B,
    s: &'a Settings,
    helo: Option<String>,
    esmtp: bool,
    user: Option<String>,
    auth_failures: u32,
    errors: u32,
    tx: Option<Transaction>,
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

    fn queue(&mut self, r: Reply) {
        if r.is_client_error() {
            self.errors += 1;
        }
        r.render(self.input.out());
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.input.flush()
    }

    /// `[192.0.2.7]` for log lines.
    fn host(&self) -> String {
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

    fn tls_active(&self) -> bool {
        self.input.t.tls().is_some()
    }

    fn auth_offered(&self) -> bool {
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

    fn check_data(&self) -> Option<Reply> {
        let Some(tx) = &self.tx else {
            return Some(Reply::bad_sequence("Need MAIL command"));
        };
        if tx.bdat.is_some() {
            return Some(Reply::bdat_mix());
        }
        if tx.accepted == 0 {
            return Some(Reply::no_valid_recipients());
        }
        None
    }

    /// DATA (RFC 5321 §4.1.1.4): 354, then the body up to CRLF.CRLF.
    fn proceed_data(&mut self) -> Flow {
        self.queue(Reply::start_data());
        if self.flush().is_err() {
            return Flow::Close;
        }
        let mut dec = DataDecoder::new(self.s.max_size);
        let r = match self.input.read_until(|b| dec.feed(b)) {
            Ok(r) => r,
            Err(_) => return Flow::Close,
        };
        if let Err(l) = r {
            if l == Line::Timeout {
                self.queue(Reply::timeout());
            }
            self.tx = None;
            return Flow::Close;
        }
        let size = dec.size();
        let (body, outcome) = dec.finish();
        match outcome {
            Outcome::Ok => self.finish_message(body, size),
            Outcome::TooBig => self.refuse_message(Reply::too_big(), "size", size),
            Outcome::BareNewline => self.refuse_message(Reply::bare_newline(), "bare-newline", size),
        }
        Flow::Continue
    }

    /// BDAT (RFC 3030 §2): the chunk is read whatever the state, so the
    /// byte stream stays in step; then it is judged.
    fn proceed_bdat(&mut self, size: u64, last: bool) -> Flow {
        let max = self.s.max_size;
        let usable = self.tx.as_ref().is_some_and(|t| t.accepted > 0);
        let mut scratch = Vec::new();
        let (buf, keep) = match self.tx.as_mut().filter(|_| usable) {
            Some(tx) => {
                let b = tx.bdat.get_or_insert_with(|| Bdat { buf: Vec::new(), size: 0, too_big: false });
                b.size = b.size.saturating_add(size);
                if b.size > max && !b.too_big {
                    b.too_big = true;
                    b.buf = Vec::new();
                }
                let keep = !b.too_big;
                (&mut b.buf, keep)
            }
            None => (&mut scratch, false),
        };
        match self.input.read_exact(size, buf, keep) {
            Ok(Ok(())) => {}
            Ok(Err(Line::Timeout)) => {
                self.queue(Reply::timeout());
                return Flow::Close;
            }
            _ => return Flow::Close,
        }
        if !usable {
            let r = if self.tx.is_none() { Reply::bad_sequence("Need MAIL command") } else { Reply::no_valid_recipients() };
            self.queue(r);
            return Flow::Continue;
        }
        if !last {
            self.queue(Reply::chunk_ok(size));
            return Flow::Continue;
        }
        let Some(b) = self.tx.as_mut().and_then(|t| t.bdat.take()) else {
            return Flow::Continue;
        };
        if b.too_big {
            self.refuse_message(Reply::too_big(), "size", b.size);
        } else {
            let mut body = b.buf;
            crlf_to_lf(&mut body);
            self.finish_message(body, b.size);
        }
        Flow::Continue
    }

    fn refuse_message(&mut self, r: Reply, reason: &str, size: u64) {
        if let Some(tx) = self.tx.take() {
            event("Refused")
                .raw("host", self.host())
                .field("from", format!("<{}>", tx.from.map(|m| m.to_string()).unwrap_or_default()))
                .field("to", format!("<{}>", tx.to.join(",")))
                .raw("size", size)
                .raw("reason", reason)
                .info();
        }
        self.queue(r);
    }

    /// Add trace headers and deliver; the reply says whether every
    /// recipient got it.
    fn finish_message(&mut self, body: Vec<u8>, size: u64) {
        let Some(tx) = self.tx.take() else { return };
        let date = received::now();
        let id = received::new_id(date.0);
        let sender = tx.from.as_ref().map(|m| m.to_string()).unwrap_or_default();
        let tls = self.input.t.tls();
        let one_rcpt = if tx.to.len() == 1 { tx.to.first().cloned() } else { None };
        let trace = Trace {
            helo: self.helo.as_deref().unwrap_or(""),
            esmtp: self.esmtp,
            peer: self.input.t.peer(),
            hostname: &self.s.hostname,
            id: &id,
            tls: tls.as_ref(),
            auth_user: self.user.as_deref(),
            for_rcpt: one_rcpt.as_deref(),
            date,
        };
        let return_path = format!("Return-Path: <{}>\n", sender.replace(['\r', '\n'], ""));
        let mut prefix = Vec::with_capacity(1024);
        prefix.extend_from_slice(return_path.as_bytes());
        prefix.extend_from_slice(received::received(&trace).as_bytes());
        let mut msgid = received::header_value(&body, "message-id");
        if self.s.mode == SmtpMode::Submission {
            if msgid.is_none() {
                let m = received::new_message_id(&id, &self.s.hostname);
                prefix.extend_from_slice(format!("Message-ID: {m}\n").as_bytes());
                msgid = Some(m);
            }
            if received::header_value(&body, "date").is_none() {
                prefix.extend_from_slice(format!("Date: {}\n", received::format_date(date)).as_bytes());
            }
        }
        // In place: a 50 MB message is not held twice.
        let mut msg = body;
        msg.splice(0..0, prefix);
        let d = Delivery {
            sender: &sender,
            date,
            local: &tx.local,
            remote: &tx.remote,
            message: &msg,
            return_path_len: return_path.len(),
        };
        let tls_text = tls.as_ref().map(|t| format!("{}/{}", t.version, t.cipher)).unwrap_or_else(|| "no".into());
        match self.backend.deliver(&d) {
            Ok(()) => {
                event("Delivered")
                    .raw("host", self.host())
                    .field("from", format!("<{sender}>"))
                    .field("to", format!("<{}>", tx.to.join(",")))
                    .raw("size", size)
                    .field("msgid", msgid.as_deref().unwrap_or("-"))
                    .raw("tls", &tls_text)
                    .raw("id", &id)
                    .info();
                self.queue(Reply::queued(&id));
            }
            Err(e) => {
                event("Delivery failed").raw("host", self.host()).field("from", format!("<{sender}>")).field("to", format!("<{}>", tx.to.join(","))).raw("size", size).raw("id", &id).raw("error", &e).error();
                self.queue(Reply::local_error());
            }
        }
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

    fn check_auth(&self) -> Option<Reply> {
        if self.s.mode != SmtpMode::Submission {
            return Some(Reply::bad_sequence("AUTH not available"));
        }
        if self.helo.is_none() || !self.esmtp {
            return Some(Reply::bad_sequence("Send EHLO first"));
        }
        if self.user.is_some() {
            return Some(Reply::bad_sequence("Already authenticated"));
        }
        if self.tx.is_some() {
            return Some(Reply::bad_sequence("AUTH not allowed during a mail transaction"));
        }
        if !self.auth_offered() {
            return Some(Reply::encryption_required());
        }
        None
    }

    /// AUTH PLAIN / LOGIN (RFC 4954; decoding in [`crate::auth::sasl`]).
    fn proceed_auth(&mut self, mechanism: &str, initial: Option<String>) -> Flow {
        let Some(mech) = Mechanism::from_name(mechanism) else {
            self.queue(Reply::new(504, "5.5.4", "Unrecognized authentication type"));
            return Flow::Continue;
        };
        let initial = initial.map(|i| Zeroizing::new(i.into_bytes()));
        let (mut exchange, mut step) = Exchange::start(mech, initial.as_deref().map(Vec::as_slice));
        let creds = loop {
            match step {
                Step::Done(c) => break c,
                Step::Failed(SaslError::Cancelled) => {
                    self.queue(Reply::auth_cancelled());
                    return Flow::Continue;
                }
                Step::Failed(e) => {
                    // Display never holds client data (auth::sasl).
                    self.queue(Reply::new(501, "5.5.2", e.to_string()));
                    return Flow::Continue;
                }
                Step::Challenge(c) => {
                    self.queue(Reply::plain(334, vec![c.to_string()]));
                    if self.flush().is_err() {
                        return Flow::Close;
                    }
                    step = match self.input.read_line(MAX_AUTH_LINE) {
                        Ok(Line::Line(l)) => exchange.step(&Zeroizing::new(l)),
                        Ok(Line::TooLong) => Step::Failed(SaslError::TooLong),
                        Ok(Line::Timeout) => {
                            self.queue(Reply::timeout());
                            return Flow::Close;
                        }
                        _ => return Flow::Close,
                    };
                }
            }
        };
        let peer = self.input.t.peer();
        let result = self.backend.authenticate(&creds.user, &creds.password, peer);
        let user = creds.user.clone();
        drop(creds);
        match result {
            Ok(acct) => {
                event("Login").field("user", &acct.user).raw("host", self.host()).raw("mech", mech.name()).info();
                self.user = Some(acct.user);
                self.queue(Reply::auth_ok());
                Flow::Continue
            }
            Err(e) if e.is_temporary() => {
                event("Login failed").field("user", &user).raw("host", self.host()).raw("error", &e).warn();
                self.queue(Reply::auth_temp());
                Flow::Continue
            }
            Err(e) => {
                // Refused reads like a wrong password (auth::AuthError).
                event("Login failed").field("user", &user).raw("host", self.host()).raw("reason", &e).info();
                self.auth_failures += 1;
                let _ = self.flush();
                std::thread::sleep(self.s.login_delay);
                if self.auth_failures >= self.s.max_auth_failures {
                    self.queue(Reply::new(421, "4.7.0", "Too many authentication failures"));
                    return Flow::Close;
                }
                self.queue(Reply::auth_failed());
                Flow::Continue
            }
        }
    }
}

