//! Sequence sets (RFC 3501 §9 `sequence-set`, RFC 5182 `$`): parsing,
//! resolving against a mailbox, lazy iteration and compact rendering.
//!
//! A set such as `1:4294967295` is never expanded into memory: it is kept as
//! sorted, merged inclusive ranges, iterated lazily, and matched against a
//! UID list with binary search. Rendering folds consecutive numbers into
//! `a:b` runs, as UIDPLUS (RFC 4315 §3) and ESEARCH (RFC 4731 §3.1) want.
//! Whether a sequence number past the end is an error is the caller's choice:
//! [`SequenceSet::resolve_seq`] reports it, [`SequenceSet::resolve_uid`] clips.

use std::fmt;

/// Most ranges one set may hold; bounds memory on hostile input (a 1 MiB
/// command holds at most ~500k ranges; real clients send a few thousand).
pub const MAX_RANGES: usize = 100_000;

/// One end of a range: a number, or `*` (the largest number in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqNum {
    /// A non-zero number.
    Num(u32),
    /// `*`: the last message / the largest UID.
    Star,
}

/// `a:b` or a single number (then `start == end`), as the client wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    pub start: SeqNum,
    pub end: SeqNum,
}

/// A parsed sequence set.
///
/// ```text
/// sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
/// seq-range    = seq-number ":" seq-number
/// seq-number   = nz-number / "*"
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequenceSet {
    /// Explicit ranges, in the client's order (never empty).
    Ranges(Vec<SeqRange>),
    /// `$`: the result saved by a previous `SEARCH RETURN (SAVE)` (RFC 5182).
    Saved,
}

/// Why a sequence set was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceError {
    /// Not `sequence-set` syntax (empty part, zero, stray character).
    Syntax,
    /// A number does not fit in 32 bits.
    Overflow,
    /// More than [`MAX_RANGES`] ranges.
    TooManyRanges,
    /// A message sequence number is larger than the number of messages.
    OutOfRange,
}

impl fmt::Display for SequenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SequenceError::Syntax => "Invalid sequence set",
            SequenceError::Overflow => "Sequence number too large",
            SequenceError::TooManyRanges => "Sequence set too long",
            SequenceError::OutOfRange => "Invalid message sequence number",
        })
    }
}

fn parse_seq_number(s: &[u8]) -> Result<SeqNum, SequenceError> {
    if s == b"*" {
        return Ok(SeqNum::Star);
    }
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return Err(SequenceError::Syntax);
    }
    let mut n: u64 = 0;
    for &b in s {
        n = n * 10 + u64::from(b - b'0');
    }
    match n {
        0 => Err(SequenceError::Syntax),
        n if n > u64::from(u32::MAX) => Err(SequenceError::Overflow),
        n => Ok(SeqNum::Num(n as u32)),
    }
}

impl SequenceSet {
    /// Parses `sequence-set`; `$` is accepted alone.
    pub fn parse(s: &[u8]) -> Result<SequenceSet, SequenceError> {
        if s == b"$" {
            return Ok(SequenceSet::Saved);
        }
        if s.is_empty() {
            return Err(SequenceError::Syntax);
        }
        let mut ranges = Vec::new();
        for part in s.split(|&b| b == b',') {
            if ranges.len() >= MAX_RANGES {
                return Err(SequenceError::TooManyRanges);
            }
            let mut ends = part.splitn(2, |&b| b == b':');
            let start = parse_seq_number(ends.next().unwrap_or(b""))?;
            let end = match ends.next() {
                Some(e) => parse_seq_number(e)?,
                None => start,
            };
            ranges.push(SeqRange { start, end });
        }
        Ok(SequenceSet::Ranges(ranges))
    }

    /// A set of one number.
    pub fn single(n: u32) -> SequenceSet {
        SequenceSet::Ranges(vec![SeqRange { start: SeqNum::Num(n), end: SeqNum::Num(n) }])
    }

    fn resolve(&self, star: u32) -> Ranges {
        let mut v: Vec<(u32, u32)> = match self {
            SequenceSet::Saved => Vec::new(),
            SequenceSet::Ranges(r) => r
                .iter()
                .map(|r| {
                    let a = match r.start { SeqNum::Num(n) => n, SeqNum::Star => star };
                    let b = match r.end { SeqNum::Num(n) => n, SeqNum::Star => star };
                    (a.min(b), a.max(b))
                })
                .collect(),
        };
        Ranges::normalise(&mut v);
        Ranges(v)
    }

    /// Resolves message sequence numbers against `count` messages: `*` is
    /// `count`; any number past `count` is [`SequenceError::OutOfRange`]
    /// (RFC 3501 §9 `seq-number`). `$` resolves to nothing here.
    pub fn resolve_seq(&self, count: u32) -> Result<Ranges, SequenceError> {
        if count == 0 {
            // "*" in an empty mailbox names no message: a client error.
            return Err(SequenceError::OutOfRange);
        }
        let r = self.resolve(count);
        match r.0.last() {
            Some(&(_, hi)) if hi > count => Err(SequenceError::OutOfRange),
            _ => Ok(r),
        }
    }

    /// Resolves UIDs: `*` is `max_uid` (the largest UID in use, 0 if the
    /// mailbox is empty), so `559:*` always includes the last message (RFC
    /// 3501 §6.4.8). UIDs not in use are harmless and kept.
    pub fn resolve_uid(&self, max_uid: u32) -> Ranges {
        self.resolve(max_uid)
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges = match self {
            SequenceSet::Saved => return f.write_str("$"),
            SequenceSet::Ranges(r) => r,
        };
        let num = |n: SeqNum| match n {
            SeqNum::Num(n) => n.to_string(),
            SeqNum::Star => "*".to_string(),
        };
        for (i, r) in ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&num(r.start))?;
            if r.start != r.end {
                write!(f, ":{}", num(r.end))?;
            }
        }
        Ok(())
    }
}

/// Sorted, disjoint, non-adjacent inclusive ranges of non-zero numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranges(Vec<(u32, u32)>);

impl Ranges {
    fn normalise(v: &mut Vec<(u32, u32)>) {
        // `*` is 0 in an empty mailbox: such ends name no message.
        v.retain(|&(_, b)| b != 0);
        for r in v.iter_mut() {
            r.0 = r.0.max(1);
        }
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for &(a, b) in v.iter() {
            match out.last_mut() {
                Some(last) if u64::from(a) <= u64::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        *v = out;
    }

    /// Builds ranges from numbers in any order (zeros are dropped).
    pub fn from_numbers(nums: impl IntoIterator<Item = u32>) -> Ranges {
        let mut v: Vec<(u32, u32)> = nums.into_iter().filter(|&n| n != 0).map(|n| (n, n)).collect();
        Ranges::normalise(&mut v);
        Ranges(v)
    }

    /// The inclusive ranges, ascending.
    pub fn as_slice(&self) -> &[(u32, u32)] {
        &self.0
    }

    /// True if no number is in the set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many numbers the set holds (up to 2^32 - 1, hence u64).
    pub fn len(&self) -> u64 {
        self.0.iter().map(|&(a, b)| u64::from(b - a) + 1).sum()
    }

    /// Whether `n` is in the set (binary search).
    pub fn contains(&self, n: u32) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < n);
        self.0.get(i).is_some_and(|&(a, _)| a <= n)
    }

    /// Every number, ascending, computed lazily.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|&(a, b)| a..=b)
    }

    /// Indexes into `uids` (ascending UIDs of the mailbox, index = sequence
    /// number - 1) whose UID is in the set; cost is O(ranges · log n + hits).
    pub fn select_uids<'a>(&'a self, uids: &'a [u32]) -> impl Iterator<Item = usize> + 'a {
        self.0.iter().flat_map(move |&(a, b)| {
            let lo = uids.partition_point(|&u| u < a);
            let hi = uids.partition_point(|&u| u <= b);
            lo..hi.max(lo)
        })
    }
}

impl fmt::Display for Ranges {
    /// Compact `a:b,c` form; empty sets render as nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}:{b}")?;
            }
        }
        Ok(())
    }
}

/// Renders numbers in the order given, folding runs of consecutive ascending
/// numbers into `a:b`. Order is kept because COPYUID's two sets must pair up
/// element by element (RFC 4315 §3).
pub fn render_compact(nums: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < nums.len() {
        let start = nums[i];
        let mut j = i;
        while j + 1 < nums.len() && nums[j].checked_add(1) == Some(nums[j + 1]) {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j == i {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{}:{}", start, nums[j]));
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        use SeqNum::*;
        let r = |a, b| SeqRange { start: a, end: b };
        let ok: &[(&str, SequenceSet)] = &[
            ("1", SequenceSet::Ranges(vec![r(Num(1), Num(1))])),
            ("*", SequenceSet::Ranges(vec![r(Star, Star)])),
            ("1:*", SequenceSet::Ranges(vec![r(Num(1), Star)])),
            ("1:*,3,5:7", SequenceSet::Ranges(vec![r(Num(1), Star), r(Num(3), Num(3)), r(Num(5), Num(7))])),
            ("7:5", SequenceSet::Ranges(vec![r(Num(7), Num(5))])),
            ("4294967295", SequenceSet::Ranges(vec![r(Num(u32::MAX), Num(u32::MAX))])),
            ("$", SequenceSet::Saved),
        ];
        for (s, want) in ok {
            assert_eq!(&SequenceSet::parse(s.as_bytes()).unwrap(), want, "{s}");
            assert_eq!(&want.to_string(), s);
        }
        let bad: &[(&str, SequenceError)] = &[
            ("", SequenceError::Syntax),
            ("0", SequenceError::Syntax),
            ("1:0", SequenceError::Syntax),
            ("1,", SequenceError::Syntax),
            (",1", SequenceError::Syntax),
            ("1::2", SequenceError::Syntax),
            ("1:2:3", SequenceError::Syntax),
            ("a", SequenceError::Syntax),
            ("-1", SequenceError::Syntax),
            ("$,1", SequenceError::Syntax),
            ("1 2", SequenceError::Syntax),
            ("4294967296", SequenceError::Overflow),
            ("99999999999", SequenceError::Syntax),
            ("**", SequenceError::Syntax),
        ];
        for (s, want) in bad {
            assert_eq!(SequenceSet::parse(s.as_bytes()), Err(*want), "{s}");
        }
    }

    #[test]
    fn too_many_ranges() {
        let s: Vec<String> = (1..=MAX_RANGES as u32 + 1).map(|n| (n * 2).to_string()).collect();
        assert_eq!(SequenceSet::parse(s.join(",").as_bytes()), Err(SequenceError::TooManyRanges));
    }

    #[test]
    fn resolve_seq_bounds() {
        let p = |s: &str| SequenceSet::parse(s.as_bytes()).unwrap();
        assert_eq!(p("1:*").resolve_seq(5).unwrap().as_slice(), &[(1, 5)]);
        assert_eq!(p("*:3").resolve_seq(5).unwrap().as_slice(), &[(3, 5)]);
        assert_eq!(p("5,1:2,3").resolve_seq(5).unwrap().as_slice(), &[(1, 3), (5, 5)]);
        assert_eq!(p("6").resolve_seq(5), Err(SequenceError::OutOfRange));
        assert_eq!(p("*").resolve_seq(0), Err(SequenceError::OutOfRange));
        assert_eq!(p("1:4294967295").resolve_seq(5), Err(SequenceError::OutOfRange));
    }

    #[test]
    fn resolve_uid_huge_is_lazy() {
        let p = |s: &str| SequenceSet::parse(s.as_bytes()).unwrap();
        let r = p("1:4294967295").resolve_uid(10);
        assert_eq!(r.len(), u64::from(u32::MAX));
        assert_eq!(r.iter().take(3).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(r.contains(u32::MAX));
        let uids = [3, 9, 200, 4_000_000_000];
        assert_eq!(r.select_uids(&uids).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        // 559:* includes the last UID even when 559 is above it.
        let r = p("559:*").resolve_uid(200);
        assert_eq!(r.select_uids(&uids[..3]).collect::<Vec<_>>(), vec![2]);
        let r = p("4:8,10:199,201").resolve_uid(200);
        assert_eq!(r.select_uids(&uids).count(), 0);
        assert!(!r.contains(3) && r.contains(4) && r.contains(8) && !r.contains(9) && !r.contains(202));
        assert_eq!(p("*").resolve_uid(0).len(), 0);
    }

    #[test]
    fn merge_and_render() {
        let r = Ranges::from_numbers([5, 1, 2, 3, 9, 10, 4294967295, 4294967294, 0]);
        assert_eq!(r.to_string(), "1:3,5,9:10,4294967294:4294967295");
        assert_eq!(render_compact(&[]), "");
        assert_eq!(render_compact(&[1, 2, 3, 7, 5, 6, u32::MAX]), "1:3,7,5:6,4294967295");
        assert_eq!(render_compact(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
    }
}
