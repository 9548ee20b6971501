//! The IMAP ENVELOPE of a message (RFC 3501 §7.4.2) as a typed value built
//! from the header, and its rendering to IMAP syntax.
//!
//! Values are the header field bodies unfolded and trimmed, encoded words
//! left as they are (clients decode them), exactly what Dovecot and UW
//! send. The first occurrence of each field is used. Sender and Reply-To
//! default to From when absent or empty, as §7.4.2 requires.

use super::address::{parse_address_list, Address};
use super::header;
use super::imapstr::{write_nstring, write_string};

/// ENVELOPE fields in RFC 3501 order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

impl Envelope {
    /// Builds the envelope from a header block (or a whole message).
    pub fn from_header(hdr: &[u8]) -> Envelope {
        let mut env = Envelope::default();
        let (mut from, mut sender, mut reply_to, mut to, mut cc, mut bcc) = (None, None, None, None, None, None);
        for f in header::fields(hdr) {
            let name = f.name.to_ascii_lowercase();
            let slot = match &name[..] {
                b"date" => &mut env.date,
                b"subject" => &mut env.subject,
                b"in-reply-to" => &mut env.in_reply_to,
                b"message-id" => &mut env.message_id,
                b"from" => &mut from,
                b"sender" => &mut sender,
                b"reply-to" => &mut reply_to,
                b"to" => &mut to,
                b"cc" => &mut cc,
                b"bcc" => &mut bcc,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(header::unfold(f.value));
            }
        }
        let list = |v: Option<Vec<u8>>| v.map(|v| parse_address_list(&v)).unwrap_or_default();
        env.from = list(from);
        env.sender = list(sender);
        env.reply_to = list(reply_to);
        env.to = list(to);
        env.cc = list(cc);
        env.bcc = list(bcc);
        if env.sender.is_empty() {
            env.sender = env.from.clone();
        }
        if env.reply_to.is_empty() {
            env.reply_to = env.from.clone();
        }
        env
    }

    /// Appends the envelope in IMAP syntax:
    ///
    /// ```text
    /// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
    ///            env-reply-to SP env-to SP env-cc SP env-bcc SP
    ///            env-in-reply-to SP env-message-id ")"
    /// ```
    pub fn render(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        write_nstring(out, self.date.as_deref());
        out.push(b' ');
        write_nstring(out, self.subject.as_deref());
        for list in [&self.from, &self.sender, &self.reply_to, &self.to, &self.cc, &self.bcc] {
            out.push(b' ');
            render_addresses(out, list);
        }
        out.push(b' ');
        write_nstring(out, self.in_reply_to.as_deref());
        out.push(b' ');
        write_nstring(out, self.message_id.as_deref());
        out.push(b')');
    }

    /// The rendering as a new buffer.
    pub fn to_imap(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.render(&mut out);
        out
    }
}

/// Appends an address list: `NIL` when empty, else `(` 1*address `)`.
///
/// ```text
/// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
/// ```
pub fn render_addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        write_nstring(out, a.name.as_deref());
        out.push(b' ');
        write_nstring(out, a.adl.as_deref());
        out.push(b' ');
        write_nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        match (&a.host, &a.mailbox) {
            (Some(h), _) => write_string(out, h),
            (None, _) => out.extend_from_slice(b"NIL"),
        }
        out.push(b')');
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        // The FETCH example of RFC 3501 §7.4.2 (ENVELOPE part).
        let hdr = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
Subject: IMAP4rev1 WG mtg summary and minutes\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\r\n";
        let want = "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) \
((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
\"<B27397-0100000@cac.washington.edu>\")";
        assert_eq!(String::from_utf8_lossy(&Envelope::from_header(hdr).to_imap()), want);
    }

    #[test]
    fn empty_and_odd_headers() {
        assert_eq!(Envelope::from_header(b"\r\n").to_imap(), b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)".to_vec());
        let hdr = "Subject: =?utf-8?q?caf=C3=A9?=\r\n \"quoted\"\r\nTo: undisclosed-recipients:;\r\nFrom: user\r\nSubject: second\r\nIn-Reply-To: <a@b>\r\n\r\n";
        let got = String::from_utf8_lossy(&Envelope::from_header(hdr.as_bytes()).to_imap()).into_owned();
        assert_eq!(
            got,
            "(NIL \"=?utf-8?q?caf=C3=A9?= \\\"quoted\\\"\" ((NIL NIL \"user\" \"\")) ((NIL NIL \"user\" \"\")) \
((NIL NIL \"user\" \"\")) ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL \"<a@b>\" NIL)"
        );
        let hdr = "Subject: caf\u{e9}\r\n\r\n";
        let got = Envelope::from_header(hdr.as_bytes()).to_imap();
        assert!(got.starts_with(b"(NIL {5}\r\ncaf\xc3\xa9 NIL"));
    }
}
