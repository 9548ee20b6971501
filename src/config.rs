//! Configuration: `postern.conf` keys and the shared command line
//! (`-c FILE`, `-o KEY=VALUE`, `-s`, `-h`, `-V`), exactly as shared/DESIGN.md
//! specifies. Every key is documented in man/postern.conf.5.

use std::path::{Path, PathBuf};

/// Which of the three programs is running; picks defaults (PAM service,
/// idle timeout, certificate name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Imap,
    Pop3,
    Smtp,
}

impl Server {
    /// Program name as used for syslog ident and certificate file names.
    pub fn program(self) -> &'static str {
        match self {
            Server::Imap => "imapd",
            Server::Pop3 => "ipop3d",
            Server::Smtp => "smtpd",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMin {
    V12,
    V13,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCert {
    No,
    Optional,
    Required,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaintextAuth {
    /// Plaintext mechanisms only under TLS (default).
    Tls,
    Yes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSource {
    Pam,
    PasswdFile(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpMode {
    Mx,
    Submission,
}

/// All configuration keys of shared/DESIGN.md. Path templates keep `%u`/`%h`
/// unexpanded; see [`Config::expand`].
#[derive(Clone, Debug)]
pub struct Config {
    pub server: Server,
    /// `-s`: implicit TLS from the first byte.
    pub implicit_tls: bool,
    pub cert_dir: PathBuf,
    pub key_dir: Option<PathBuf>,
    pub tls_min_version: TlsMin,
    pub client_ca: Option<PathBuf>,
    pub client_cert: ClientCert,
    pub plaintext_auth: PlaintextAuth,
    pub auth: AuthSource,
    pub pam_service: String,
    pub inbox: String,
    pub mail_dir: String,
    pub mail_group: String,
    pub hostname: String,
    pub login_delay: u64,
    pub max_auth_failures: u32,
    pub idle_timeout: u64,
    pub max_size: u64,
    /// `None`: decided from the local port.
    pub smtp_mode: Option<SmtpMode>,
    pub local_domains: Vec<String>,
    pub relay_command: Option<String>,
    pub syslog_facility: String,
}

/// A configuration error, naming where the bad line came from
/// (`FILE:LINE`, `-o KEY=VALUE`, or the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `"/etc/postern.conf:12"`, `"-o max_size=x"` or `"command line"`.
    pub origin: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Serve one connection with this configuration.
    Serve(Box<Config>),
    /// `-h`: print this usage text and exit.
    Help(String),
    /// `-V`: print this version line and exit.
    Version(String),
}

/// Configuration file read when `-c` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/postern.conf";

/// The syslog facilities `syslog_facility` accepts.
pub const FACILITIES: &[&str] = &[
    "mail", "daemon", "auth", "authpriv", "user", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

impl Config {
    /// Built-in defaults for `server` (shared/DESIGN.md table), with
    /// `hostname` from gethostname(2) and `local_domains = [hostname]`.
    pub fn defaults(server: Server) -> Config {
        let (pam_service, idle_timeout) = match server {
            Server::Imap => ("imap", 1800),
            Server::Pop3 => ("pop", 600),
            Server::Smtp => ("smtp", 300),
        };
        let hostname = system_hostname();
        Config {
            server,
            implicit_tls: false,
            cert_dir: PathBuf::from("/etc/ssl/certs"),
            key_dir: None,
            tls_min_version: TlsMin::V12,
            client_ca: None,
            client_cert: ClientCert::No,
            plaintext_auth: PlaintextAuth::Tls,
            auth: AuthSource::Pam,
            pam_service: pam_service.to_string(),
            inbox: "/var/mail/%u".to_string(),
            mail_dir: "%h/mail".to_string(),
            mail_group: "mail".to_string(),
            local_domains: vec![hostname.clone()],
            hostname,
            login_delay: 3,
            max_auth_failures: 3,
            idle_timeout,
            max_size: 52_428_800,
            smtp_mode: None,
            relay_command: None,
            syslog_facility: "mail".to_string(),
        }
    }

    /// Set one key from its textual value (a file line or `-o`). The error
    /// text names the key but never the origin; callers add that.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let opt_path = |v: &str| {
            if v.is_empty() {
                None
            } else {
                Some(PathBuf::from(v))
            }
        };
        match key {
            "cert_dir" => self.cert_dir = PathBuf::from(non_empty(key, value)?),
            "key_dir" => self.key_dir = opt_path(value),
            "tls_min_version" => {
                self.tls_min_version = match value {
                    "1.2" => TlsMin::V12,
                    "1.3" => TlsMin::V13,
                    _ => return Err(bad(key, value, "1.2 or 1.3")),
                }
            }
            "client_ca" => self.client_ca = opt_path(value),
            "client_cert" => {
                self.client_cert = match value {
                    "no" => ClientCert::No,
                    "optional" => ClientCert::Optional,
                    "required" => ClientCert::Required,
                    _ => return Err(bad(key, value, "no, optional or required")),
                }
            }
            "plaintext_auth" => {
                self.plaintext_auth = match value {
                    "tls" => PlaintextAuth::Tls,
                    "yes" => PlaintextAuth::Yes,
                    _ => return Err(bad(key, value, "tls or yes")),
                }
            }
            "auth" => {
                self.auth = if value == "pam" {
                    AuthSource::Pam
                } else if let Some(p) = value.strip_prefix("passwd-file:").filter(|p| !p.is_empty())
                {
                    AuthSource::PasswdFile(PathBuf::from(p))
                } else {
                    return Err(bad(key, value, "pam or passwd-file:PATH"));
                }
            }
            "pam_service" => self.pam_service = non_empty(key, value)?.to_string(),
            "inbox" => self.inbox = non_empty(key, value)?.to_string(),
            "mail_dir" => self.mail_dir = non_empty(key, value)?.to_string(),
            "mail_group" => self.mail_group = value.to_string(),
            "hostname" => self.hostname = non_empty(key, value)?.to_string(),
            "login_delay" => self.login_delay = number(key, value)?,
            "max_auth_failures" => self.max_auth_failures = number(key, value)?,
            "idle_timeout" => {
                self.idle_timeout = number(key, value)?;
                if self.idle_timeout == 0 {
                    return Err(bad(key, value, "a number of seconds above 0"));
                }
            }
            "max_size" => self.max_size = number(key, value)?,
            "smtp_mode" => {
                self.smtp_mode = match value {
                    "mx" => Some(SmtpMode::Mx),
                    "submission" => Some(SmtpMode::Submission),
                    "" => None,
                    _ => return Err(bad(key, value, "mx or submission")),
                }
            }
            "local_domains" => {
                self.local_domains = value
                    .split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect()
            }
            "relay_command" => {
                self.relay_command = Some(value.to_string()).filter(|v| !v.is_empty())
            }
            "syslog_facility" => {
                if !FACILITIES.contains(&value) {
                    return Err(bad(
                        key,
                        value,
                        "mail, daemon, auth, authpriv, user or local0..local7",
                    ));
                }
                self.syslog_facility = value.to_string();
            }
            _ => return Err(format!("unknown key \"{}\"", key)),
        }
        Ok(())
    }

    /// Apply one `key = value` line; `#` comments and blank lines are ignored.
    fn apply_line(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| "expected \"key = value\"".to_string())?;
        self.set(key.trim(), value.trim())
    }

    /// Apply the lines of a configuration file; `name` is used in errors.
    pub fn apply_text(&mut self, name: &str, text: &str) -> Result<(), ConfigError> {
        for (n, line) in text.lines().enumerate() {
            self.apply_line(line).map_err(|message| ConfigError {
                origin: format!("{}:{}", name, n + 1),
                message,
            })?;
        }
        Ok(())
    }

    /// Read a configuration file. A missing file is an error unless
    /// `missing_ok` (the default path).
    pub fn apply_file(&mut self, path: &Path, missing_ok: bool) -> Result<(), ConfigError> {
        let name = path.display().to_string();
        let text = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(ConfigError {
                    origin: name,
                    message: e.to_string(),
                })
            }
        };
        let text = String::from_utf8(text).map_err(|_| ConfigError {
            origin: name.clone(),
            message: "not UTF-8".into(),
        })?;
        self.apply_text(&name, &text)
    }

    /// Parse the command line (`args` without the program name):
    /// `-c FILE`, `-o KEY=VALUE` (repeatable, applied after the file),
    /// `-s`, `-h`, `-V`.
    pub fn from_args(server: Server, args: &[String]) -> Result<Invocation, ConfigError> {
        let cmdline = |message: String| ConfigError {
            origin: "command line".into(),
            message,
        };
        let m = options().parse(args).map_err(|e| cmdline(e.to_string()))?;
        if m.opt_present("h") {
            return Ok(Invocation::Help(usage(server)));
        }
        if m.opt_present("V") {
            return Ok(Invocation::Version(format!(
                "{} (postern) {}",
                server.program(),
                env!("CARGO_PKG_VERSION")
            )));
        }
        if let Some(extra) = m.free.first() {
            return Err(cmdline(format!("unexpected argument \"{}\"", extra)));
        }
        let mut cfg = Config::defaults(server);
        let default_domains = cfg.local_domains.clone();
        match m.opt_str("c") {
            Some(path) => cfg.apply_file(Path::new(&path), false)?,
            None => cfg.apply_file(Path::new(DEFAULT_CONFIG), true)?,
        }
        for o in m.opt_strs("o") {
            cfg.apply_line(&o).map_err(|message| ConfigError {
                origin: format!("-o {}", o),
                message,
            })?;
            if o.trim().is_empty() || o.trim().starts_with('#') {
                return Err(ConfigError {
                    origin: format!("-o {}", o),
                    message: "expected KEY=VALUE".into(),
                });
            }
        }
        // local_domains defaults to the configured hostname, not the
        // system one, unless set explicitly.
        if cfg.local_domains == default_domains || cfg.local_domains.is_empty() {
            cfg.local_domains = vec![cfg.hostname.to_ascii_lowercase()];
        }
        cfg.implicit_tls = m.opt_present("s");
        Ok(Invocation::Serve(Box::new(cfg)))
    }

    /// Expand `%u` (user) and `%h` (home) in a path template; `%%` is `%`.
    /// Other `%` sequences are kept as they are.
    pub fn expand(template: &str, user: &str, home: &Path) -> PathBuf {
        let mut out = std::ffi::OsString::new();
        let mut rest = template;
        while let Some(i) = rest.find('%') {
            out.push(&rest[..i]);
            let after = &rest[i + 1..];
            match after.chars().next() {
                Some('u') => out.push(user),
                Some('h') => out.push(home.as_os_str()),
                Some('%') => out.push("%"),
                Some(c) => {
                    out.push("%");
                    out.push(c.to_string());
                }
                None => {
                    out.push("%");
                    rest = "";
                    break;
                }
            }
            rest = &after[after.chars().next().map_or(0, char::len_utf8)..];
        }
        out.push(rest);
        PathBuf::from(out)
    }
}

fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optopt(
        "c",
        "",
        "configuration file (default /etc/postern.conf)",
        "FILE",
    );
    o.optmulti("o", "", "override one configuration key", "KEY=VALUE");
    o.optflag("s", "", "implicit TLS from the first byte");
    o.optflag("h", "", "print this help");
    o.optflag("V", "", "print the version");
    o
}

/// Usage text for `-h`.
pub fn usage(server: Server) -> String {
    let brief = format!(
        "Usage: {} [-s] [-c FILE] [-o KEY=VALUE]...\nServes one connection on fd 0/fd 1 (inetd).",
        server.program()
    );
    options().usage(&brief)
}

fn non_empty<'a>(key: &str, value: &'a str) -> Result<&'a str, String> {
    if value.is_empty() {
        Err(format!("{} needs a value", key))
    } else {
        Ok(value)
    }
}

fn bad(key: &str, value: &str, want: &str) -> String {
    format!("bad value \"{}\" for {}: expected {}", value, key, want)
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| bad(key, value, "a number"))
}

/// gethostname(2); "localhost" if it fails or is not UTF-8.
fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; the result is NUL-terminated
    // within it when gethostname succeeds (we reserve the last byte).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(s) if !s.is_empty() => s.to_string(),
        _ => "localhost".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn serve(server: Server, a: &[&str]) -> Result<Config, ConfigError> {
        match Config::from_args(server, &args(a))? {
            Invocation::Serve(c) => Ok(*c),
            other => panic!("expected Serve, got {:?}", other),
        }
    }

    #[test]
    fn defaults_per_server() {
        let table = [
            (Server::Imap, "imap", 1800),
            (Server::Pop3, "pop", 600),
            (Server::Smtp, "smtp", 300),
        ];
        for (server, pam, idle) in table {
            let c = Config::defaults(server);
            assert_eq!(c.pam_service, pam);
            assert_eq!(c.idle_timeout, idle);
            assert!(!c.hostname.is_empty());
            assert_eq!(c.local_domains, vec![c.hostname.clone()]);
            assert_eq!(c.cert_dir, PathBuf::from("/etc/ssl/certs"));
            assert_eq!(c.max_size, 52_428_800);
            assert_eq!(c.auth, AuthSource::Pam);
        }
    }

    #[test]
    fn set_values_table() {
        let ok: &[(&str, &str)] = &[
            ("tls_min_version", "1.3"),
            ("client_cert", "required"),
            ("plaintext_auth", "yes"),
            ("auth", "passwd-file:/etc/p"),
            ("idle_timeout", "60"),
            ("smtp_mode", "submission"),
            ("local_domains", "a.example, B.example"),
            ("relay_command", "/usr/sbin/sendmail -oi -f %f --"),
            ("syslog_facility", "local3"),
            ("key_dir", ""),
        ];
        let mut c = Config::defaults(Server::Smtp);
        for (k, v) in ok {
            c.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
        assert_eq!(c.tls_min_version, TlsMin::V13);
        assert_eq!(c.client_cert, ClientCert::Required);
        assert_eq!(c.auth, AuthSource::PasswdFile("/etc/p".into()));
        assert_eq!(c.local_domains, vec!["a.example", "b.example"]);
        assert_eq!(c.smtp_mode, Some(SmtpMode::Submission));
        assert_eq!(c.key_dir, None);
        let bad: &[(&str, &str)] = &[
            ("tls_min_version", "1.1"),
            ("client_cert", "yes"),
            ("auth", "passwd-file:"),
            ("auth", "ldap"),
            ("idle_timeout", "0"),
            ("idle_timeout", "-1"),
            ("max_size", "10M"),
            ("smtp_mode", "relay"),
            ("syslog_facility", "kern"),
            ("hostname", ""),
            ("no_such_key", "1"),
        ];
        for (k, v) in bad {
            assert!(c.set(k, v).is_err(), "{k}={v} accepted");
        }
    }

    #[test]
    fn file_errors_name_file_and_line() {
        let mut c = Config::defaults(Server::Imap);
        let text = "# comment\n\n  login_delay = 5  \nmax_size=100\nbogus = 1\n";
        let e = c.apply_text("/x.conf", text).unwrap_err();
        assert_eq!(e.origin, "/x.conf:5");
        assert!(e.message.contains("bogus"), "{}", e);
        assert_eq!(c.login_delay, 5);
        assert_eq!(c.max_size, 100);
        let e = c.apply_text("f", "login_delay\n").unwrap_err();
        assert_eq!(e.to_string(), "f:1: expected \"key = value\"");
        let e = c.apply_text("f", "a=1\n").unwrap_err();
        assert_eq!(e.origin, "f:1");
        let e = c.apply_text("f", "\n\nmax_size = big\n").unwrap_err();
        assert_eq!(e.origin, "f:3");
    }

    #[test]
    fn command_line() {
        let dir = std::env::temp_dir().join(format!("postern-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("p.conf");
        std::fs::write(&f, "hostname = mail.example\nlogin_delay = 7\n").unwrap();
        let fs = f.to_str().unwrap();

        let c = serve(
            Server::Pop3,
            &["-c", fs, "-o", "login_delay=1", "-o", "max_size = 9", "-s"],
        )
        .unwrap();
        assert_eq!(c.hostname, "mail.example");
        assert_eq!(c.local_domains, vec!["mail.example"]);
        assert_eq!(c.login_delay, 1, "-o overrides the file");
        assert_eq!(c.max_size, 9);
        assert!(c.implicit_tls);

        let e = serve(Server::Pop3, &["-c", fs, "-o", "max_size=x"]).unwrap_err();
        assert_eq!(e.origin, "-o max_size=x");
        let e = serve(Server::Pop3, &["-o", "nokey"]).unwrap_err();
        assert_eq!(e.origin, "-o nokey");
        let e = serve(Server::Pop3, &["-c", dir.join("missing").to_str().unwrap()]).unwrap_err();
        assert!(e.origin.ends_with("missing"), "{}", e);
        assert!(serve(Server::Pop3, &["-x"]).is_err());
        assert!(serve(Server::Pop3, &["extra"]).is_err());
        let c = serve(Server::Imap, &["-c", fs, "-o", "local_domains=a,b"]).unwrap();
        assert_eq!(c.local_domains, vec!["a", "b"]);

        assert!(matches!(
            Config::from_args(Server::Imap, &args(&["-h"])),
            Ok(Invocation::Help(_))
        ));
        match Config::from_args(Server::Smtp, &args(&["-V"])) {
            Ok(Invocation::Version(v)) => assert!(v.starts_with("smtpd (postern) ")),
            other => panic!("{:?}", other),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn expand_templates() {
        let home = Path::new("/home/al");
        let table = [
            ("/var/mail/%u", "/var/mail/alice"),
            ("%h/mail", "/home/al/mail"),
            ("%h/%u/%%x", "/home/al/alice/%x"),
            ("a%zb", "a%zb"),
            ("end%", "end%"),
            ("plain", "plain"),
        ];
        for (t, want) in table {
            assert_eq!(Config::expand(t, "alice", home), PathBuf::from(want), "{t}");
        }
    }
}
