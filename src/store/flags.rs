//! System flags as a bit set, and the mbox `Status:`/`X-Status:` letters
//! (UW imapd and Dovecot conventions) as data tables.

/// IMAP system flags (RFC 3501 §2.3.2) except \Recent, which is per session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);

    pub fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }
    pub fn insert(&mut self, f: Flags) {
        self.0 |= f.0
    }
    pub fn remove(&mut self, f: Flags) {
        self.0 &= !f.0
    }
}

/// Letters of the `Status:` header. `O` (old) is not a flag: it clears
/// \Recent and is handled by the header codec.
pub const STATUS_LETTERS: &[(u8, Flags)] = &[(b'R', Flags::SEEN)];

/// Letters of the `X-Status:` header, in the order UW writes them.
pub const X_STATUS_LETTERS: &[(u8, Flags)] = &[
    (b'A', Flags::ANSWERED),
    (b'F', Flags::FLAGGED),
    (b'T', Flags::DRAFT),
    (b'D', Flags::DELETED),
];

/// Flags named by the letters in `value` according to `table`; unknown
/// letters are ignored, as UW and Dovecot do.
pub fn flags_from_letters(value: &[u8], table: &[(u8, Flags)]) -> Flags {
    let mut f = Flags::default();
    for &c in value {
        for &(l, flag) in table {
            if c == l {
                f.insert(flag);
            }
        }
    }
    f
}

/// The letters of `table` set in `flags`, in table order.
pub fn letters_from_flags(flags: Flags, table: &[(u8, Flags)], out: &mut Vec<u8>) {
    for &(l, flag) in table {
        if flags.contains(flag) {
            out.push(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip() {
        let cases: &[(&[u8], u8)] = &[(b"", 0), (b"A", 2), (b"FA", 6), (b"ADFT", 30), (b"xD?", 8)];
        for &(letters, bits) in cases {
            let f = flags_from_letters(letters, X_STATUS_LETTERS);
            assert_eq!(f, Flags(bits), "{:?}", letters);
            let mut out = Vec::new();
            letters_from_flags(f, X_STATUS_LETTERS, &mut out);
            assert_eq!(flags_from_letters(&out, X_STATUS_LETTERS), f);
        }
        assert_eq!(flags_from_letters(b"RO", STATUS_LETTERS), Flags::SEEN);
    }
}
