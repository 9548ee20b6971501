//! Bounded CRLF line reader with idle timeout. STUB.
