//! IMAP string syntax (RFC 3501 §4.3, §4.5, §9 `string` / `nstring`) shared
//! by the ENVELOPE / BODYSTRUCTURE renderers here and by the IMAP wire
//! response writer.
//!
//! The rule, as Dovecot and UW apply it: a value goes out as a quoted string
//! when every byte is a 7-bit TEXT-CHAR (no NUL, CR, LF, no 8-bit) and it is
//! not very long; `"` and `\` are escaped with `\`. Anything else is sent as
//! a synchronising literal `{n}\r\n<bytes>`. `None` is the atom `NIL`.
//! This module does not decide about literal8 (RFC 3516); NUL bytes are sent
//! inside an ordinary literal, as Dovecot does for BODY[] data.

/// Longest value sent as a quoted string; longer ones become literals so a
/// client line stays short.
pub const MAX_QUOTED: usize = 1024;

/// True when `s` may travel as a quoted string.
pub fn is_quotable(s: &[u8]) -> bool {
    s.len() <= MAX_QUOTED && s.iter().all(|&b| b != 0 && b != b'\r' && b != b'\n' && b < 0x80)
}

/// Appends `s` as an IMAP `string`.
///
/// ```text
/// string  = quoted / literal
/// quoted  = DQUOTE *QUOTED-CHAR DQUOTE
/// literal = "{" number "}" CRLF *CHAR8
/// ```
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if is_quotable(s) {
        write_quoted(out, s);
    } else {
        write_literal(out, s);
    }
}

/// Appends `s` as an IMAP `nstring`: `NIL` for `None`, else [`write_string`].
pub fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => write_string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Appends `s` as a quoted string, escaping `"` and `\`. The caller has
/// checked [`is_quotable`]; CR/LF would break the line, so they are dropped.
pub fn write_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' | b'\n' => {}
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Appends `s` as a synchronising literal `{n}\r\n` followed by the bytes.
pub fn write_literal(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'{');
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_table() {
        let cases: &[(Option<&[u8]>, &[u8])] = &[
            (None, b"NIL"),
            (Some(b""), b"\"\""),
            (Some(b"plain"), b"\"plain\""),
            (Some(b"a\"b\\c"), b"\"a\\\"b\\\\c\""),
            (Some(b"line\r\nbreak"), b"{11}\r\nline\r\nbreak"),
            (Some("caf\u{e9}".as_bytes()), b"{5}\r\ncaf\xc3\xa9"),
        ];
        for (input, want) in cases {
            let mut out = Vec::new();
            write_nstring(&mut out, *input);
            assert_eq!(&out[..], *want, "{:?}", input);
        }
        let long = vec![b'x'; MAX_QUOTED + 1];
        let mut out = Vec::new();
        write_string(&mut out, &long);
        assert!(out.starts_with(b"{1025}\r\n"));
    }
}
