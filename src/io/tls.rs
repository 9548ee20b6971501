//! rustls server configuration from `<cert_dir>/<server>[-<ip>].pem`
//! (UW imapd's naming; shared/DESIGN.md `cert_dir`, `key_dir`,
//! `tls_min_version`, `client_ca`, `client_cert`).
//!
//! - Certificate: `<cert_dir>/<program>-<local ip>.pem` when it exists,
//!   else `<cert_dir>/<program>.pem`; the file holds the chain, leaf first.
//! - Key: the same file name in `key_dir` when that exists, else the
//!   certificate file. PKCS#8, PKCS#1 (RSA) or SEC1 (EC); RSA, ECDSA,
//!   Ed25519. Encrypted keys are detected here because rustls' PEM reader
//!   silently skips them (shared/NOTES.md).
//! - Client certificates: `client_ca` is a PEM bundle of CA certificates
//!   with CRLs appended; a CA without a CRL does not make every
//!   certificate fail (unknown revocation status is allowed), a revoked one
//!   is refused.
//!
//! Only the ring provider is used (aws-lc-rs costs ~30 ms per process).
//! Session tickets across processes are not done here.

use super::TlsInfo;
use crate::config::{ClientCert, Config, TlsMin};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why no TLS configuration could be built. `Display` is the log text.
#[derive(Debug)]
pub enum TlsError {
    /// Neither certificate file exists; the paths tried.
    NoCertificate(Vec<PathBuf>),
    /// A file exists but could not be read (permissions, a directory, I/O).
    Unreadable(PathBuf, io::Error),
    /// The certificate file holds no `CERTIFICATE` block, or a broken one.
    NoCertInFile(PathBuf),
    /// The private key is encrypted; servers need an unencrypted key.
    EncryptedKey(PathBuf),
    /// No private key in the key file or the certificate file.
    NoKey(PathBuf),
    /// The key is malformed or of an unsupported type.
    BadKey(PathBuf, String),
    /// The private key does not belong to the certificate.
    KeyMismatch(PathBuf),
    /// `client_cert` is on but `client_ca` is unset, unreadable or unusable.
    ClientCa(String),
    /// Any other rustls configuration error.
    Config(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::NoCertificate(tried) => {
                let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "no server certificate installed (tried {})",
                    list.join(", ")
                )
            }
            TlsError::Unreadable(p, e) => write!(f, "cannot read {}: {}", p.display(), e),
            TlsError::NoCertInFile(p) => write!(f, "no valid certificate in {}", p.display()),
            TlsError::EncryptedKey(p) => {
                write!(
                    f,
                    "private key in {} is encrypted; an unencrypted key is needed",
                    p.display()
                )
            }
            TlsError::NoKey(p) => write!(f, "no private key in {}", p.display()),
            TlsError::BadKey(p, e) => write!(f, "unusable private key in {}: {}", p.display(), e),
            TlsError::KeyMismatch(p) => {
                write!(
                    f,
                    "private key does not match the certificate in {}",
                    p.display()
                )
            }
            TlsError::ClientCa(e) => write!(f, "client_ca: {}", e),
            TlsError::Config(e) => write!(f, "TLS configuration: {}", e),
        }
    }
}

impl std::error::Error for TlsError {}

/// Certificate file names in lookup order for this local address.
pub fn cert_candidates(cfg: &Config, local_ip: Option<IpAddr>) -> Vec<PathBuf> {
    let program = cfg.server.program();
    let mut v = Vec::new();
    if let Some(ip) = local_ip {
        v.push(
            cfg.cert_dir
                .join(format!("{}-{}.pem", program, ip.to_canonical())),
        );
    }
    v.push(cfg.cert_dir.join(format!("{}.pem", program)));
    v
}

/// The certificate file to use, per [`cert_candidates`].
pub fn find_cert(cfg: &Config, local_ip: Option<IpAddr>) -> Result<PathBuf, TlsError> {
    let tried = cert_candidates(cfg, local_ip);
    for p in &tried {
        match std::fs::metadata(p) {
            Ok(_) => return Ok(p.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(TlsError::Unreadable(p.clone(), e)),
        }
    }
    Err(TlsError::NoCertificate(tried))
}

/// Whether a certificate is installed, i.e. whether to offer STARTTLS/STLS.
pub fn available(cfg: &Config, local_ip: Option<IpAddr>) -> bool {
    find_cert(cfg, local_ip).is_ok()
}

fn read(p: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(p).map_err(|e| TlsError::Unreadable(p.to_path_buf(), e))
}

/// Encrypted PEM keys: PKCS#8 `ENCRYPTED PRIVATE KEY` and the old
/// OpenSSL `Proc-Type: 4,ENCRYPTED` header.
fn is_encrypted(pem: &[u8]) -> bool {
    memchr::memmem::find(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----").is_some()
        || memchr::memmem::find(pem, b"Proc-Type: 4,ENCRYPTED").is_some()
}

fn load_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    if is_encrypted(pem) {
        return Err(TlsError::EncryptedKey(path.to_path_buf()));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey(path.to_path_buf()),
        other => TlsError::BadKey(path.to_path_buf(), format!("{:?}", other)),
    })
}

fn client_verifier(
    cfg: &Config,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>, TlsError> {
    if cfg.client_cert == ClientCert::No {
        return Ok(None);
    }
    let path = cfg
        .client_ca
        .as_deref()
        .ok_or_else(|| TlsError::ClientCa("client_cert is set but client_ca is empty".into()))?;
    let pem = std::fs::read(path)
        .map_err(|e| TlsError::ClientCa(format!("cannot read {}: {}", path.display(), e)))?;
    let bad = |what: &str| TlsError::ClientCa(format!("bad {} in {}", what, path.display()));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(c.map_err(|_| bad("certificate"))?)
            .map_err(|_| bad("CA certificate"))?;
    }
    if roots.is_empty() {
        return Err(bad("bundle (no certificate)"));
    }
    let crls = CertificateRevocationListDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad("CRL"))?;
    let mut b = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .with_crls(crls)
    // Without this, once any CRL is present a CA that has none fails
    // every certificate with UnknownRevocationStatus (shared/NOTES.md).
    .allow_unknown_revocation_status();
    if cfg.client_cert == ClientCert::Optional {
        b = b.allow_unauthenticated();
    }
    b.build()
        .map(Some)
        .map_err(|e| TlsError::ClientCa(e.to_string()))
}

/// Build the server configuration for a connection to `local_ip`.
pub fn server_config(
    cfg: &Config,
    local_ip: Option<IpAddr>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_path = find_cert(cfg, local_ip)?;
    let cert_pem = read(&cert_path)?;
    // Before the certificates: the headers of a legacy encrypted key
    // (`Proc-Type: 4,ENCRYPTED`) make the PEM reader fail on the whole
    // file, which would be reported as "no valid certificate".
    if is_encrypted(&cert_pem) {
        return Err(TlsError::EncryptedKey(cert_path));
    }
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::NoCertInFile(cert_path.clone()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertInFile(cert_path));
    }
    let key_file = cfg
        .key_dir
        .as_ref()
        .and_then(|d| cert_path.file_name().map(|n| d.join(n)))
        .filter(|p| p.exists());
    let key = match &key_file {
        Some(p) => load_key(p, &read(p)?)?,
        None => load_key(&cert_path, &cert_pem)?,
    };
    let key_path = key_file.unwrap_or_else(|| cert_path.clone());

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = match cfg.tls_min_version {
        TlsMin::V12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsMin::V13 => &[&rustls::version::TLS13],
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match client_verifier(cfg, &provider)? {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let sc = builder.with_single_cert(certs, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch(key_path.clone()),
        other => TlsError::BadKey(key_path.clone(), other.to_string()),
    })?;
    Ok(Arc::new(sc))
}

/// What to log and put in Received headers about an established session.
pub(crate) fn info_of(c: &rustls::ServerConnection) -> TlsInfo {
    let version = match c.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{:?}", v),
        None => "unknown".to_string(),
    };
    let cipher = c
        .negotiated_cipher_suite()
        .map(|s| {
            s.suite()
                .as_str()
                .map_or_else(|| format!("{:?}", s.suite()), str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string());
    let client_subject = c
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|der| subject_dn(der));
    TlsInfo {
        version,
        cipher,
        client_subject,
    }
}

/// One DER TLV: (tag, content, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = if len0 < 0x80 {
        (len0 as usize, rest)
    } else {
        let n = (len0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Attribute names of RFC 4514 §3 plus the usual extras.
const ATTRIBUTES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "STREET"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "emailAddress",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
];

fn oid_text(oid: &[u8]) -> String {
    if let Some((_, name)) = ATTRIBUTES.iter().find(|(o, _)| *o == oid) {
        return name.to_string();
    }
    let mut parts = Vec::new();
    let mut v: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() && i < 8 {
                let first = (v / 40).min(2);
                parts.push(first);
                parts.push(v - first * 40);
            } else {
                parts.push(v);
            }
            v = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn value_text(tag: u8, v: &[u8]) -> String {
    match tag {
        // BMPString: UTF-16BE
        0x1e => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(v).into_owned(),
    }
}

/// Subject of a DER certificate as an RFC 4514 string
/// (`CN=alice,O=Example,C=DE`: last RDN first). `None` if unparsable.
pub fn subject_dn(cert: &[u8]) -> Option<String> {
    let (_, cert, _) = der_tlv(cert)?;
    let (_, tbs, _) = der_tlv(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = der_tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // explicit version
    }
    // serial, signature algorithm, issuer, validity, then subject
    for _ in 0..4 {
        rest = der_tlv(rest)?.2;
    }
    let (_, mut name, _) = der_tlv(rest)?;
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let (_, mut set, r) = der_tlv(name)?;
        name = r;
        let mut avas = Vec::new();
        while !set.is_empty() {
            let (_, ava, r) = der_tlv(set)?;
            set = r;
            let (_, oid, r) = der_tlv(ava)?;
            let (vtag, val, _) = der_tlv(r)?;
            let mut s = oid_text(oid);
            s.push('=');
            let text = value_text(vtag, val);
            for (i, c) in text.chars().enumerate() {
                let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
                    || (i == 0 && matches!(c, '#' | ' '));
                if special {
                    s.push('\\');
                }
                s.push(c);
            }
            avas.push(s);
        }
        rdns.push(avas.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

#[cfg(test)]
pub(crate) mod tests;
