//! Trace and origin headers smtpd writes: `Return-Path` (RFC 5321 §4.4),
//! `Received` with the RFC 3848 `with` keywords (ESMTP, ESMTPA, ESMTPS,
//! ESMTPSA) and the TLS version and cipher as a comment, and, in
//! submission mode, the `Message-ID` and `Date` a client left out
//! (RFC 6409 §8.2, §8.3). Also the RFC 5322 §3.3 date format.
//!
//! Client-supplied words (HELO name, user name) are reduced to a safe
//! character set before they go into a header, so they cannot end the
//! header or forge another one.

use crate::io::TlsInfo;
use std::sync::atomic::{AtomicU32, Ordering};

/// Current time as (unix seconds, local zone offset in minutes).
pub fn now() -> (i64, i32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let t = secs as libc::time_t;
    // SAFETY: localtime_r only writes into the tm we own.
    let off = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            (tm.tm_gmtoff / 60) as i32
        }
    };
    (secs, off)
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 5322 §3.3 date-time, e.g. `Mon, 23 Nov 2026 11:30:00 +0100`.
pub fn format_date((secs, off): (i64, i32)) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let local = secs + i64::from(off) * 60;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.unsigned_abs();
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} {}{:02}{:02}",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        sign,
        a / 60,
        a % 60
    )
}

/// Keep only characters that cannot change a header's structure.
pub fn sanitize(s: &str) -> String {
    let v: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-_:[]@+".contains(*c))
        .take(100)
        .collect();
    if v.is_empty() {
        "unknown".into()
    } else {
        v
    }
}

/// What the Received header records.
pub struct Trace<'a> {
    pub helo: &'a str,
    pub esmtp: bool,
    pub peer: Option<std::net::IpAddr>,
    pub hostname: &'a str,
    pub id: &'a str,
    pub tls: Option<&'a TlsInfo>,
    pub auth_user: Option<&'a str>,
    /// Named only when the message has exactly one recipient.
    pub for_rcpt: Option<&'a str>,
    pub date: (i64, i32),
}

/// RFC 3848 `with` protocol.
pub fn protocol(esmtp: bool, tls: bool, auth: bool) -> &'static str {
    match (esmtp, tls, auth) {
        (false, _, _) => "SMTP",
        (true, false, false) => "ESMTP",
        (true, true, false) => "ESMTPS",
        (true, false, true) => "ESMTPA",
        (true, true, true) => "ESMTPSA",
    }
}

/// The Received header (RFC 5321 §4.4), LF line ends, folded.
///
/// ```text
/// Received: from helo ([ip])
///         by host (postern) with ESMTPSA id ID
///         (version=TLSv1.3 cipher=TLS13_AES_256_GCM_SHA384)
///         (authenticated user=alice)
///         for <rcpt>; date
/// ```
pub fn received(t: &Trace<'_>) -> String {
    let ip = t.peer.map(|p| format!("[{p}]")).unwrap_or_else(|| "local".into());
    let mut h = format!(
        "Received: from {} ({})\n\tby {} (postern) with {} id {}",
        sanitize(t.helo),
        ip,
        sanitize(t.hostname),
        protocol(t.esmtp, t.tls.is_some(), t.auth_user.is_some()),
        t.id
    );
    if let Some(tls) = t.tls {
        h.push_str(&format!("\n\t(version={} cipher={})", sanitize(&tls.version), sanitize(&tls.cipher)));
    }
    if let Some(u) = t.auth_user {
        h.push_str(&format!("\n\t(authenticated user={})", sanitize(u)));
    }
    if let Some(r) = t.for_rcpt {
        h.push_str(&format!("\n\tfor <{}>", r.replace(['\r', '\n', '>'], "")));
    }
    h.push_str(&format!(";\n\t{}\n", format_date(t.date)));
    h
}

/// Header section of `msg` (LF line ends): everything before the first
/// empty line, or all of it.
fn header_section(msg: &[u8]) -> &[u8] {
    if msg.starts_with(b"\n") {
        return &msg[..0];
    }
    match memchr::memmem::find(msg, b"\n\n") {
        Some(i) => &msg[..i + 1],
        None => msg,
    }
}

/// Value of the first header field `name` (case-insensitive), unfolded.
pub fn header_value(msg: &[u8], name: &str) -> Option<String> {
    let head = header_section(msg);
    let mut lines = head.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let n = name.len();
        if line.len() > n && line[..n].eq_ignore_ascii_case(name.as_bytes()) && line[n] == b':' {
            let mut v = String::from_utf8_lossy(&line[n + 1..]).trim().to_string();
            while let Some(next) = lines.peek() {
                if next.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                    v.push(' ');
                    v.push_str(String::from_utf8_lossy(next).trim());
                    lines.next();
                } else {
                    break;
                }
            }
            return Some(v);
        }
    }
    None
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A queue id unique within this host: time, pid, per-process counter.
pub fn new_id(secs: i64) -> String {
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}.{:x}.{}", secs, std::process::id(), c)
}

/// A fresh Message-ID (RFC 5322 §3.6.4) from a queue id and some randomness.
pub fn new_message_id(id: &str, hostname: &str) -> String {
    let mut r = [0u8; 6];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut r)).is_ok();
    let rnd: String = if ok {
        r.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0))
    };
    format!("<{}.{}@{}>", id, rnd, sanitize(hostname))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let cases = [
            ((0, 0), "Thu, 1 Jan 1970 00:00:00 +0000"),
            ((1_795_000_000, 60), "Wed, 18 Nov 2026 12:06:40 +0100"),
            ((951_782_400, -330), "Mon, 28 Feb 2000 18:30:00 -0530"),
            ((951_782_400, 0), "Tue, 29 Feb 2000 00:00:00 +0000"),
        ];
        for (t, want) in cases {
            assert_eq!(format_date(t), want);
        }
    }

    #[test]
    fn protocols() {
        assert_eq!(protocol(true, true, true), "ESMTPSA");
        assert_eq!(protocol(true, false, true), "ESMTPA");
        assert_eq!(protocol(true, true, false), "ESMTPS");
        assert_eq!(protocol(false, true, false), "SMTP");
    }

    #[test]
    fn received_header() {
        let tls = TlsInfo { version: "TLSv1.3".into(), cipher: "TLS13_AES_256_GCM_SHA384".into(), client_subject: None };
        let t = Trace {
            helo: "evil\r\nX-Forged: yes",
            esmtp: true,
            peer: Some("192.0.2.7".parse().unwrap()),
            hostname: "mx.example",
            id: "abc",
            tls: Some(&tls),
            auth_user: Some("alice"),
            for_rcpt: Some("bob@mx.example"),
            date: (0, 0),
        };
        assert_eq!(
            received(&t),
            "Received: from evilX-Forged:yes ([192.0.2.7])\n\tby mx.example (postern) with ESMTPSA id abc\n\t(version=TLSv1.3 cipher=TLS13_AES_256_GCM_SHA384)\n\t(authenticated user=alice)\n\tfor <bob@mx.example>;\n\tThu, 1 Jan 1970 00:00:00 +0000\n"
        );
    }

    #[test]
    fn header_lookup() {
        let cases: [(&[u8], &str, Option<&str>); 6] = [
            (b"Subject: a\nMessage-ID: <x@y>\n\nMessage-ID: body\n", "message-id", Some("<x@y>")),
            (b"Subject: a\n\nMessage-ID: <x@y>\n", "message-id", None),
            (b"\nMessage-ID: <x@y>\n", "message-id", None),
            (b"Date: Mon,\n 1 Jan\n\n", "date", Some("Mon, 1 Jan")),
            (b"X-Date: 1\n\n", "date", None),
            (b"Dates: 1\n\n", "date", None),
        ];
        for (msg, name, want) in cases {
            assert_eq!(header_value(msg, name).as_deref(), want, "{}", String::from_utf8_lossy(msg));
        }
    }
}
