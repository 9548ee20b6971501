//! RFC 5322 / MIME message parsing (headers, addresses, part tree, decoding). Knows nothing of IMAP sessions or mbox. STUB.
