//! Certificate lookup, error cases and in-memory handshakes, with
//! throwaway certificates made by `openssl` (see `mkpki.sh`) in a temp dir.

use super::*;
use crate::config::Server;
use crate::io::{duplex, Conn, ReadLine};
use std::io::{BufRead, BufReader, Write};
use std::sync::OnceLock;
use std::time::Duration;

/// The PKI of mkpki.sh, made once per test process.
pub(crate) fn pki() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("postern-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/io/tls/mkpki.sh");
        let ok = std::process::Command::new("sh")
            .arg(script)
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mkpki.sh failed");
        dir
    })
}

pub(crate) fn file(name: &str) -> Vec<u8> {
    std::fs::read(pki().join(name)).unwrap()
}

/// A fresh cert_dir holding `files` (name, concatenated PKI files).
fn cert_dir(tag: &str, files: &[(&str, &[&str])]) -> Config {
    let dir = pki().join(tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, parts) in files {
        let data: Vec<u8> = parts.iter().flat_map(|p| file(p)).collect();
        std::fs::write(dir.join(name), data).unwrap();
    }
    let mut cfg = Config::defaults(Server::Imap);
    cfg.cert_dir = dir;
    cfg
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn lookup_prefers_per_ip_file() {
    let cfg = cert_dir(
        "lookup",
        &[
            ("imapd.pem", &["srv.crt", "srv.key"]),
            ("imapd-127.0.0.2.pem", &["ip.crt", "ip.key"]),
        ],
    );
    let d = cfg.cert_dir.clone();
    let table = [
        (ip("127.0.0.2"), "imapd-127.0.0.2.pem"),
        (ip("::ffff:127.0.0.2"), "imapd-127.0.0.2.pem"),
        (ip("127.0.0.1"), "imapd.pem"),
        (None, "imapd.pem"),
    ];
    for (addr, want) in table {
        assert_eq!(find_cert(&cfg, addr).unwrap(), d.join(want), "{:?}", addr);
        assert!(available(&cfg, addr));
    }
    let mut pop = cfg.clone();
    pop.server = Server::Pop3;
    match find_cert(&pop, ip("127.0.0.1")) {
        Err(TlsError::NoCertificate(tried)) => {
            assert_eq!(
                tried,
                vec![d.join("ipop3d-127.0.0.1.pem"), d.join("ipop3d.pem")]
            )
        }
        other => panic!("{:?}", other),
    }
    assert!(!available(&pop, None));
    let e = server_config(&pop, None).unwrap_err().to_string();
    assert!(
        e.contains("no server certificate installed") && e.contains("ipop3d.pem"),
        "{e}"
    );
}

#[test]
fn key_types_and_chains() {
    let table: &[&[&str]] = &[
        &["srv.crt", "srv.key"],
        &["srv.key", "srv.crt", "ca.pem"],
        &["rsa.crt", "ca.pem", "rsa.key"],
        &["ed.crt", "ed.key"],
    ];
    for (i, parts) in table.iter().enumerate() {
        let cfg = cert_dir(&format!("kt{i}"), &[("imapd.pem", parts)]);
        server_config(&cfg, None).unwrap_or_else(|e| panic!("{:?}: {}", parts, e));
    }
}

#[test]
fn error_cases() {
    type Check = fn(&TlsError) -> bool;
    let table: &[(&[&str], Check)] = &[
        (&["srv.crt", "enc.key"], |e| {
            matches!(e, TlsError::EncryptedKey(_))
        }),
        (&["srv.crt", "other.key"], |e| {
            matches!(e, TlsError::KeyMismatch(_))
        }),
        (&["srv.crt"], |e| matches!(e, TlsError::NoKey(_))),
        (&["srv.key"], |e| matches!(e, TlsError::NoCertInFile(_))),
    ];
    for (i, (parts, check)) in table.iter().enumerate() {
        let cfg = cert_dir(&format!("err{i}"), &[("imapd.pem", parts)]);
        let e = server_config(&cfg, None).unwrap_err();
        assert!(check(&e), "{:?}: {:?}", parts, e);
    }
    let e = server_config(
        &cert_dir("err-enc", &[("imapd.pem", &["srv.crt", "enc.key"])]),
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
    let e = server_config(
        &cert_dir("err-mm", &[("imapd.pem", &["srv.crt", "other.key"])]),
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");

    // Legacy encrypted key (`Proc-Type: 4,ENCRYPTED`) after the certificate.
    let mut cfg = cert_dir("err-legacy", &[]);
    cfg.cert_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls/bad/encrypted-legacy");
    let e = server_config(&cfg, None).unwrap_err();
    assert!(matches!(e, TlsError::EncryptedKey(_)), "{e}");

    // A directory where the file should be: unreadable, named in the error.
    let cfg = cert_dir("err-dir", &[]);
    std::fs::create_dir(cfg.cert_dir.join("imapd.pem")).unwrap();
    match server_config(&cfg, None) {
        Err(TlsError::Unreadable(p, _)) => assert!(p.ends_with("imapd.pem")),
        other => panic!("{:?}", other.err()),
    }

    let mut cfg = cert_dir("err-ca", &[("imapd.pem", &["srv.crt", "srv.key"])]);
    cfg.client_cert = ClientCert::Required;
    assert!(matches!(
        server_config(&cfg, None),
        Err(TlsError::ClientCa(_))
    ));
    cfg.client_ca = Some(cfg.cert_dir.join("missing.pem"));
    assert!(matches!(
        server_config(&cfg, None),
        Err(TlsError::ClientCa(_))
    ));
}

#[test]
fn key_dir_is_used_then_falls_back() {
    let mut cfg = cert_dir("kd", &[("imapd.pem", &["srv.crt"])]);
    let kd = pki().join("kd-keys");
    std::fs::create_dir_all(&kd).unwrap();
    std::fs::write(kd.join("imapd.pem"), file("srv.key")).unwrap();
    cfg.key_dir = Some(kd.clone());
    server_config(&cfg, None).unwrap();
    // key_dir without the file: the key comes from the certificate file.
    let mut cfg = cert_dir("kd2", &[("imapd.pem", &["srv.crt", "srv.key"])]);
    cfg.key_dir = Some(pki().join("kd2-empty"));
    server_config(&cfg, None).unwrap();
}

#[test]
fn subject_of_client_cert() {
    let der = CertificateDer::from_pem_slice(&file("alice.crt")).unwrap();
    assert_eq!(subject_dn(&der).unwrap(), "CN=alice,O=Example\\, Inc,C=DE");
    assert_eq!(subject_dn(b"\x30\x03\x02"), None);
    assert_eq!(subject_dn(b""), None);
}

pub(crate) fn client_config(
    versions: &[&'static rustls::SupportedProtocolVersion],
    client: Option<(&str, &str)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&file("ca.pem")).unwrap())
        .unwrap();
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match client {
        None => b.with_no_client_auth(),
        Some((crt, key)) => {
            let chain = vec![CertificateDer::from_pem_slice(&file(crt)).unwrap()];
            b.with_client_auth_cert(chain, PrivateKeyDer::from_pem_slice(&file(key)).unwrap())
                .unwrap()
        }
    })
}

/// Server in a thread: (optional plaintext STARTTLS exchange), handshake,
/// read one line, answer "pong". Client: the same from the other side.
/// Returns the server's TlsInfo and line, or its error text, and what the
/// client read back.
fn session(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    starttls: bool,
) -> (Result<(TlsInfo, Vec<u8>), String>, String) {
    let (a, mut b) = duplex();
    let h = std::thread::spawn(move || -> Result<(TlsInfo, Vec<u8>), String> {
        let mut c = Conn::new(Box::new(a));
        c.set_idle_timeout(Duration::from_secs(10));
        if starttls {
            match c.read_line(100).map_err(|e| e.to_string())? {
                ReadLine::Line(l) if l == b"STARTTLS" => {}
                other => return Err(format!("{:?}", other)),
            }
            if !c.has_buffered() {
                return Err("pipelined NOOP not buffered".into());
            }
            c.send(b"OK go\r\n").map_err(|e| e.to_string())?;
        }
        c.start_tls(server).map_err(|e| e.to_string())?;
        let line = match c.read_line(100).map_err(|e| e.to_string())? {
            ReadLine::Line(l) => l,
            other => return Err(format!("{:?}", other)),
        };
        c.send(b"pong\r\n").map_err(|e| e.to_string())?;
        Ok((c.tls().cloned().ok_or("no TlsInfo")?, line))
    });
    if starttls {
        b.write_all(b"STARTTLS\r\nNOOP\r\n").unwrap();
        let mut ok = [0u8; 7];
        std::io::Read::read_exact(&mut b, &mut ok).unwrap();
        assert_eq!(&ok, b"OK go\r\n");
    }
    let cc = rustls::ClientConnection::new(client, "localhost".try_into().unwrap()).unwrap();
    let mut s = rustls::StreamOwned::new(cc, b);
    let _ = s.write_all(b"ping\r\n");
    let mut reply = String::new();
    let _ = BufReader::new(&mut s).read_line(&mut reply);
    drop(s);
    (h.join().unwrap(), reply)
}

fn server_cfg(tag: &str, edit: impl FnOnce(&mut Config)) -> Arc<rustls::ServerConfig> {
    let mut cfg = cert_dir(tag, &[("imapd.pem", &["srv.crt", "srv.key"])]);
    edit(&mut cfg);
    server_config(&cfg, None).unwrap()
}

pub(crate) const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
const V12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

#[test]
fn handshake_in_memory() {
    let (r, reply) = session(server_cfg("hs", |_| {}), client_config(BOTH, None), false);
    let (info, line) = r.unwrap();
    assert_eq!(line, b"ping");
    assert_eq!(reply, "pong\r\n");
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.cipher.starts_with("TLS13_"), "{}", info.cipher);
    assert_eq!(info.client_subject, None);

    let (r, _) = session(server_cfg("hs12", |_| {}), client_config(V12, None), false);
    let (info, _) = r.unwrap();
    assert_eq!(info.version, "TLSv1.2");
    assert!(info.cipher.starts_with("TLS_ECDHE_"), "{}", info.cipher);

    let (r, reply) = session(
        server_cfg("hs13", |c| c.tls_min_version = TlsMin::V13),
        client_config(V12, None),
        false,
    );
    assert!(
        r.is_err(),
        "TLS 1.2 client accepted with tls_min_version = 1.3"
    );
    assert_eq!(reply, "");
}

#[test]
fn starttls_discards_pipelined_plaintext() {
    let (r, reply) = session(server_cfg("st", |_| {}), client_config(BOTH, None), true);
    let (_, line) = r.unwrap();
    assert_eq!(line, b"ping", "pipelined NOOP must not be read inside TLS");
    assert_eq!(reply, "pong\r\n");
}

#[test]
fn client_certificates() {
    let bundle_dir = pki().join("bundle");
    std::fs::create_dir_all(&bundle_dir).unwrap();
    let bundle = bundle_dir.join("client-ca.pem");
    let data: Vec<u8> = ["cca.pem", "nocrl.pem", "cca.crl"]
        .iter()
        .flat_map(|f| file(f))
        .collect();
    std::fs::write(&bundle, data).unwrap();

    let with = |mode: ClientCert| {
        let b = bundle.clone();
        server_cfg(&format!("cc-{:?}", mode), move |c| {
            c.client_cert = mode;
            c.client_ca = Some(b);
        })
    };
    let required = with(ClientCert::Required);
    let optional = with(ClientCert::Optional);
    // (server, client cert and key, expected subject or None = refused)
    type Case<'a> = (
        &'a Arc<rustls::ServerConfig>,
        Option<(&'a str, &'a str)>,
        Option<&'a str>,
    );
    let table: &[Case] = &[
        (
            &required,
            Some(("alice.crt", "alice.key")),
            Some("CN=alice,O=Example\\, Inc,C=DE"),
        ),
        (&required, Some(("bob.crt", "bob.key")), Some("CN=bob")), // CA without CRL
        (&required, Some(("mallory.crt", "mallory.key")), None),   // revoked
        (&required, Some(("eve.crt", "eve.key")), None),           // foreign CA
        (&required, None, None),
        (
            &optional,
            Some(("alice.crt", "alice.key")),
            Some("CN=alice,O=Example\\, Inc,C=DE"),
        ),
        (&optional, None, Some("")),
        (&optional, Some(("mallory.crt", "mallory.key")), None),
    ];
    for (server, client, want) in table {
        let (r, _) = session(Arc::clone(server), client_config(BOTH, *client), false);
        match (r, want) {
            (Ok((info, _)), Some(w)) => {
                assert_eq!(
                    info.client_subject.as_deref().unwrap_or(""),
                    *w,
                    "{:?}",
                    client
                )
            }
            (Err(_), None) => {}
            (r, w) => panic!("{:?}: got {:?}, want {:?}", client, r, w),
        }
    }
}

/// Counts write calls on the server side of a duplex.
struct Counting(crate::io::Duplex, Arc<std::sync::atomic::AtomicUsize>);

impl std::io::Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.write_vectored(bufs)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl crate::io::RawIo for Counting {
    fn wait_readable(&mut self, t: Duration) -> std::io::Result<bool> {
        self.0.wait_readable(t)
    }
}

#[test]
fn one_write_per_send_under_tls() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (a, b) = duplex();
    let writes = Arc::new(AtomicUsize::new(0));
    let w = writes.clone();
    let server = server_cfg("ow", |_| {});
    let h = std::thread::spawn(move || {
        let mut c = Conn::new(Box::new(Counting(a, w.clone())));
        c.set_idle_timeout(Duration::from_secs(10));
        c.start_tls(server).unwrap();
        assert!(matches!(c.read_line(100).unwrap(), ReadLine::Line(_)));
        let before = w.load(Ordering::SeqCst);
        let big = vec![b'x'; 40_000];
        c.send(b"* 1 EXISTS\r\n* 0 RECENT\r\na OK done\r\n")
            .unwrap();
        let after_small = w.load(Ordering::SeqCst);
        c.send(&[&big[..], b"\r\n"].concat()).unwrap();
        (after_small - before, w.load(Ordering::SeqCst) - after_small)
    });
    let cc =
        rustls::ClientConnection::new(client_config(BOTH, None), "localhost".try_into().unwrap())
            .unwrap();
    let mut s = rustls::StreamOwned::new(cc, b);
    s.write_all(b"ping\r\n").unwrap();
    let mut r = BufReader::new(&mut s);
    let mut all = String::new();
    for _ in 0..4 {
        r.read_line(&mut all).unwrap();
    }
    assert_eq!(all.len(), 35 + 40_002);
    drop(r);
    drop(s);
    let (small, big) = h.join().unwrap();
    assert_eq!(small, 1, "one response, one write");
    assert_eq!(big, 1, "a 40 kB response is still one writev");
}
