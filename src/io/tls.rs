//! rustls server configuration from `<cert_dir>/<server>[-<ip>].pem`. STUB.
