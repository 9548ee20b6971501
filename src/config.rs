//! Configuration: `postern.conf` keys and the shared command line
//! (`-c FILE`, `-o KEY=VALUE`, `-s`, `-h`, `-V`), exactly as shared/DESIGN.md
//! specifies. Every key is documented in man/postern.conf.5.

use std::path::PathBuf;

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
