//! Base subject extraction for SORT SUBJECT and THREAD (RFC 5256 §2.1):
//! decode encoded words, collapse blanks, strip `(fwd)` trailers, `Re:`,
//! `Fw:`, `Fwd:` leaders with optional `[blob]`s, and `[Fwd: ...]` wrappers.
//! The result keeps its case; compare with `search::fold` applied.

use super::decode::decode_header_value;

/// Steps 1–6 of RFC 5256 §2.1. `is_reply` in the result tells whether
/// anything reply/forward-like was removed (needed by THREAD=ORDEREDSUBJECT).
pub fn base_subject(raw: &[u8]) -> (String, bool) {
    // (1) decode and collapse runs of blanks to one space.
    let decoded = decode_header_value(raw);
    let mut s = String::with_capacity(decoded.len());
    for w in decoded.split([' ', '\t', '\r', '\n']).filter(|w| !w.is_empty()) {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(w);
    }
    let mut is_reply = false;
    loop {
        // (2) trailers: "(fwd)" and blanks at the end.
        loop {
            let t = s.trim_end();
            let lower = t.to_ascii_lowercase();
            if lower.ends_with("(fwd)") {
                s.truncate(t.len() - 5);
                is_reply = true;
            } else {
                s.truncate(t.len());
                break;
            }
        }
        // (3)-(5) leaders and blobs, repeated until nothing changes.
        loop {
            let before = s.len();
            if let Some(rest) = strip_refwd(&s) {
                s = rest;
                is_reply = true;
            }
            if let Some(rest) = strip_blob(&s) {
                if !rest.is_empty() {
                    s = rest;
                }
            }
            if s.len() == before {
                break;
            }
        }
        // (6) "[fwd:" subj "]" wrapper.
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("[fwd:") && s.ends_with(']') && s.len() >= 6 {
            s = s[5..s.len() - 1].trim().to_string();
            is_reply = true;
            continue;
        }
        break;
    }
    (s, is_reply)
}

/// `*WSP subj-blob`: a leading `[...]` (no brackets inside) and blanks.
fn strip_blob(s: &str) -> Option<String> {
    let t = s.trim_start();
    let inner = t.strip_prefix('[')?;
    let close = inner.find([']', '['])?;
    if inner.as_bytes()[close] != b']' {
        return None;
    }
    Some(inner[close + 1..].trim_start().to_string())
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"` after
/// leading blanks and blobs.
fn strip_refwd(s: &str) -> Option<String> {
    let mut t = s.trim_start().to_string();
    while let Some(rest) = strip_blob(&t) {
        t = rest;
    }
    let lower = t.to_ascii_lowercase();
    let n = if lower.starts_with("fwd") {
        3
    } else if lower.starts_with("fw") || lower.starts_with("re") {
        2
    } else {
        return None;
    };
    let mut rest = t[n..].trim_start().to_string();
    if let Some(r) = strip_blob(&rest) {
        rest = r;
    }
    rest.strip_prefix(':').map(|r| r.trim_start().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subject_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("Hello", "Hello", false),
            ("Re: Hello", "Hello", true),
            ("RE: re: Fwd: Hello", "Hello", true),
            ("Re[2]: Hello", "Hello", true),
            ("[list] Re: Hello", "Hello", true),
            ("Hello (fwd)", "Hello", true),
            ("[Fwd: Re: Hello]", "Hello", true),
            ("  lots   of\t blanks  ", "lots of blanks", false),
            ("[only blob]", "[only blob]", false),
            ("Re:", "", true),
            ("=?utf-8?q?Re=3A_caf=C3=A9?=", "café", true),
            ("Reply without colon", "Reply without colon", false),
            ("", "", false),
        ];
        for (raw, want, reply) in cases {
            assert_eq!(base_subject(raw.as_bytes()), (want.to_string(), *reply), "{raw:?}");
        }
    }
}
