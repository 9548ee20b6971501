//! SORT and UID SORT (RFC 5256 §3): order the messages a search selects by
//! ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, each optionally REVERSE,
//! and render `* SORT n...` (§4).
//!
//! ```text
//! sort = ["UID" SP] "SORT" SP sort-criteria SP search-charset 1*(SP search-key)
//! sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
//! sort-criterion = ["REVERSE" SP] sort-key
//! ```
//!
//! Keys follow §3: FROM/TO/CC compare the `addr-mailbox` of the first
//! address (empty when there is none), SUBJECT the base subject (§2.1),
//! DATE the Date: header as UTC with the internal date as fallback (§2.2),
//! text with `i;ascii-casemap`. Messages equal on every key keep sequence
//! order (a stable sort over ascending indexes); REVERSE applies to its
//! own key only. The header is read once per selected message, and only
//! when a key needs it (ARRIVAL and SIZE are metadata).

use std::cmp::Ordering;

use super::search::{Query, SearchError};
use crate::imap::view::MailView;
use crate::imap::wire::command::{SearchKey, SortCriterion, SortKey};
use crate::imap::wire::Response;
use crate::message::address::parse_address_list;
use crate::message::date::parse_rfc5322;
use crate::message::header;
use crate::message::subject::base_subject;

/// One key's value for one message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Int(i64),
    /// Already mapped with i;ascii-casemap (upper-cased).
    Text(Vec<u8>),
}

/// `addr-mailbox` of the first address of field `name`, upper-cased; for
/// a group that is the group name (its start marker's mailbox), as in
/// Dovecot.
pub(crate) fn first_mailbox(hdr: &[u8], name: &str) -> Vec<u8> {
    let Some(raw) = header::find(hdr, name) else { return Vec::new() };
    parse_address_list(&header::unfold(raw))
        .into_iter()
        .find(|a| a.mailbox.is_some())
        .and_then(|a| a.mailbox)
        .map(|m| m.to_ascii_uppercase())
        .unwrap_or_default()
}

/// Sent date (§2.2): the Date: header in UTC, else the internal date.
pub(crate) fn sent_date<V: MailView + ?Sized>(view: &V, i: usize, hdr: &[u8]) -> i64 {
    header::find(hdr, "Date")
        .and_then(parse_rfc5322)
        .map_or_else(|| view.internal_date(i).0, |d| d.timestamp())
}

/// Base subject (§2.1) mapped for comparison.
pub(crate) fn sort_subject(hdr: &[u8]) -> Vec<u8> {
    header::find(hdr, "Subject").map(|s| base_subject(s).0.into_bytes().to_ascii_uppercase()).unwrap_or_default()
}

fn value<V: MailView + ?Sized>(view: &V, i: usize, hdr: &[u8], key: SortKey) -> Value {
    match key {
        SortKey::Arrival => Value::Int(view.internal_date(i).0),
        SortKey::Size => Value::Int(i64::try_from(view.size(i)).unwrap_or(i64::MAX)),
        SortKey::Date => Value::Int(sent_date(view, i, hdr)),
        SortKey::From => Value::Text(first_mailbox(hdr, "From")),
        SortKey::To => Value::Text(first_mailbox(hdr, "To")),
        SortKey::Cc => Value::Text(first_mailbox(hdr, "Cc")),
        SortKey::Subject => Value::Text(sort_subject(hdr)),
    }
}

/// Runs the search, then sorts the hits: indexes in SORT order.
pub fn sort<V: MailView + ?Sized>(
    view: &mut V,
    criteria: &[SortCriterion],
    charset: &str,
    search: &SearchKey,
    now: i64,
) -> Result<Vec<usize>, SearchError> {
    let mut query = Query::new(view, search, Some(charset), now)?;
    let needs_header = criteria.iter().any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size));
    let mut rows: Vec<(usize, Vec<Value>)> = Vec::new();
    for i in 0..view.count() {
        if !query.matches(view, i)? {
            continue;
        }
        let hdr: &[u8] = if needs_header { query.header(view, i)? } else { b"" };
        let values = criteria.iter().map(|c| value(&*view, i, hdr, c.key)).collect();
        rows.push((i, values));
    }
    // Stable: equal rows keep ascending sequence order (§3).
    rows.sort_by(|(_, a), (_, b)| {
        for (c, (x, y)) in criteria.iter().zip(a.iter().zip(b)) {
            let o = x.cmp(y);
            let o = if c.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(rows.into_iter().map(|(i, _)| i).collect())
}

/// `* SORT n...` (RFC 5256 §4) with sequence numbers or UIDs.
///
/// ```text
/// sort-data = "SORT" *(SP nz-number)
/// ```
pub fn render_sort<V: MailView + ?Sized>(view: &V, order: &[usize], uid: bool, out: &mut Vec<u8>) {
    let mut r = Response::new();
    r.begin().atom("SORT");
    for &i in order {
        r.number(if uid { view.uid(i) } else { u32::try_from(i + 1).unwrap_or(u32::MAX) });
    }
    r.end();
    out.extend_from_slice(r.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::view::mem::MemView;

    fn mailbox() -> MemView {
        let msgs: [&[u8]; 5] = [
            b"From: Zed <zed@example.org>\nTo: amy@example.org\nSubject: Re: Budget\nDate: Tue, 17 Nov 2026 10:00:00 +0000\n\nx\n",
            b"From: adam@example.org\nTo: Bob <bob@example.org>\nCc: carl@example.org\nSubject: budget\nDate: Tue, 17 Nov 2026 12:00:00 +0200\n\nlonger body here\n",
            b"From: \"Group\": mike@example.org;\nTo: amy@example.org\nSubject: [list] Fwd: Agenda\n\nyy\n",
            b"From: Bea <BEA@example.org>\nCc: Ann <ann@example.org>\nSubject: agenda (fwd)\nDate: Mon, 16 Nov 2026 08:00:00 -0500\n\nzz\n",
            b"From: adam@example.org\nSubject: Budget\nDate: Tue, 17 Nov 2026 10:00:00 +0000\n\nx\n",
        ];
        let mut v = MemView::new(&msgs);
        // Arrival order differs from sequence order for 2 and 3.
        v.messages[1].internal_date.0 += 4 * 86_400;
        for (m, uid) in v.messages.iter_mut().zip([3, 5, 8, 9, 12]) {
            m.uid = uid;
        }
        v
    }

    fn crit(spec: &[(bool, SortKey)]) -> Vec<SortCriterion> {
        spec.iter().map(|&(reverse, key)| SortCriterion { reverse, key }).collect()
    }

    #[test]
    fn group_sorts_by_its_name() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"Cc: user2: blah@domain1.org;\n\n", b"USER2"),
            (b"Cc: Foo <a@b>, c@d\n\n", b"A"),
            (b"Cc: empty:;, z@y\n\n", b"EMPTY"),
            (b"To: x@y\n\n", b""),
        ];
        for (hdr, want) in cases {
            assert_eq!(first_mailbox(hdr, "Cc"), want.to_vec());
        }
    }

    #[test]
    fn keys_table() {
        use SortKey::*;
        // Sent dates (UTC): 1 = 17 Nov 10:00, 2 = 17 Nov 10:00, 3 = none
        // (internal 22 Nov 12:00), 4 = 16 Nov 13:00, 5 = 17 Nov 10:00.
        // Internal: 20, 25, 22, 23, 24 Nov. Sizes: 115, 149, 90, 124, 85.
        let table: Vec<(Vec<SortCriterion>, Vec<u32>)> = vec![
            (crit(&[(false, Arrival)]), vec![1, 3, 4, 5, 2]),
            (crit(&[(true, Arrival)]), vec![2, 5, 4, 3, 1]),
            (crit(&[(false, Date)]), vec![4, 1, 2, 5, 3]),
            (crit(&[(true, Date)]), vec![3, 1, 2, 5, 4]),
            (crit(&[(false, From)]), vec![2, 5, 4, 3, 1]),
            (crit(&[(false, To)]), vec![4, 5, 1, 3, 2]),
            (crit(&[(false, Cc)]), vec![1, 3, 5, 4, 2]),
            (crit(&[(false, Subject)]), vec![3, 4, 1, 2, 5]),
            (crit(&[(false, Subject), (true, Date)]), vec![3, 4, 1, 2, 5]),
            (crit(&[(false, Subject), (true, Arrival)]), vec![4, 3, 2, 5, 1]),
            (crit(&[(false, Size)]), vec![5, 3, 1, 4, 2]),
            (crit(&[(true, Size), (false, Subject)]), vec![2, 4, 1, 3, 5]),
            (crit(&[(false, From), (false, Date)]), vec![2, 5, 4, 3, 1]),
        ];
        for (criteria, want) in table {
            let mut v = mailbox();
            let got = sort(&mut v, &criteria, "UTF-8", &SearchKey::All, 0).expect("sort");
            let got: Vec<u32> = got.iter().map(|&i| i as u32 + 1).collect();
            assert_eq!(got, want, "{criteria:?}");
        }
    }

    #[test]
    fn search_restricts_and_uid_rendering() {
        let mut v = mailbox();
        let key = SearchKey::Subject(b"budget".to_vec());
        let order = sort(&mut v, &crit(&[(true, SortKey::Date)]), "US-ASCII", &key, 0).expect("sort");
        let mut out = Vec::new();
        render_sort(&v, &order, false, &mut out);
        render_sort(&v, &order, true, &mut out);
        render_sort(&v, &[], true, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "* SORT 1 2 5\r\n* SORT 3 5 12\r\n* SORT\r\n");
        assert!(matches!(sort(&mut v, &crit(&[(false, SortKey::Size)]), "BIG5", &key, 0), Err(SearchError::BadCharset)));
        // Metadata keys with a metadata search read nothing.
        let mut v = mailbox();
        sort(&mut v, &crit(&[(false, SortKey::Size), (true, SortKey::Arrival)]), "UTF-8", &SearchKey::All, 0).expect("sort");
        assert_eq!((v.header_reads, v.message_reads), (0, 0));
    }
}
