//! How a failed IMAP command is answered: one enum for the handlers'
//! errors, one place that turns a store error kind into the tagged `NO`
//! with its response code (RFC 3501 §7.1, RFC 5530 codes), and the
//! owned response codes a completion carries (RFC 4315 APPENDUID/COPYUID).
//!
//! Store details (paths, errno) go only to syslog; the client sees the
//! fixed wording below, and for internal failures a timestamp it can quote
//! to the administrator (`NO [SERVERBUG] Internal error, see server log
//! [2026-11-23 11:40:07 UTC]`).

use crate::imap::wire::Code;
use crate::store::{ErrorKind, StoreError};

/// A response code owned by a handler's result (the wire writer's
/// [`Code`] borrows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RespCode {
    AlreadyExists,
    AppendUid {
        uidvalidity: u32,
        uids: Vec<u32>,
    },
    AuthenticationFailed,
    BadCharset(&'static [&'static str]),
    Cannot,
    Capability(Vec<&'static str>),
    CopyUid {
        uidvalidity: u32,
        source: Vec<u32>,
        dest: Vec<u32>,
    },
    ExpungeIssued,
    InUse,
    Limit,
    Nonexistent,
    NoPerm,
    OverQuota,
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TooBig,
    TryCreate,
    Unavailable,
}

impl RespCode {
    /// The borrowed form the response writer takes.
    pub(crate) fn as_code(&self) -> Code<'_> {
        match self {
            RespCode::AlreadyExists => Code::AlreadyExists,
            RespCode::AppendUid { uidvalidity, uids } => Code::AppendUid {
                uidvalidity: *uidvalidity,
                uids,
            },
            RespCode::AuthenticationFailed => Code::AuthenticationFailed,
            RespCode::BadCharset(c) => Code::BadCharset(c),
            RespCode::Cannot => Code::Cannot,
            RespCode::Capability(c) => Code::Capability(c),
            RespCode::CopyUid {
                uidvalidity,
                source,
                dest,
            } => Code::CopyUid {
                uidvalidity: *uidvalidity,
                source,
                dest,
            },
            RespCode::ExpungeIssued => Code::ExpungeIssued,
            RespCode::InUse => Code::InUse,
            RespCode::Limit => Code::Limit,
            RespCode::Nonexistent => Code::Nonexistent,
            RespCode::NoPerm => Code::NoPerm,
            RespCode::OverQuota => Code::OverQuota,
            RespCode::PrivacyRequired => Code::PrivacyRequired,
            RespCode::ReadOnly => Code::ReadOnly,
            RespCode::ReadWrite => Code::ReadWrite,
            RespCode::ServerBug => Code::ServerBug,
            RespCode::TooBig => Code::TooBig,
            RespCode::TryCreate => Code::TryCreate,
            RespCode::Unavailable => Code::Unavailable,
        }
    }
}

/// A successful command's tagged `OK`: optional code and text.
#[derive(Debug)]
pub(crate) struct Completion {
    pub code: Option<RespCode>,
    pub text: String,
    /// The handler already wrote its tagged answer (STARTTLS must answer
    /// before the handshake).
    pub answered: bool,
}

impl Completion {
    /// `OK <text>`.
    pub(crate) fn ok(text: impl Into<String>) -> Completion {
        Completion {
            code: None,
            text: text.into(),
            answered: false,
        }
    }
    /// `OK [code] <text>`.
    pub(crate) fn with(code: RespCode, text: impl Into<String>) -> Completion {
        Completion {
            code: Some(code),
            text: text.into(),
            answered: false,
        }
    }
    /// The tagged answer is already in the output.
    pub(crate) fn answered() -> Completion {
        Completion {
            code: None,
            text: String::new(),
            answered: true,
        }
    }
}

/// Whether a missing mailbox was the command's source or its destination
/// (RFC 3501 §6.3.11: APPEND/COPY to a missing mailbox says `[TRYCREATE]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Source,
    Destination,
}

/// Why a command did not complete.
#[derive(Debug)]
pub(crate) enum ImapError {
    /// Tagged `NO`.
    No(Option<RespCode>, String),
    /// Tagged `BAD`: the client broke the protocol.
    Bad(String),
    /// `* BYE`, then the session ends (fatal mailbox state, too many
    /// failures, a failed privilege drop).
    Bye(String),
    /// A store failure; rendered by [`ImapError::render`].
    Store(StoreError, Role),
    /// The connection failed or closed while the command ran: end quietly.
    Disconnected,
}

impl ImapError {
    pub(crate) fn no(text: impl Into<String>) -> ImapError {
        ImapError::No(None, text.into())
    }
    pub(crate) fn no_code(code: RespCode, text: impl Into<String>) -> ImapError {
        ImapError::No(Some(code), text.into())
    }
    pub(crate) fn bad(text: impl Into<String>) -> ImapError {
        ImapError::Bad(text.into())
    }
    /// A store error about the destination of APPEND/COPY/MOVE.
    pub(crate) fn dest(e: StoreError) -> ImapError {
        ImapError::Store(e, Role::Destination)
    }
}

impl From<StoreError> for ImapError {
    fn from(e: StoreError) -> ImapError {
        ImapError::Store(e, Role::Source)
    }
}

impl From<std::io::Error> for ImapError {
    fn from(_: std::io::Error) -> ImapError {
        ImapError::Disconnected
    }
}

/// Client code and text for a store error; the detail is logged here
/// when it is a failure the administrator must see.
pub(crate) fn store_error_response(e: &StoreError, role: Role, user: &str) -> (RespCode, String) {
    let serverbug = |what: &str| {
        let stamp = timestamp_now();
        crate::log::event("Mailbox error")
            .field("user", user)
            .raw("kind", format!("{:?}", e.kind))
            .field("detail", e.detail.as_bytes())
            .raw("stamp", &stamp)
            .error();
        (
            RespCode::ServerBug,
            format!("{what}, see server log [{stamp}]"),
        )
    };
    match e.kind {
        ErrorKind::NotFound if role == Role::Destination => {
            (RespCode::TryCreate, "Mailbox does not exist".into())
        }
        ErrorKind::NotFound => (RespCode::Nonexistent, "Mailbox does not exist".into()),
        ErrorKind::Exists => (RespCode::AlreadyExists, "Mailbox already exists".into()),
        ErrorKind::BadName => (RespCode::Cannot, "Invalid mailbox name".into()),
        ErrorKind::InUse => (
            RespCode::InUse,
            "Mailbox is in use by another session".into(),
        ),
        ErrorKind::LockTimeout => (RespCode::InUse, "Mailbox is locked, try again later".into()),
        ErrorKind::Permission => (RespCode::NoPerm, "Permission denied".into()),
        ErrorKind::NoSpace => (RespCode::OverQuota, "Not enough disk space".into()),
        ErrorKind::TooBig => (RespCode::TooBig, "Message too large".into()),
        ErrorKind::Corrupt => serverbug("Mailbox is damaged"),
        ErrorKind::Io => serverbug("Internal error"),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` of now, for `[SERVERBUG]` texts and logs.
pub(crate) fn timestamp_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    format_utc(now)
}

fn format_utc(t: i64) -> String {
    let (y, m, d) = crate::message::date::civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_kinds_map_to_codes() {
        let table = [
            (ErrorKind::NotFound, Role::Source, RespCode::Nonexistent),
            (ErrorKind::NotFound, Role::Destination, RespCode::TryCreate),
            (ErrorKind::Exists, Role::Source, RespCode::AlreadyExists),
            (ErrorKind::BadName, Role::Source, RespCode::Cannot),
            (ErrorKind::InUse, Role::Source, RespCode::InUse),
            (ErrorKind::LockTimeout, Role::Source, RespCode::InUse),
            (ErrorKind::Permission, Role::Source, RespCode::NoPerm),
            (ErrorKind::NoSpace, Role::Destination, RespCode::OverQuota),
            (ErrorKind::TooBig, Role::Destination, RespCode::TooBig),
            (ErrorKind::Corrupt, Role::Source, RespCode::ServerBug),
            (ErrorKind::Io, Role::Source, RespCode::ServerBug),
        ];
        for (kind, role, want) in table {
            let e = StoreError::new(kind, "/secret/path: EIO");
            let (code, text) = store_error_response(&e, role, "alice");
            assert_eq!(code, want, "{kind:?}");
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn utc_format() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_433_207), "2026-11-23 11:26:47 UTC");
    }
}
