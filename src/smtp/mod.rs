//! SMTP server (RFC 5321 and extensions) with local mbox delivery. STUB.
