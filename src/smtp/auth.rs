//! AUTH (RFC 4954) in submission mode: when it is offered and allowed,
//! the SASL exchange (decoding in [`crate::auth::sasl`]), the password
//! check, the failure delay and limit. Passwords live only in zeroizing
//! buffers and never reach a log line.

use super::deliver::Backend;
use super::reply::Reply;
use super::session::{Flow, Session, MAX_AUTH_LINE};
use super::transport::{Line, Transport};
use crate::auth::sasl::{Exchange, Mechanism, SaslError, Step};
use crate::config::SmtpMode;
use crate::log::event;
use zeroize::Zeroizing;

impl<T: Transport, B: Backend> Session<'_, T, B> {
    pub(super) fn check_auth(&self) -> Option<Reply> {
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
    pub(super) fn proceed_auth(&mut self, mechanism: &str, initial: Option<String>) -> Flow {
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
