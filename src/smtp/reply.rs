//! Every byte smtpd sends passes through here: reply codes with their
//! RFC 3463 enhanced status codes (RFC 2034), single- and multi-line framing
//! (RFC 5321 §4.2), and the fixed texts, kept in one table-like place
//! (the OpenSMTPD `esc.c` idea).
//!
//! RFC 2034 §3 exempts the greeting and the HELO/EHLO replies from enhanced
//! codes, and the intermediate 334/354 replies carry none either (Postfix
//! and Exim do the same); every other reply has one.

/// One SMTP reply: code, optional enhanced status code, one or more lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<&'static str>,
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code.
    pub fn new(code: u16, enhanced: &'static str, text: impl Into<String>) -> Reply {
        Reply { code, enhanced: Some(enhanced), lines: vec![text.into()] }
    }

    /// A reply without enhanced status code (greeting, EHLO, 334, 354).
    pub fn plain(code: u16, lines: Vec<String>) -> Reply {
        Reply { code, enhanced: None, lines }
    }

    /// Wire form, every line CRLF-terminated, `-` on all but the last.
    ///
    /// ```text
    /// reply-line = *( Reply-code "-" [ textstring ] CRLF )
    ///              Reply-code [ SP textstring ] CRLF
    /// ```
    pub fn render(&self, out: &mut Vec<u8>) {
        let n = self.lines.len().max(1);
        for i in 0..n {
            let text = self.lines.get(i).map(String::as_str).unwrap_or("");
            let sep = if i + 1 == n { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{}", self.code, sep).as_bytes());
            if let Some(e) = self.enhanced {
                out.extend_from_slice(e.as_bytes());
                out.push(b' ');
            }
            // Reply text never carries CR or LF: a client-supplied string
            // echoed back must not be able to forge a second reply.
            out.extend(text.bytes().filter(|b| *b != b'\r' && *b != b'\n'));
            out.extend_from_slice(b"\r\n");
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.render(&mut v);
        v
    }

    /// Replies that count against the client's error budget.
    pub fn is_client_error(&self) -> bool {
        self.code >= 400 && self.code != 421 && self.code != 451 && self.code != 552
    }

    // The fixed replies. Names say when they are used.
    pub fn ok() -> Reply {
        Reply::new(250, "2.0.0", "OK")
    }
    pub fn sender_ok() -> Reply {
        Reply::new(250, "2.1.0", "Sender OK")
    }
    pub fn recipient_ok() -> Reply {
        Reply::new(250, "2.1.5", "Recipient OK")
    }
    pub fn start_data() -> Reply {
        Reply::plain(354, vec!["End data with <CR><LF>.<CR><LF>".into()])
    }
    pub fn queued(id: &str) -> Reply {
        Reply::new(250, "2.0.0", format!("OK id={id}"))
    }
    pub fn chunk_ok(n: u64) -> Reply {
        Reply::new(250, "2.0.0", format!("{n} octets received"))
    }
    pub fn bye(host: &str) -> Reply {
        Reply::new(221, "2.0.0", format!("{host} closing connection"))
    }
    pub fn vrfy() -> Reply {
        Reply::new(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")
    }
    pub fn help() -> Reply {
        Reply::new(
            214,
            "2.0.0",
            "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
        )
    }
    pub fn tls_ready() -> Reply {
        Reply::new(220, "2.0.0", "Ready to start TLS")
    }
    pub fn tls_unavailable() -> Reply {
        Reply::new(454, "4.7.0", "TLS not available")
    }
    pub fn auth_ok() -> Reply {
        Reply::new(235, "2.7.0", "Authentication successful")
    }
    pub fn auth_failed() -> Reply {
        Reply::new(535, "5.7.8", "Authentication credentials invalid")
    }
    pub fn auth_cancelled() -> Reply {
        Reply::new(501, "5.0.0", "Authentication cancelled")
    }
    pub fn auth_temp() -> Reply {
        Reply::new(454, "4.7.0", "Temporary authentication failure")
    }
    pub fn auth_required() -> Reply {
        Reply::new(530, "5.7.0", "Authentication required")
    }
    pub fn encryption_required() -> Reply {
        Reply::new(538, "5.7.11", "Encryption required for requested authentication mechanism")
    }
    pub fn unknown_command() -> Reply {
        Reply::new(500, "5.5.1", "Command unrecognized")
    }
    pub fn line_too_long() -> Reply {
        Reply::new(500, "5.5.2", "Line too long")
    }
    pub fn syntax(text: &str) -> Reply {
        Reply::new(501, "5.5.4", format!("Syntax: {text}"))
    }
    pub fn bad_sender_syntax() -> Reply {
        Reply::new(501, "5.1.7", "Bad sender address syntax")
    }
    pub fn bad_recipient_syntax() -> Reply {
        Reply::new(501, "5.1.3", "Bad recipient address syntax")
    }
    pub fn bad_param(what: &str) -> Reply {
        Reply::new(555, "5.5.4", format!("Unsupported parameter {what}"))
    }
    pub fn non_ascii_address() -> Reply {
        Reply::new(553, "5.6.7", "Non-ASCII address requires SMTPUTF8")
    }
    pub fn bad_sequence(text: &str) -> Reply {
        Reply::new(503, "5.5.1", text.to_string())
    }
    pub fn no_valid_recipients() -> Reply {
        Reply::new(554, "5.5.1", "No valid recipients")
    }
    pub fn user_unknown() -> Reply {
        Reply::new(550, "5.1.1", "User unknown")
    }
    pub fn relay_denied() -> Reply {
        Reply::new(550, "5.7.1", "Relaying denied")
    }
    pub fn too_many_recipients() -> Reply {
        Reply::new(452, "4.5.3", "Too many recipients")
    }
    pub fn too_big() -> Reply {
        Reply::new(552, "5.3.4", "Message size exceeds fixed limit")
    }
    pub fn bare_newline() -> Reply {
        Reply::new(550, "5.6.0", "Bare CR or LF in message; lines must end with CRLF")
    }
    pub fn local_error() -> Reply {
        Reply::new(451, "4.3.0", "Local error in processing; try again later")
    }
    pub fn lookup_failed() -> Reply {
        Reply::new(451, "4.3.0", "Temporary recipient lookup failure")
    }
    pub fn too_many_errors() -> Reply {
        Reply::new(421, "4.7.0", "Too many errors, closing connection")
    }
    pub fn timeout() -> Reply {
        Reply::new(421, "4.4.2", "Idle timeout, closing connection")
    }
    pub fn bdat_mix() -> Reply {
        Reply::new(503, "5.5.1", "DATA not allowed after BDAT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_table() {
        let cases: Vec<(Reply, &str)> = vec![
            (Reply::ok(), "250 2.0.0 OK\r\n"),
            (Reply::plain(220, vec!["h ESMTP".into()]), "220 h ESMTP\r\n"),
            (Reply::plain(250, vec!["h".into(), "SIZE 10".into(), "8BITMIME".into()]), "250-h\r\n250-SIZE 10\r\n250 8BITMIME\r\n"),
            (Reply::new(501, "5.5.4", "a\r\n250 forged"), "501 5.5.4 a250 forged\r\n"),
            (Reply::plain(334, vec![]), "334 \r\n"),
        ];
        for (r, want) in cases {
            assert_eq!(String::from_utf8(r.to_bytes()).unwrap(), want);
        }
    }
}
