//! System flags as a bit set, and the mbox `Status:`/`X-Status:` letters.

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
