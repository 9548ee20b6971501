//! DATA and BDAT (RFC 5321 §4.1.1.4, RFC 3030 §2-§4): taking the message
//! in, refusing it for size or bare line ends, adding the trace headers
//! (RFC 5321 §4.4; RFC 6409 §8 Message-ID and Date in submission) and
//! handing it to the backend for all-or-nothing delivery before the reply.

use super::data::{crlf_to_lf, DataDecoder, Outcome};
use super::deliver::{Backend, Delivery};
use super::received::{self, Trace};
use super::reply::Reply;
use super::session::{Bdat, Flow, Session};
use super::transport::{Line, Transport};
use crate::config::SmtpMode;
use crate::log::event;

impl<T: Transport, B: Backend> Session<'_, T, B> {
    pub(super) fn check_data(&self) -> Option<Reply> {
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
    pub(super) fn proceed_data(&mut self) -> Flow {
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
    pub(super) fn proceed_bdat(&mut self, size: u64, last: bool) -> Flow {
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
}
