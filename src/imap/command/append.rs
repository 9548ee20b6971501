//! APPEND (RFC 3501 §6.3.11) with MULTIAPPEND (RFC 3502: all messages or
//! none) and APPENDUID (RFC 4315 §3). The literal bound (`max_size`) is
//! enforced by the command reader before any message byte is read, so a
//! refused message is answered `NO [TOOBIG]` without being received.

use crate::imap::command::store::split_flags;
use crate::imap::error::{Completion, ImapError, RespCode};
use crate::imap::session::Session;
use crate::imap::wire::{AppendMessage, DateTime, MailboxName};
use crate::store::mbox::NewMessage;

/// `date-time` as unix seconds and zone minutes; `None` when a field is
/// out of range.
pub(crate) fn unix_time(d: &DateTime) -> Option<(i64, i32)> {
    let valid = (1..=12).contains(&d.date.month)
        && (1..=31).contains(&d.date.day)
        && d.hour < 24
        && d.minute < 60
        && d.second < 61
        && (-1440..=1440).contains(&d.zone_minutes);
    if !valid {
        return None;
    }
    let days = crate::message::date::days_from_civil(
        i32::from(d.date.year),
        u32::from(d.date.month),
        u32::from(d.date.day),
    );
    let local =
        days * 86_400 + i64::from(d.hour) * 3600 + i64::from(d.minute) * 60 + i64::from(d.second);
    Some((
        local - i64::from(d.zone_minutes) * 60,
        i32::from(d.zone_minutes),
    ))
}

fn now() -> (i64, i32) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    (t, 0)
}

/// ```text
/// append = "APPEND" SP mailbox 1*append-message
/// append-message = [SP flag-list] [SP date-time] SP literal
/// ```
pub(crate) fn append(
    s: &mut Session<'_>,
    name: MailboxName,
    messages: Vec<AppendMessage>,
) -> Result<Completion, ImapError> {
    let folders = s.folders()?.clone();
    let path = folders.path(&name).map_err(ImapError::dest)?;
    if name.is_inbox() {
        if std::fs::symlink_metadata(&path).is_err() {
            folders.make_parent(&path)?;
        }
    } else if path.is_dir() {
        return Err(ImapError::no_code(
            RespCode::Cannot,
            "Mailbox is not selectable",
        ));
    } else if !folders.is_mailbox(&path) {
        return Err(ImapError::no_code(
            RespCode::TryCreate,
            "Mailbox does not exist",
        ));
    }
    let mut parts = Vec::with_capacity(messages.len());
    for m in &messages {
        if m.data.is_empty() {
            return Err(ImapError::no("Empty message refused"));
        }
        let (flags, keywords) = split_flags(&m.flags)?;
        let date = match &m.date {
            Some(d) => unix_time(d).ok_or_else(|| ImapError::bad("Invalid date-time"))?,
            None => now(),
        };
        parts.push((flags, keywords, date));
    }
    let sender = s.envelope_sender();
    let msgs: Vec<NewMessage<'_>> = messages
        .iter()
        .zip(&parts)
        .map(|(m, (flags, keywords, date))| NewMessage {
            data: &m.data,
            from: &sender,
            date: *date,
            flags: *flags,
            keywords,
        })
        .collect();
    let (uidvalidity, uids) = crate::store::mbox::append(&path, &msgs).map_err(ImapError::dest)?;
    s.counts.appended += msgs.len() as u64;
    Ok(Completion::with(
        RespCode::AppendUid { uidvalidity, uids },
        "APPEND completed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::wire::Date;

    #[test]
    fn date_times() {
        let dt = |y, mo, d, h, mi, s, z| DateTime {
            date: Date {
                year: y,
                month: mo,
                day: d,
            },
            hour: h,
            minute: mi,
            second: s,
            zone_minutes: z,
        };
        let table = [
            (dt(1970, 1, 1, 0, 0, 0, 0), Some((0, 0))),
            (dt(2026, 11, 23, 12, 0, 0, 60), Some((1_795_431_600, 60))),
            (dt(1996, 7, 17, 2, 44, 25, -420), Some((837_596_665, -420))),
            (dt(2026, 13, 1, 0, 0, 0, 0), None),
            (dt(2026, 1, 1, 24, 0, 0, 0), None),
        ];
        for (d, want) in table {
            assert_eq!(unix_time(&d), want, "{d:?}");
        }
    }
}
