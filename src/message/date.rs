//! Dates: RFC 5322 §3.3 date-time (with the §4.3 obsolete zones and
//! two-digit years) for SENTBEFORE/SENTON/SENTSINCE and SORT DATE; IMAP
//! `date-time` (INTERNALDATE, RFC 3501 §9) formatting and parsing; IMAP
//! `date` (SEARCH BEFORE/ON/SINCE); and the ctime(3) date of an mbox
//! `From ` line. Pure arithmetic, no time zone database, no clock.

/// A moment with the zone offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i32,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Minutes east of UTC.
    pub offset_minutes: i32,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

impl DateTime {
    /// Seconds since the Unix epoch (UTC).
    pub fn timestamp(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86400
            + (self.hour * 3600 + self.minute * 60 + self.second) as i64
            - self.offset_minutes as i64 * 60
    }

    /// The moment `ts` seen in zone `offset_minutes`.
    pub fn from_timestamp(ts: i64, offset_minutes: i32) -> DateTime {
        let local = ts + offset_minutes as i64 * 60;
        let (year, month, day) = civil_from_days(local.div_euclid(86400));
        let secs = local.rem_euclid(86400) as u32;
        DateTime { year, month, day, hour: secs / 3600, minute: secs / 60 % 60, second: secs % 60, offset_minutes }
    }

    /// Days since the epoch of the calendar date as written (zone and time
    /// ignored), which SENTON/SENTBEFORE compare (RFC 3501 §6.4.4).
    pub fn day_number(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// IMAP `date-time`: `"dd-Mon-yyyy hh:mm:ss +zzzz"` without the quotes,
    /// day zero-padded as Dovecot writes it.
    pub fn to_imap(&self) -> String {
        let off = self.offset_minutes;
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.unsigned_abs();
        format!(
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            self.day,
            MONTHS[(self.month.clamp(1, 12) - 1) as usize],
            self.year,
            self.hour,
            self.minute,
            self.second,
            sign,
            off / 60,
            off % 60
        )
    }
}

fn month_from(s: &[u8]) -> Option<u32> {
    MONTHS.iter().position(|m| m.as_bytes().eq_ignore_ascii_case(s)).map(|i| i as u32 + 1)
        .or_else(|| {
            // Full month names ("January") appear in the wild.
            if s.len() > 3 { month_from(&s[..3]) } else { None }
        })
}

fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &d| acc.checked_mul(10)?.checked_add((d - b'0') as u32))
}

fn valid(dt: &DateTime) -> bool {
    (1..=12).contains(&dt.month)
        && (1..=31).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second <= 60
        && (0..=9999).contains(&dt.year)
}

fn zone(s: &[u8]) -> i32 {
    if let [sign @ (b'+' | b'-'), digits @ ..] = s {
        if digits.len() == 4 {
            if let Some(n) = number(digits) {
                let m = (n / 100 * 60 + n % 100) as i32;
                return if *sign == b'-' { -m } else { m };
            }
        }
        return 0;
    }
    let up = s.to_ascii_uppercase();
    match &up[..] {
        b"EDT" => -4 * 60,
        b"EST" | b"CDT" => -5 * 60,
        b"CST" | b"MDT" => -6 * 60,
        b"MST" | b"PDT" => -7 * 60,
        b"PST" => -8 * 60,
        // UT, GMT, Z, military zones and unknown names: RFC 5322 §4.3 says
        // treat as +0000.
        _ => 0,
    }
}

/// Parses an RFC 5322 date-time (Date: header value). Tolerates a missing
/// day name, comments, missing seconds, two/three-digit years, obsolete
/// zones, and a `.` or `-` between fields. `None` if no date is there.
pub fn parse_rfc5322(value: &[u8]) -> Option<DateTime> {
    // Drop comments, then split on blanks and commas.
    let mut clean = Vec::with_capacity(value.len());
    let mut depth = 0usize;
    for &b in value {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            b',' | b'\r' | b'\n' | b'\t' => clean.push(b' '),
            _ => clean.push(b),
        }
    }
    let mut toks: Vec<&[u8]> = clean.split(|&b| b == b' ').filter(|t| !t.is_empty()).collect();
    if toks.first().is_some_and(|t| t.first().is_some_and(u8::is_ascii_alphabetic) && month_from(t).is_none()) {
        toks.remove(0);
    }
    // "23-Nov-2026" as one token
    if toks.first().is_some_and(|t| t.contains(&b'-')) {
        let first: Vec<&[u8]> = toks[0].split(|&b| b == b'-').collect();
        if first.len() == 3 {
            let mut v = first;
            v.extend_from_slice(&toks[1..]);
            toks = v;
        }
    }
    if toks.len() < 3 {
        return None;
    }
    let (day, month) = match (number(toks[0]), month_from(toks[1])) {
        (Some(d), Some(m)) => (d, m),
        // "Nov 23 2026" (asctime-like)
        _ => (number(toks[1])?, month_from(toks[0])?),
    };
    let mut year = number(toks[2])? as i32;
    match toks[2].len() {
        1 | 2 => year += if year < 50 { 2000 } else { 1900 },
        3 => year += 1900,
        _ => {}
    }
    let mut dt = DateTime { year, month, day, hour: 0, minute: 0, second: 0, offset_minutes: 0 };
    if let Some(t) = toks.get(3) {
        let parts: Vec<&[u8]> = t.split(|&b| b == b':' || b == b'.').collect();
        if parts.len() >= 2 {
            dt.hour = number(parts[0])?;
            dt.minute = number(parts[1])?;
            dt.second = parts.get(2).and_then(|s| number(s)).unwrap_or(0);
            if let Some(z) = toks.get(4) {
                dt.offset_minutes = zone(z);
            }
        }
    }
    valid(&dt).then_some(dt)
}

/// Parses IMAP `date-time` (`dd-Mon-yyyy hh:mm:ss +zzzz`, day may be
/// space-padded or one digit; surrounding quotes allowed) as APPEND sends it.
pub fn parse_imap_datetime(s: &[u8]) -> Option<DateTime> {
    let s = s.strip_prefix(b"\"").unwrap_or(s);
    let s = s.strip_suffix(b"\"").unwrap_or(s);
    let s = super::header::trim(s);
    let mut parts = s.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let (date, time, z) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !matches!(z.first(), Some(b'+' | b'-')) || z.len() != 5 {
        return None;
    }
    let (year, month, day) = parse_date_parts(date)?;
    let t: Vec<&[u8]> = time.split(|&b| b == b':').collect();
    if t.len() != 3 || t.iter().any(|p| p.len() != 2) {
        return None;
    }
    let dt = DateTime {
        year,
        month,
        day,
        hour: number(t[0])?,
        minute: number(t[1])?,
        second: number(t[2])?,
        offset_minutes: zone(z),
    };
    valid(&dt).then_some(dt)
}

fn parse_date_parts(s: &[u8]) -> Option<(i32, u32, u32)> {
    let d: Vec<&[u8]> = s.split(|&b| b == b'-').collect();
    if d.len() != 3 || d[0].is_empty() || d[0].len() > 2 || d[2].len() != 4 || d[1].len() != 3 {
        return None;
    }
    let day = number(d[0])?;
    let month = month_from(d[1])?;
    let year = number(d[2])? as i32;
    ((1..=31).contains(&day)).then_some((year, month, day))
}

/// Parses IMAP `date` (`d-Mon-yyyy`, optionally quoted) for SEARCH
/// BEFORE/ON/SINCE/SENT*; returns days since the epoch.
pub fn parse_imap_date(s: &[u8]) -> Option<i64> {
    let s = s.strip_prefix(b"\"").unwrap_or(s);
    let s = s.strip_suffix(b"\"").unwrap_or(s);
    let (y, m, d) = parse_date_parts(s)?;
    Some(days_from_civil(y, m, d))
}

/// Parses the ctime(3) date of an mbox `From ` line, e.g.
/// `Mon Nov 23 11:18:25 2026` (also with seconds missing, a zone name or
/// numeric zone before or after the year, as UW accepts). Returns UTC
/// seconds and the zone offset (0 when none is written).
pub fn parse_ctime(s: &[u8]) -> Option<DateTime> {
    let toks: Vec<&[u8]> = s.split(|&b| b == b' ' || b == b'\t').filter(|t| !t.is_empty()).collect();
    if toks.len() < 4 {
        return None;
    }
    let month = month_from(toks[1])?;
    let day = number(toks[2])?;
    let t: Vec<&[u8]> = toks[3].split(|&b| b == b':').collect();
    if t.len() < 2 {
        return None;
    }
    let mut offset = 0;
    let mut year = None;
    for tok in &toks[4..] {
        if let Some(y) = number(tok).filter(|_| tok.len() == 4) {
            year = Some(y as i32);
        } else {
            offset = zone(tok);
        }
    }
    let dt = DateTime {
        year: year?,
        month,
        day,
        hour: number(t[0])?,
        minute: number(t[1])?,
        second: t.get(2).and_then(|x| number(x)).unwrap_or(0),
        offset_minutes: offset,
    };
    valid(&dt).then_some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, off: i32) -> DateTime {
        DateTime { year: y, month: mo, day: d, hour: h, minute: mi, second: s, offset_minutes: off }
    }

    #[test]
    fn rfc5322_table() {
        let cases: &[(&str, Option<DateTime>)] = &[
            ("Mon, 23 Nov 2026 11:18:25 +0100", Some(dt(2026, 11, 23, 11, 18, 25, 60))),
            ("23 Nov 2026 11:18 -0730", Some(dt(2026, 11, 23, 11, 18, 0, -450))),
            ("Fri, 21 Nov 1997 09:55:06 -0600", Some(dt(1997, 11, 21, 9, 55, 6, -360))),
            ("Thu, 13 Feb 69 23:32:54 -0330 (Newfoundland Time)", Some(dt(1969, 2, 13, 23, 32, 54, -210))),
            ("1 Jan 05 00:00:00 GMT", Some(dt(2005, 1, 1, 0, 0, 0, 0))),
            ("Tue, 1 Jul 2003 10:52:37 PDT", Some(dt(2003, 7, 1, 10, 52, 37, -420))),
            ("Tue,\r\n 1 Jul 2003\r\n 10:52:37 +0200", Some(dt(2003, 7, 1, 10, 52, 37, 120))),
            ("Wed, 2 January 2019 01:02:03 +0000", Some(dt(2019, 1, 2, 1, 2, 3, 0))),
            ("23-Nov-2026 10:00:00 +0000", Some(dt(2026, 11, 23, 10, 0, 0, 0))),
            ("garbage", None),
            ("", None),
            ("32 Jan 2020 00:00:00 +0000", None),
            ("Mon, 23 Foo 2026", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_rfc5322(s.as_bytes()), *want, "{s:?}");
        }
    }

    #[test]
    fn timestamp_roundtrip() {
        let d = dt(2026, 11, 23, 11, 18, 25, 60);
        assert_eq!(d.timestamp(), 1795432705 - 3600);
        assert_eq!(DateTime::from_timestamp(d.timestamp(), 60), d);
        assert_eq!(DateTime::from_timestamp(0, 0), dt(1970, 1, 1, 0, 0, 0, 0));
        assert_eq!(DateTime::from_timestamp(-1, 0), dt(1969, 12, 31, 23, 59, 59, 0));
        assert_eq!(DateTime::from_timestamp(951782400, 0), dt(2000, 2, 29, 0, 0, 0, 0));
    }

    #[test]
    fn imap_datetime_table() {
        assert_eq!(dt(2026, 1, 2, 3, 4, 5, -330).to_imap(), "02-Jan-2026 03:04:05 -0530");
        assert_eq!(dt(1999, 12, 31, 23, 59, 59, 0).to_imap(), "31-Dec-1999 23:59:59 +0000");
        let cases: &[(&str, Option<DateTime>)] = &[
            ("\"02-Jan-2026 03:04:05 -0530\"", Some(dt(2026, 1, 2, 3, 4, 5, -330))),
            (" 2-Jan-2026 03:04:05 +0000", Some(dt(2026, 1, 2, 3, 4, 5, 0))),
            ("2-Jan-2026 03:04:05 +0000", Some(dt(2026, 1, 2, 3, 4, 5, 0))),
            ("2-Jan-2026 3:04:05 +0000", None),
            ("2-Jan-2026 03:04:05", None),
            ("2-Foo-2026 03:04:05 +0000", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_imap_datetime(s.as_bytes()), *want, "{s:?}");
        }
        assert_eq!(parse_imap_date(b"1-Feb-1994"), Some(days_from_civil(1994, 2, 1)));
        assert_eq!(parse_imap_date(b"\"01-Feb-1994\""), Some(days_from_civil(1994, 2, 1)));
        assert_eq!(parse_imap_date(b"1-Feb-94"), None);
    }

    #[test]
    fn ctime_table() {
        assert_eq!(parse_ctime(b"Mon Nov 23 11:18:25 2026"), Some(dt(2026, 11, 23, 11, 18, 25, 0)));
        assert_eq!(parse_ctime(b"Mon Nov  3 11:18 2026"), Some(dt(2026, 11, 3, 11, 18, 0, 0)));
        assert_eq!(parse_ctime(b"Mon Nov 23 11:18:25 +0200 2026"), Some(dt(2026, 11, 23, 11, 18, 25, 120)));
        assert_eq!(parse_ctime(b"Mon Nov 23 11:18:25 EST 2026"), Some(dt(2026, 11, 23, 11, 18, 25, -300)));
        assert_eq!(parse_ctime(b"not a date"), None);
    }
}
