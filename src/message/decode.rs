//! Content decoding: quoted-printable and base64 (RFC 2045 §6.7, §6.8),
//! encoded words in header values (RFC 2047 §2–§6, B and Q), RFC 2231
//! extended parameter values, and charset → UTF-8 conversion.
//!
//! Every decoder is tolerant: bad input is passed through or skipped, never
//! an error and never a panic. Charsets known here: UTF-8, US-ASCII,
//! ISO-8859-1, ISO-8859-15, Windows-1252 (and their usual aliases); any other
//! charset is read as UTF-8 with U+FFFD for invalid sequences.

/// Decodes quoted-printable `src`, appending to `out`. Soft line breaks
/// (`=` CRLF or `=` LF) vanish; a malformed `=` escape is kept literally.
pub fn decode_qp_into(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(src.len());
    let mut i = 0;
    while i < src.len() {
        // Copy the run up to the next `=` in one piece: nearly all of a
        // QP body is literal text.
        let run = memchr::memchr(b'=', &src[i..]).unwrap_or(src.len() - i);
        if run > 0 {
            out.extend_from_slice(&src[i..i + run]);
            i += run;
            continue;
        }
        let rest = &src[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let (Some(h), Some(l)) = (rest.first().and_then(|&c| hex(c)), rest.get(1).and_then(|&c| hex(c))) {
            out.push(h << 4 | l);
            i += 3;
        } else {
            // "=" followed by blanks up to the line end is a soft break too.
            let blanks = rest.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
            let after = &rest[blanks..];
            if blanks > 0 && (after.starts_with(b"\r\n") || after.starts_with(b"\n")) {
                i += 1 + blanks + if after[0] == b'\r' { 2 } else { 1 };
            } else {
                out.push(b'=');
                i += 1;
            }
        }
    }
}

/// Quoted-printable decode into a new buffer.
pub fn decode_qp(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    decode_qp_into(src, &mut out);
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Base64 alphabet value of each byte; `INVALID` for the rest (`=` too).
const B64: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = i as u8 + 26;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = d as u8 + 52;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
};
const INVALID: u8 = 0xff;

fn b64_value(c: u8) -> Option<u32> {
    match B64[usize::from(c)] {
        INVALID => None,
        v => Some(u32::from(v)),
    }
}

/// Decodes base64 `src`, appending to `out`. Characters outside the
/// alphabet (line ends, blanks, garbage) are skipped; `=` ends the data.
pub fn decode_base64_into(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(src.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    let mut i = 0;
    while i < src.len() {
        // Whole groups of four alphabet characters, the bulk of any body,
        // go at once; line ends, `=` and garbage take the byte path below.
        if n == 0 {
            if let Some(&[a, b, c, d]) = src.get(i..i + 4) {
                let (a, b, c, d) = (B64[usize::from(a)], B64[usize::from(b)], B64[usize::from(c)], B64[usize::from(d)]);
                // Valid values are below 64, INVALID is not.
                if (a | b | c | d) < 64 {
                    let v = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
                    out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
                    i += 4;
                    continue;
                }
            }
        }
        let c = src[i];
        i += 1;
        if c == b'=' {
            break;
        }
        let Some(v) = b64_value(c) else { continue };
        acc = acc << 6 | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
}

/// Base64 decode into a new buffer.
pub fn decode_base64(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    decode_base64_into(src, &mut out);
    out
}

/// Decodes a body by its Content-Transfer-Encoding (case-insensitive);
/// 7bit/8bit/binary/unknown come back unchanged.
pub fn decode_transfer<'a>(encoding: &[u8], src: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    if encoding.eq_ignore_ascii_case(b"base64") {
        decode_base64(src).into()
    } else if encoding.eq_ignore_ascii_case(b"quoted-printable") {
        decode_qp(src).into()
    } else {
        src.into()
    }
}

/// Known charsets, after alias resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 and US-ASCII (a subset); also the lossy fallback.
    Utf8,
    /// ISO-8859-1 / Latin-1: byte = code point.
    Latin1,
    /// ISO-8859-15 / Latin-9.
    Latin9,
    /// Windows-1252, Latin-1 with printable characters in 0x80–0x9F.
    Windows1252,
}

impl Charset {
    /// Resolves a charset label (case-insensitive, RFC 2231 `*lang` suffix
    /// allowed); unknown labels become [`Charset::Utf8`] (lossy).
    pub fn from_label(label: &[u8]) -> Charset {
        let label = label.split(|&b| b == b'*').next().unwrap_or(b"");
        let l = String::from_utf8_lossy(super::header::trim(label)).to_ascii_lowercase();
        match l.as_str() {
            "iso-8859-1" | "iso8859-1" | "latin1" | "l1" | "iso_8859-1" | "iso-ir-100" | "cp819" => Charset::Latin1,
            "iso-8859-15" | "iso8859-15" | "latin9" | "latin-9" | "iso_8859-15" => Charset::Latin9,
            "windows-1252" | "cp1252" | "x-cp1252" => Charset::Windows1252,
            _ => Charset::Utf8,
        }
    }

    /// True when the bytes are already UTF-8 (or to be treated so).
    pub fn is_utf8(self) -> bool {
        self == Charset::Utf8
    }
}

const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{02C6}',
    '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}', '\u{017D}', '\u{FFFD}', '\u{FFFD}', '\u{2018}',
    '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}',
    '\u{203A}', '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
];

/// Converts `src` in `charset` to UTF-8, appending to `out`.
pub fn charset_to_utf8_into(charset: Charset, src: &[u8], out: &mut String) {
    match charset {
        Charset::Utf8 => out.push_str(&String::from_utf8_lossy(src)),
        Charset::Latin1 => out.extend(src.iter().map(|&b| b as char)),
        Charset::Windows1252 => out.extend(src.iter().map(|&b| match b {
            0x80..=0x9f => CP1252_HIGH[(b - 0x80) as usize],
            _ => b as char,
        })),
        Charset::Latin9 => out.extend(src.iter().map(|&b| match b {
            0xa4 => '\u{20AC}',
            0xa6 => '\u{0160}',
            0xa8 => '\u{0161}',
            0xb4 => '\u{017D}',
            0xb8 => '\u{017E}',
            0xbc => '\u{0152}',
            0xbd => '\u{0153}',
            0xbe => '\u{0178}',
            _ => b as char,
        })),
    }
}

/// Converts `src` labelled `label` to UTF-8.
pub fn charset_to_utf8(label: &[u8], src: &[u8]) -> String {
    let mut out = String::new();
    charset_to_utf8_into(Charset::from_label(label), src, &mut out);
    out
}

/// Decodes one encoded word `=?charset?enc?text?=` (the whole token).
fn decode_word(word: &[u8]) -> Option<String> {
    let inner = word.strip_prefix(b"=?")?.strip_suffix(b"?=")?;
    let mut it = inner.splitn(3, |&b| b == b'?');
    let charset = it.next()?;
    let enc = it.next()?;
    let text = it.next()?;
    if charset.is_empty() || text.contains(&b'?') && !enc.eq_ignore_ascii_case(b"q") {
        return None;
    }
    let bytes = match enc {
        b"B" | b"b" => decode_base64(text),
        b"Q" | b"q" => {
            let under: Vec<u8> = text.iter().map(|&b| if b == b'_' { b' ' } else { b }).collect();
            decode_qp(&under)
        }
        _ => return None,
    };
    Some(charset_to_utf8(charset, &bytes))
}

/// Finds the end of an encoded word starting at `s[0..]` == "=?".
fn encoded_word_len(s: &[u8]) -> Option<usize> {
    // =?charset?X?text?=  — find the third '?' then "?=".
    let mut q = 0;
    let mut i = 2;
    while i < s.len() && q < 2 {
        match s[i] {
            b'?' => q += 1,
            b' ' | b'\t' | b'\r' | b'\n' => return None,
            _ => {}
        }
        i += 1;
    }
    if q < 2 {
        return None;
    }
    while i + 1 < s.len() {
        match s[i] {
            b'?' if s[i + 1] == b'=' => return Some(i + 2),
            b' ' | b'\t' | b'\r' | b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// Decodes a header value for display or search (RFC 2047): unfolds it,
/// decodes encoded words (blanks between two adjacent encoded words are
/// dropped, §6.2), and reads the remaining raw bytes as UTF-8 (lossy).
pub fn decode_header_value(raw: &[u8]) -> String {
    let v = super::header::unfold(raw);
    let mut out = String::with_capacity(v.len());
    let mut i = 0;
    let mut plain_start = 0;
    let mut last_was_word = false;
    while i < v.len() {
        if v[i] == b'=' && v.get(i + 1) == Some(&b'?') {
            if let Some(len) = encoded_word_len(&v[i..]) {
                if let Some(text) = decode_word(&v[i..i + len]) {
                    let between = &v[plain_start..i];
                    let only_blanks = between.iter().all(|&b| b == b' ' || b == b'\t');
                    if !(last_was_word && only_blanks) {
                        out.push_str(&String::from_utf8_lossy(between));
                    }
                    out.push_str(&text);
                    i += len;
                    plain_start = i;
                    last_was_word = true;
                    continue;
                }
            }
        }
        if !matches!(v[i], b' ' | b'\t') {
            last_was_word = false;
        }
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&v[plain_start..]));
    out
}

/// Decodes an RFC 2231 extended value `charset'lang'%XX...` to UTF-8.
/// Without the two quotes the value is only percent-decoded.
pub fn decode_rfc2231_value(v: &[u8]) -> String {
    let (charset, data): (&[u8], &[u8]) = {
        let mut parts = v.splitn(3, |&b| b == b'\'');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(cs), Some(_lang), Some(rest)) => (cs, rest),
            _ => (b"utf-8", v),
        }
    };
    let mut bytes = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'%' {
            if let (Some(h), Some(l)) = (data.get(i + 1).and_then(|&c| hex(c)), data.get(i + 2).and_then(|&c| hex(c))) {
                bytes.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        bytes.push(data[i]);
        i += 1;
    }
    charset_to_utf8(charset, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qp_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"plain", b"plain"),
            (b"a=3Db", b"a=b"),
            (b"caf=C3=A9", "café".as_bytes()),
            (b"soft=\r\nbreak", b"softbreak"),
            (b"soft=\nbreak", b"softbreak"),
            (b"pad= \r\nx", b"padx"),
            (b"bad=ZZ", b"bad=ZZ"),
            (b"end=", b"end="),
            (b"lower=c3=a9", "loweré".as_bytes()),
        ];
        for (src, want) in cases {
            assert_eq!(decode_qp(src), want.to_vec(), "{:?}", String::from_utf8_lossy(src));
        }
    }

    #[test]
    fn base64_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"aGVsbG8=", b"hello"),
            (b"aGVs\r\nbG8gd29y\r\nbGQ=", b"hello world"),
            (b"aGVsbA==", b"hell"),
            (b"aGVsbG8", b"hello"),
            (b"!!aG!Vs*bG8=junk", b"hello"),
        ];
        for (src, want) in cases {
            assert_eq!(decode_base64(src), want.to_vec(), "{:?}", String::from_utf8_lossy(src));
        }
    }

    #[test]
    fn charsets() {
        assert_eq!(charset_to_utf8(b"ISO-8859-1", b"caf\xe9"), "café");
        assert_eq!(charset_to_utf8(b"iso-8859-15", b"\xa4"), "€");
        assert_eq!(charset_to_utf8(b"windows-1252", b"\x93q\x94"), "\u{201C}q\u{201D}");
        assert_eq!(charset_to_utf8(b"us-ascii", b"abc"), "abc");
        assert_eq!(charset_to_utf8(b"x-unknown", b"a\xffb"), "a\u{FFFD}b");
    }

    #[test]
    fn encoded_words_table() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain text", "plain text"),
            (b"=?utf-8?B?Y2Fmw6k=?=", "café"),
            (b"=?ISO-8859-1?Q?caf=E9_au_lait?=", "café au lait"),
            (b"=?iso-8859-1?q?a?= =?iso-8859-1?q?b?=", "ab"),
            (b"=?iso-8859-1?q?a?=\r\n =?iso-8859-1?q?b?=", "ab"),
            (b"x =?utf-8?q?y?= z", "x y z"),
            (b"=?utf-8*en?q?hi?=", "hi"),
            (b"=?broken", "=?broken"),
            (b"=?utf-8?x?abc?=", "=?utf-8?x?abc?="),
            (b"=?windows-1252?Q?=80?=", "€"),
        ];
        for (src, want) in cases {
            assert_eq!(decode_header_value(src), *want, "{:?}", String::from_utf8_lossy(src));
        }
    }

    #[test]
    fn rfc2231_values() {
        assert_eq!(decode_rfc2231_value(b"iso-8859-1'en'caf%E9.txt"), "café.txt");
        assert_eq!(decode_rfc2231_value(b"utf-8''%E2%82%AC"), "€");
        assert_eq!(decode_rfc2231_value(b"no%20quotes"), "no quotes");
    }

    /// The byte-at-a-time decoders the fast paths replaced, kept as oracles.
    fn qp_by_bytes(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < src.len() {
            if src[i] != b'=' {
                out.push(src[i]);
                i += 1;
                continue;
            }
            let rest = &src[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
            } else if rest.starts_with(b"\n") {
                i += 2;
            } else if let (Some(h), Some(l)) = (rest.first().and_then(|&c| hex(c)), rest.get(1).and_then(|&c| hex(c))) {
                out.push(h << 4 | l);
                i += 3;
            } else {
                let blanks = rest.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
                let after = &rest[blanks..];
                if blanks > 0 && (after.starts_with(b"\r\n") || after.starts_with(b"\n")) {
                    i += 1 + blanks + if after[0] == b'\r' { 2 } else { 1 };
                } else {
                    out.push(b'=');
                    i += 1;
                }
            }
        }
        out
    }

    fn base64_by_bytes(src: &[u8]) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        };
        let (mut out, mut acc, mut n) = (Vec::new(), 0u32, 0);
        for &c in src {
            if c == b'=' {
                break;
            }
            let Some(v) = value(c) else { continue };
            acc = acc << 6 | v;
            n += 1;
            if n == 4 {
                out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                acc = 0;
                n = 0;
            }
        }
        match n {
            2 => out.push((acc >> 4) as u8),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            _ => {}
        }
        out
    }

    /// Random texts built from pieces that hit every branch.
    fn samples(pieces: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut seed = 11u32;
        (0..500)
            .map(|k| {
                let mut v = Vec::new();
                for _ in 0..(k % 37) {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    v.extend_from_slice(pieces[(seed >> 16) as usize % pieces.len()]);
                }
                v
            })
            .collect()
    }

    #[test]
    fn qp_fast_path_matches_bytes_whole_and_in_lines() {
        let pieces: &[&[u8]] = &[b"plain text", b"=3D", b"=C3=9F", b"=\r\n", b"=\n", b"= \t\n", b"=", b"=G1", b"=a", b"\r\n", b"\n", b" "];
        for src in samples(pieces) {
            let want = qp_by_bytes(&src);
            assert_eq!(decode_qp(&src), want, "{:?}", String::from_utf8_lossy(&src));
            // Line by line (a soft break stays within its line) gives the same.
            let mut chunked = Vec::new();
            for line in src.split_inclusive(|&c| c == b'\n') {
                decode_qp_into(line, &mut chunked);
            }
            assert_eq!(chunked, want, "in lines {:?}", String::from_utf8_lossy(&src));
        }
    }

    #[test]
    fn base64_fast_path_matches_bytes_whole_and_in_groups() {
        let pieces: &[&[u8]] = &[b"QUJD", b"SGVsbG8h", b"\r\n", b"\n", b" ", b"*", b"Zm9v", b"YQ", b"+/+/", b"=", b"0123"];
        for src in samples(pieces) {
            let want = base64_by_bytes(&src);
            assert_eq!(decode_base64(&src), want, "{:?}", String::from_utf8_lossy(&src));
        }
        // Fed in lines of whole groups, as a body is, the parts concatenate.
        let body = b"SGVsbG8sIHdvcmxk\r\nIQ==\r\n";
        let mut chunked = Vec::new();
        for line in body.split_inclusive(|&c| c == b'\n') {
            decode_base64_into(line, &mut chunked);
        }
        assert_eq!(chunked, b"Hello, world!");
        assert_eq!(decode_base64(b"S\nGVs bG8="), b"Hello");
    }
}
