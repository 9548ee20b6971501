//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3), strictly validated.
//!
//! Printable US-ASCII stands for itself except `&`, written `&-`; anything
//! else is UTF-16 in modified BASE64 (`,` for `/`, no padding) between `&`
//! and `-`. Decoding refuses every form the RFC forbids or leaves ambiguous:
//! raw 8-bit or control characters, base64 that encodes printable ASCII,
//! non-zero or excess padding bits, unpaired surrogates, unterminated shifts.
//! This module does not deal with hierarchy delimiters or INBOX.

use std::fmt;

/// Why a name is not valid modified UTF-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf7Error {
    /// A byte outside printable US-ASCII appeared unencoded.
    RawByte(u8),
    /// `&` was not closed by `-`, or held a non-BASE64 character.
    BadShift,
    /// The BASE64 run left bits over that are not zero padding.
    BadPadding,
    /// A shifted run encoded printable ASCII, or was empty (`&` + `-` is `&`).
    NotMinimal,
    /// A UTF-16 surrogate was not properly paired.
    BadSurrogate,
}

impl fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mailbox name is not valid modified UTF-7")
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    } as u32)
}

fn is_printable(c: u32) -> bool {
    (0x20..=0x7e).contains(&c)
}

/// Encodes a UTF-8 name as modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for &u in pending.iter() {
            bits = (bits << 16) | u32::from(u);
            nbits += 16;
            while nbits >= 6 {
                nbits -= 6;
                out.push(ALPHABET[((bits >> nbits) & 63) as usize] as char);
            }
            bits &= (1 << nbits) - 1;
        }
        if nbits > 0 {
            out.push(ALPHABET[((bits << (6 - nbits)) & 63) as usize] as char);
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if is_printable(c as u32) {
            flush(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes a modified UTF-7 name to UTF-8, refusing anything not in the
/// canonical form [`encode`] produces.
pub fn decode(name: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        let b = name[i];
        if b != b'&' {
            if !is_printable(u32::from(b)) {
                return Err(Utf7Error::RawByte(b));
            }
            out.push(b as char);
            i += 1;
            continue;
        }
        i += 1;
        let start = i;
        while i < name.len() && name[i] != b'-' {
            i += 1;
        }
        if i == name.len() {
            return Err(Utf7Error::BadShift);
        }
        let run = &name[start..i];
        i += 1; // the '-'
        if run.is_empty() {
            out.push('&');
            continue;
        }
        decode_run(run, &mut out)?;
    }
    Ok(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Result<(), Utf7Error> {
    let mut units: Vec<u16> = Vec::with_capacity(run.len() * 6 / 16);
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for &b in run {
        let v = b64_value(b).ok_or(Utf7Error::BadShift)?;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push(((bits >> nbits) & 0xffff) as u16);
            bits &= (1 << nbits) - 1;
        }
    }
    // Leftover must be fewer than 6 bits, all zero (RFC 2152 padding).
    if nbits >= 6 || bits != 0 || units.is_empty() {
        return Err(Utf7Error::BadPadding);
    }
    for r in char::decode_utf16(units.iter().copied()) {
        let c = r.map_err(|_| Utf7Error::BadSurrogate)?;
        if is_printable(c as u32) {
            return Err(Utf7Error::NotMinimal);
        }
        out.push(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_table() {
        let table: &[(&str, &str)] = &[
            ("INBOX", "INBOX"),
            ("", ""),
            ("&", "&-"),
            ("a&b", "a&-b"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("Gesendete Objekte", "Gesendete Objekte"),
            ("😀", "&2D3eAA-"),
            ("tab\there", "tab&AAk-here"),
            ("Ünïcödé", "&ANw-n&AO8-c&APY-d&AOk-"),
            ("\u{7f}", "&AH8-"),
        ];
        for (utf8, utf7) in table {
            assert_eq!(encode(utf8), *utf7, "encode {utf8}");
            assert_eq!(decode(utf7.as_bytes()).as_deref(), Ok(*utf8), "decode {utf7}");
        }
    }

    #[test]
    fn reject_table() {
        let table: &[(&[u8], Utf7Error)] = &[
            (b"a&", Utf7Error::BadShift),
            (b"&AGE", Utf7Error::BadShift),
            (b"&A=E-", Utf7Error::BadShift),
            (b"&AGE-", Utf7Error::NotMinimal), // "a" must not be encoded
            (b"&AC4-", Utf7Error::NotMinimal),
            (b"&APx-", Utf7Error::BadPadding), // non-zero padding bits
            (b"&APwA-", Utf7Error::BadPadding), // a whole extra sextet
            (b"&A-", Utf7Error::BadPadding),
            (b"&2D0-", Utf7Error::BadSurrogate), // lone high surrogate
            (b"&3gA-", Utf7Error::BadSurrogate), // lone low surrogate
            (b"caf\xc3\xa9", Utf7Error::RawByte(0xc3)),
            (b"a\tb", Utf7Error::RawByte(b'\t')),
            (b"a\x00", Utf7Error::RawByte(0)),
            (b"&U/BTFw-", Utf7Error::BadShift), // '/' is ',' in modified BASE64
        ];
        for (s, want) in table {
            assert_eq!(decode(s), Err(*want), "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn every_bmp_char_round_trips() {
        for c in (0u32..0x11000).step_by(7).filter_map(char::from_u32) {
            let s = format!("x{c}y{c}{c}");
            assert_eq!(decode(encode(&s).as_bytes()).as_deref(), Ok(s.as_str()));
        }
    }
}
