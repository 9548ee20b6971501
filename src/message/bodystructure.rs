//! IMAP BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, grammar in §9) as a typed
//! value built from the MIME part tree, and its rendering.
//!
//! Rendering follows UW imapd (and the RFC 3501 examples): media type,
//! subtype, parameter names, transfer encoding and disposition type in
//! upper case, parameter values as written; a text part without a charset
//! gets `("CHARSET" "US-ASCII")`; extension data is always given in full
//! (`md5 dsp lang loc` for leaves, `params dsp lang loc` for multiparts).
//! RFC 2231 continuations are joined and an extended value keeps its
//! `name*` / `charset''%XX` form, as Dovecot sends it.

use super::envelope::Envelope;
use super::header;
use super::imapstr::{write_nstring, write_string};
use super::mime::{self, Body, Param, Part};

/// Content-Disposition: type and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// Lower-case disposition type (`inline`, `attachment`, ...).
    pub kind: String,
    pub params: Vec<Param>,
}

/// One node of BODYSTRUCTURE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyStructure {
    /// Lower-case media type and subtype.
    pub kind: String,
    pub subtype: String,
    /// Content-Type parameters (for a multipart, the extension params).
    pub params: Vec<Param>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    /// Lower-case Content-Transfer-Encoding (`7bit` by default).
    pub encoding: String,
    /// Body size in octets.
    pub size: usize,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<Disposition>,
    pub language: Vec<Vec<u8>>,
    pub location: Option<Vec<u8>>,
    pub content: Content,
}

/// The type-specific part of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// body-type-basic
    Basic,
    /// body-type-text: number of lines.
    Text { lines: usize },
    /// body-type-msg: envelope and structure of the embedded message.
    Message { envelope: Box<Envelope>, body: Box<BodyStructure>, lines: usize },
    /// body-type-mpart: the children.
    Multipart(Vec<BodyStructure>),
}

impl BodyStructure {
    /// Builds the structure of `part` (usually `mime::parse(msg)`).
    pub fn build(msg: &[u8], part: &Part) -> BodyStructure {
        let hdr = part.header(msg);
        let text = |name: &str| header::find(hdr, name).map(header::unfold);
        let disposition = header::find(hdr, "Content-Disposition").and_then(|v| {
            let (kind, params) = mime::parse_field_params(v);
            (!kind.is_empty()).then_some(Disposition { kind, params })
        });
        let language = text("Content-Language")
            .map(|v| {
                v.split(|&b| b == b',')
                    .map(|l| header::trim(l).to_vec())
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let location = header::find(hdr, "Content-Location")
            .map(|v| v.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect::<Vec<u8>>());
        let ct = &part.content_type;
        let mut params = ct.params.clone();
        let content = match &part.body {
            Body::Multipart(children) => Content::Multipart(children.iter().map(|c| Self::build(msg, c)).collect()),
            Body::Message(inner) => Content::Message {
                envelope: Box::new(Envelope::from_header(inner.header(msg))),
                body: Box::new(Self::build(msg, inner)),
                lines: part.body_lines,
            },
            Body::Leaf if ct.kind == "text" => {
                if !params.iter().any(|p| p.name.eq_ignore_ascii_case("charset") || p.name.eq_ignore_ascii_case("charset*")) {
                    params.insert(0, Param { name: "charset".into(), value: b"us-ascii".to_vec() });
                }
                Content::Text { lines: part.body_lines }
            }
            Body::Leaf => Content::Basic,
        };
        let (kind, subtype) = (ct.kind.clone(), ct.subtype.clone());
        BodyStructure {
            kind,
            subtype,
            params,
            id: text("Content-ID"),
            description: text("Content-Description"),
            encoding: part.encoding(msg),
            size: part.size(),
            md5: text("Content-MD5"),
            disposition,
            language,
            location,
            content,
        }
    }

    /// Parses `msg` and builds its structure.
    pub fn of_message(msg: &[u8]) -> BodyStructure {
        Self::build(msg, &mime::parse(msg))
    }

    /// Appends `BODYSTRUCTURE` (`extended`) or `BODY` (not) syntax.
    ///
    /// ```text
    /// body      = "(" (body-type-1part / body-type-mpart) ")"
    /// body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
    /// body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    /// body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
    /// ```
    pub fn render(&self, out: &mut Vec<u8>, extended: bool) {
        out.push(b'(');
        if let Content::Multipart(children) = &self.content {
            for c in children {
                c.render(out, extended);
            }
            out.push(b' ');
            write_upper(out, &self.subtype);
            if extended {
                out.push(b' ');
                render_params(out, &self.params);
                self.render_common_ext(out);
            }
            out.push(b')');
            return;
        }
        // A message/rfc822 we did not descend into (encoded, or past a
        // bound) has no envelope to give: "MESSAGE" "RFC822" would make
        // clients expect body-type-msg, so it is sent as opaque data.
        let is_msg_basic = matches!(self.content, Content::Basic) && self.kind == "message" && self.subtype == "rfc822";
        if is_msg_basic {
            out.extend_from_slice(b"\"APPLICATION\" \"OCTET-STREAM\"");
        } else {
            write_upper(out, &self.kind);
            out.push(b' ');
            write_upper(out, &self.subtype);
        }
        out.push(b' ');
        render_params(out, &self.params);
        out.push(b' ');
        write_nstring(out, self.id.as_deref());
        out.push(b' ');
        write_nstring(out, self.description.as_deref());
        out.push(b' ');
        write_upper(out, &self.encoding);
        out.push(b' ');
        out.extend_from_slice(self.size.to_string().as_bytes());
        match &self.content {
            Content::Text { lines } => {
                out.push(b' ');
                out.extend_from_slice(lines.to_string().as_bytes());
            }
            Content::Message { envelope, body, lines } => {
                out.push(b' ');
                envelope.render(out);
                out.push(b' ');
                body.render(out, extended);
                out.push(b' ');
                out.extend_from_slice(lines.to_string().as_bytes());
            }
            Content::Basic | Content::Multipart(_) => {}
        }
        if extended {
            out.push(b' ');
            write_nstring(out, self.md5.as_deref());
            self.render_common_ext(out);
        }
        out.push(b')');
    }

    /// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc`
    fn render_common_ext(&self, out: &mut Vec<u8>) {
        out.push(b' ');
        match &self.disposition {
            Some(d) => {
                out.push(b'(');
                write_upper(out, &d.kind);
                out.push(b' ');
                render_params(out, &d.params);
                out.push(b')');
            }
            None => out.extend_from_slice(b"NIL"),
        }
        out.push(b' ');
        match self.language.as_slice() {
            [] => out.extend_from_slice(b"NIL"),
            [one] => write_string(out, one),
            many => {
                out.push(b'(');
                for (i, l) in many.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    write_string(out, l);
                }
                out.push(b')');
            }
        }
        out.push(b' ');
        write_nstring(out, self.location.as_deref());
    }

    /// The rendering as a new buffer.
    pub fn to_imap(&self, extended: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.render(&mut out, extended);
        out
    }
}

fn write_upper(out: &mut Vec<u8>, s: &str) {
    write_string(out, s.to_ascii_uppercase().as_bytes());
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
/// The default charset is written `US-ASCII` as UW does.
fn render_params(out: &mut Vec<u8>, params: &[Param]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_upper(out, &p.name);
        out.push(b' ');
        if p.name.eq_ignore_ascii_case("charset") && p.value.eq_ignore_ascii_case(b"us-ascii") {
            write_string(out, b"US-ASCII");
        } else {
            write_string(out, &p.value);
        }
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bs(msg: &[u8], ext: bool) -> String {
        String::from_utf8_lossy(&BodyStructure::of_message(msg).to_imap(ext)).into_owned()
    }

    #[test]
    fn default_text_plain() {
        let m = b"Subject: x\r\n\r\nhello\r\nworld\r\n";
        assert_eq!(bs(m, true), "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)");
        assert_eq!(bs(m, false), "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 14 2)");
    }

    #[test]
    fn multipart_with_extensions() {
        let m = b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n--b\r\n\
Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\nContent-ID: <id1@x>\r\nContent-Description: A file\r\nContent-Language: en, de\r\n\
Content-Location: http://x/\r\n  a.pdf\r\nContent-MD5: Q2hlY2s=\r\n\r\nAAAA\r\n--b--\r\n";
        assert_eq!(
            bs(m, true),
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 9 0 NIL NIL NIL NIL)\
(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") \"<id1@x>\" \"A file\" \"BASE64\" 4 \"Q2hlY2s=\" \
(\"ATTACHMENT\" (\"FILENAME\" \"a.pdf\")) (\"en\" \"de\") \"http://x/a.pdf\") \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)"
        );
        assert_eq!(
            bs(m, false),
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 9 0)\
(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") \"<id1@x>\" \"A file\" \"BASE64\" 4) \"MIXED\")"
        );
    }

    #[test]
    fn message_rfc822() {
        let m = b"Content-Type: message/rfc822\r\n\r\nSubject: in\r\nFrom: a@b\r\n\r\nbody\r\n";
        assert_eq!(
            bs(m, true),
            "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 32 (NIL \"in\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) \
((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 6 1 NIL NIL NIL NIL) \
4 NIL NIL NIL NIL)"
        );
        let m = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n";
        assert!(bs(m, false).starts_with("(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 6)"));
    }

    #[test]
    fn rfc2231_params_rendered_joined() {
        let m = b"Content-Type: application/x; name*0*=utf-8''%E2%82; name*1*=%AC.txt\r\n\r\nx";
        assert_eq!(bs(m, false), "(\"APPLICATION\" \"X\" (\"NAME*\" \"utf-8''%E2%82%AC.txt\") NIL NIL \"7BIT\" 1)");
    }
}
