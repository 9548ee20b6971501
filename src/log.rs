//! Logging: syslog(3) behind the `log` facade, ident = program name, with
//! pid, facility from `syslog_facility`; one key=value line per event
//! (shared/DESIGN.md "Logging").
//!
//! libc `syslog(3)` rather than the syslog crate: libc reconnects after a
//! syslogd restart and copes without /dev/log (shared/NOTES.md).
//!
//! For tests and debugging, `POSTERN_LOG_FILE=PATH` appends every line to
//! PATH instead (`<unix time> <program>[<pid>]: <level> <message>`; no
//! syslogd is needed), and `POSTERN_LOG_LEVEL=debug|trace|info|warn|error`
//! changes the threshold (default `info`).
//!
//! Event lines are built with [`event`]: values that came from the client
//! go through [`sanitize`] (no control characters, at most [`MAX_VALUE`]
//! characters, quoted when they hold spaces), so a client cannot forge or
//! flood log lines. Passwords never go through here.

use std::ffi::CString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::Mutex;

/// Longest client-supplied value kept in a log line (UW's `%.80s`).
pub const MAX_VALUE: usize = 80;
/// Longest server-made detail ([`Event::detail`]): error texts with paths.
pub const MAX_DETAIL: usize = 1024;

/// Environment variable: append log lines to this file instead of syslog.
pub const ENV_LOG_FILE: &str = "POSTERN_LOG_FILE";
/// Environment variable: log threshold (`error` … `trace`).
pub const ENV_LOG_LEVEL: &str = "POSTERN_LOG_LEVEL";

enum Sink {
    Syslog,
    File(Mutex<std::fs::File>),
}

struct Logger {
    program: &'static str,
    sink: Sink,
}

/// syslog facility code for a `syslog_facility` value (see
/// [`crate::config::FACILITIES`]); unknown names give `LOG_MAIL`.
pub fn facility_code(name: &str) -> libc::c_int {
    match name {
        "daemon" => libc::LOG_DAEMON,
        "auth" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "user" => libc::LOG_USER,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => libc::LOG_MAIL,
    }
}

/// Install the logger once per process. Later calls only change the
/// facility (the configuration is read after the first log line may be
/// needed) — call it again after loading the configuration.
pub fn init(program: &'static str, facility: &str) {
    let level = match std::env::var(ENV_LOG_LEVEL).as_deref() {
        Ok("trace") => log::LevelFilter::Trace,
        Ok("debug") => log::LevelFilter::Debug,
        Ok("warn") => log::LevelFilter::Warn,
        Ok("error") => log::LevelFilter::Error,
        _ => log::LevelFilter::Info,
    };
    let sink = match std::env::var_os(ENV_LOG_FILE) {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Sink::File(Mutex::new(f)),
            Err(_) => Sink::Syslog,
        },
        None => Sink::Syslog,
    };
    if let Sink::Syslog = sink {
        // openlog keeps the pointer: the ident must live for the process.
        let ident: &'static CString =
            Box::leak(Box::new(CString::new(program).unwrap_or_default()));
        // SAFETY: ident is a valid NUL-terminated string that is never freed.
        unsafe {
            libc::openlog(
                ident.as_ptr(),
                libc::LOG_PID | libc::LOG_NDELAY,
                facility_code(facility),
            )
        };
    }
    if log::set_boxed_logger(Box::new(Logger { program, sink })).is_ok() {
        log::set_max_level(level);
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // rustls' own debug chatter goes out only at trace level.
        if record.target().starts_with("rustls") && log::max_level() < log::LevelFilter::Trace {
            return;
        }
        let msg = one_line(&record.args().to_string());
        match &self.sink {
            Sink::Syslog => {
                let prio = match record.level() {
                    log::Level::Error => libc::LOG_ERR,
                    log::Level::Warn => libc::LOG_WARNING,
                    log::Level::Info => libc::LOG_INFO,
                    log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
                };
                if let Ok(c) = CString::new(msg) {
                    // SAFETY: "%s" with one valid C string argument.
                    unsafe { libc::syslog(prio, c"%s".as_ptr(), c.as_ptr()) };
                }
            }
            Sink::File(f) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let line = format!(
                    "{} {}[{}]: {} {}\n",
                    now,
                    self.program,
                    std::process::id(),
                    record.level().as_str().to_ascii_lowercase(),
                    msg
                );
                if let Ok(mut f) = f.lock() {
                    // One write per line: O_APPEND keeps lines of
                    // concurrent processes whole.
                    let _ = f.write_all(line.as_bytes());
                }
            }
        }
    }

    fn flush(&self) {}
}

/// Replace line breaks and other control characters so one event stays
/// one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Make a client-supplied value safe for a log line: invalid UTF-8 and
/// control characters become `?`, at most [`MAX_VALUE`] characters (then
/// `...`), and double-quoted (with `\"` and `\\`) when it is empty or
/// holds a space, quote or `=`.
pub fn sanitize(value: &[u8]) -> String {
    sanitize_to(value, MAX_VALUE)
}

/// [`sanitize`] with another length bound.
fn sanitize_to(value: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(value);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| {
            if c.is_control() || c == '\u{fffd}' {
                '?'
            } else {
                c
            }
        })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push_str("...");
    }
    if out.is_empty() || out.contains([' ', '"', '=', '\\']) {
        let mut q = String::with_capacity(out.len() + 2);
        q.push('"');
        for c in out.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        out
    }
}

/// `[192.0.2.7]`, or `[local]` when there is no peer address (a pipe, ssh).
pub fn host(peer: Option<IpAddr>) -> String {
    match peer {
        Some(ip) => format!("[{}]", ip.to_canonical()),
        None => "[local]".to_string(),
    }
}

/// One key=value event line, e.g.
/// `event("Login").field("user", b"alice").raw("host", &host(ip)).info()`.
#[derive(Clone, Debug)]
pub struct Event(String);

/// Start an event line with its name (`Login`, `Logout`, `TLS`, …).
pub fn event(name: &str) -> Event {
    Event(name.to_string())
}

impl Event {
    /// A client-supplied value: sanitized and truncated.
    pub fn field(mut self, key: &str, value: impl AsRef<[u8]>) -> Event {
        let _ = write!(self.0, " {}={}", key, sanitize(value.as_ref()));
        self
    }
    /// An error text the server made itself (a path and a cause): quoted
    /// like [`Event::field`] but bounded by [`MAX_DETAIL`], not
    /// [`MAX_VALUE`], since the cause comes last ("private key in PATH is
    /// encrypted") and an 80-character cut would log the path without it.
    pub fn detail(mut self, key: &str, value: impl std::fmt::Display) -> Event {
        let _ = write!(self.0, " {}={}", key, sanitize_to(value.to_string().as_bytes(), MAX_DETAIL));
        self
    }
    /// A value the server made itself (numbers, addresses, TLS names):
    /// only control characters are replaced.
    pub fn raw(mut self, key: &str, value: impl std::fmt::Display) -> Event {
        let _ = write!(self.0, " {}={}", key, one_line(&value.to_string()));
        self
    }
    /// The line as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn info(self) {
        log::info!("{}", self.0);
    }
    pub fn warn(self) {
        log::warn!("{}", self.0);
    }
    pub fn error(self) {
        log::error!("{}", self.0);
    }
    pub fn debug(self) {
        log::debug!("{}", self.0);
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_table() {
        let long = "x".repeat(200);
        let long_want = format!("{}...", "x".repeat(MAX_VALUE));
        let table: &[(&[u8], &str)] = &[
            (b"alice", "alice"),
            (b"", "\"\""),
            (b"a b", "\"a b\""),
            (b"a\r\nLogin user=root", "\"a??Login user=root\""),
            (b"q\"x", "\"q\\\"x\""),
            (b"\xff\x00z", "??z"),
            ("j\u{f6}rg".as_bytes(), "j\u{f6}rg"),
            (long.as_bytes(), &long_want),
        ];
        for (input, want) in table {
            assert_eq!(sanitize(input), *want, "{:?}", input);
        }
    }

    #[test]
    fn event_lines() {
        let ip: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let e = event("Login")
            .field("user", "al ice")
            .raw("host", host(Some(ip)))
            .raw("n", 3);
        assert_eq!(e.as_str(), "Login user=\"al ice\" host=[192.0.2.7] n=3");
        assert_eq!(host(None), "[local]");
        assert_eq!(event("X").raw("k", "a\nb").as_str(), "X k=a?b");
    }

    #[test]
    fn detail_keeps_the_cause_after_a_long_path() {
        let path = format!("/{}/ipop3d.pem", "d".repeat(120));
        let msg = format!("private key in {path} is encrypted");
        let e = event("TLS unavailable").detail("error", &msg);
        assert_eq!(e.as_str(), format!("TLS unavailable error=\"{msg}\""));
        assert_eq!(event("X").detail("e", "a\nb").as_str(), "X e=a?b");
        let huge = "y".repeat(MAX_DETAIL + 10);
        assert_eq!(event("X").detail("e", huge).as_str(), format!("X e={}...", "y".repeat(MAX_DETAIL)));
    }

    #[test]
    fn facilities_known() {
        for f in crate::config::FACILITIES {
            let code = facility_code(f);
            assert!(*f == "mail" || code != libc::LOG_MAIL, "{f}");
        }
    }

    /// The only test that installs the global logger (it is per process).
    #[test]
    fn log_file_sink() {
        let path = std::env::temp_dir().join(format!("postern-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        std::env::set_var(ENV_LOG_FILE, &path);
        init("imapd", "mail");
        event("Login failed")
            .field("user", b"bob\r\nfake")
            .raw("host", host(None))
            .info();
        log::debug!("not at info level");
        let text = std::fs::read_to_string(&path).unwrap();
        let want = format!(
            "imapd[{}]: info Login failed user=bob??fake host=[local]\n",
            std::process::id()
        );
        assert!(
            text.lines().count() >= 1 && text.contains(&want),
            "{text:?}"
        );
        assert!(!text.contains("not at info level"));
        let _ = std::fs::remove_file(&path);
    }
}
