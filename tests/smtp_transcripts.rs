//! smtpd transcript tests: every `tests/transcripts/smtp/*.t` runs the real
//! session in process over a scripted transport with an in-memory backend,
//! plus generated scenarios too large for a file (101 recipients, 10 MB
//! line, oversize bodies, garbage).
//!
//! `.t` format (one directive per line, `#` comments):
//! ```text
//! mode: mx | submission        tls: none | available | active
//! max_size: N                  relay: yes        plaintext_auth: yes
//! users: alice bob             fail: bob         (delivery to bob fails)
//! C: line          client line + CRLF; consecutive C:/R: lines are one write
//! R: bytes         raw client bytes, escapes \r \n \t \\ \xHH, no CRLF added
//! ~                end of one client write (next C:/R: starts a new one)
//! TIMEOUT          the next read times out
//! S: text          next server line; `*` matches any run of characters
//! count: N         deliveries made
//! D: text          next delivery summary `from=<..> local=a,b remote=x`
//! H: text          the delivery last named by D: (else the last one) contains text
//! !H: text         ... does not contain text
//! N: k text        ... contains text exactly k times
//! ```

use postern::auth::{Account, AuthError};
use postern::config::SmtpMode;
use postern::io::TlsInfo;
use postern::smtp::deliver::{Backend, Delivery};
use postern::smtp::session::Session;
use postern::smtp::transport::Transport;
use postern::smtp::Settings;
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

enum Event {
    Bytes(Vec<u8>),
    Timeout,
}

/// Client writes as separate reads; STARTTLS drops the rest of a write.
struct Script {
    events: VecDeque<Event>,
    current: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
    sends: usize,
    tls_available: bool,
    tls: Option<TlsInfo>,
    /// Bytes dropped by start_tls (pipelined plaintext).
    dropped: usize,
}

impl Script {
    fn new(events: Vec<Event>, tls_available: bool, tls_active: bool) -> Script {
        Script {
            events: events.into(),
            current: vec![],
            pos: 0,
            out: vec![],
            sends: 0,
            tls_available,
            tls: if tls_active { Some(tls_info()) } else { None },
            dropped: 0,
        }
    }
}

fn tls_info() -> TlsInfo {
    TlsInfo { version: "TLSv1.3".into(), cipher: "TLS13_AES_256_GCM_SHA384".into(), client_subject: None }
}

impl Transport for Script {
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.current.len() {
            match self.events.pop_front() {
                None => return Ok(0),
                Some(Event::Timeout) => return Err(io::Error::new(io::ErrorKind::TimedOut, "idle")),
                Some(Event::Bytes(b)) => {
                    self.current = b;
                    self.pos = 0;
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(buf);
        self.sends += 1;
        Ok(())
    }
    fn has_buffered(&self) -> bool {
        self.pos < self.current.len()
    }
    fn can_start_tls(&self) -> bool {
        self.tls_available
    }
    fn start_tls(&mut self) -> io::Result<()> {
        self.dropped += self.current.len() - self.pos;
        self.pos = self.current.len();
        self.tls = Some(tls_info());
        Ok(())
    }
    fn tls(&self) -> Option<TlsInfo> {
        self.tls.clone()
    }
    fn peer(&self) -> Option<std::net::IpAddr> {
        Some("192.0.2.7".parse().unwrap())
    }
}

struct Delivered {
    summary: String,
    message: Vec<u8>,
}

/// In-memory backend: users with password "secret"; deliveries recorded.
struct Recorder {
    users: Vec<String>,
    fail: Vec<String>,
    delivered: Vec<Delivered>,
}

impl Backend for Recorder {
    fn lookup(&mut self, user: &str) -> Result<Option<Account>, String> {
        if user == "tempfail" {
            return Err("backend down".into());
        }
        Ok(self.users.iter().find(|u| *u == user).map(|u| Account {
            user: u.clone(),
            uid: 1000,
            gid: 1000,
            home: PathBuf::from(format!("/home/{u}")),
            virtual_user: true,
        }))
    }
    fn authenticate(&mut self, user: &str, password: &[u8], _peer: Option<std::net::IpAddr>) -> Result<Account, AuthError> {
        match self.lookup(user) {
            Ok(Some(a)) if password == b"secret" => Ok(a),
            _ => Err(AuthError::BadCredentials),
        }
    }
    fn deliver(&mut self, d: &Delivery<'_>) -> Result<(), String> {
        if d.local.iter().any(|a| self.fail.contains(&a.user)) {
            return Err("disk full".into());
        }
        let local: Vec<&str> = d.local.iter().map(|a| a.user.as_str()).collect();
        self.delivered.push(Delivered {
            summary: format!("from=<{}> local={} remote={}", d.sender, local.join(","), d.remote.join(",")),
            message: d.message.to_vec(),
        });
        Ok(())
    }
}

fn settings(mode: SmtpMode) -> Settings {
    Settings {
        mode,
        hostname: "mx.example".into(),
        local_domains: vec!["mx.example".into(), "example.org".into()],
        max_size: 10_000,
        relay: false,
        auth_needs_tls: true,
        login_delay: Duration::ZERO,
        max_auth_failures: 3,
        max_recipients: 100,
        max_errors: 20,
    }
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'x' if i + 2 < b.len() => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                    i += 2;
                }
                c => out.push(c),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

/// `*` matches any run of characters.
fn glob(pat: &str, s: &str) -> bool {
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == s;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(k) => rest = &rest[k + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Run a session and return (server output, script, recorder).
fn run(s: &Settings, events: Vec<Event>, tls_available: bool, tls_active: bool, rec: &mut Recorder) -> Script {
    let script = Script::new(events, tls_available, tls_active);
    let mut session = Session::new(script, rec, s);
    session.run();
    session.into_transport()
}

fn server_lines(out: &[u8]) -> Result<Vec<String>, String> {
    let text = String::from_utf8_lossy(out);
    if !text.is_empty() && !text.ends_with("\r\n") {
        return Err("output does not end with CRLF".into());
    }
    let lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
    let lines = lines[..lines.len().saturating_sub(1)].to_vec();
    if lines.iter().any(|l| l.contains('\n') || l.contains('\r')) {
        return Err("bare CR or LF in server output".into());
    }
    Ok(lines)
}

fn run_transcript(text: &str) -> Result<(), String> {
    let mut mode = SmtpMode::Mx;
    let mut tls = "none".to_string();
    let mut s = settings(SmtpMode::Mx);
    let mut rec = Recorder { users: vec![], fail: vec![], delivered: vec![] };
    let mut events: Vec<Event> = vec![];
    let mut write: Vec<u8> = vec![];
    let mut expect: Vec<String> = vec![];
    let mut checks: Vec<(String, String)> = vec![];
    let flush = |write: &mut Vec<u8>, events: &mut Vec<Event>| {
        if !write.is_empty() {
            events.push(Event::Bytes(std::mem::take(write)));
        }
    };
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, val) = match line.find(": ") {
            Some(i) => (&line[..i], &line[i + 2..]),
            None => (line.trim_end_matches(':'), ""),
        };
        match key {
            "mode" => mode = if val == "submission" { SmtpMode::Submission } else { SmtpMode::Mx },
            "tls" => tls = val.to_string(),
            "max_size" => s.max_size = val.parse().map_err(|_| "bad max_size")?,
            "relay" => s.relay = val == "yes",
            "plaintext_auth" => s.auth_needs_tls = val != "yes",
            "users" => rec.users = val.split_whitespace().map(str::to_string).collect(),
            "fail" => rec.fail = val.split_whitespace().map(str::to_string).collect(),
            "C" => {
                write.extend_from_slice(val.as_bytes());
                write.extend_from_slice(b"\r\n");
            }
            "R" => write.extend_from_slice(&unescape(val)),
            "~" => flush(&mut write, &mut events),
            "TIMEOUT" => {
                flush(&mut write, &mut events);
                events.push(Event::Timeout);
            }
            "S" => {
                flush(&mut write, &mut events);
                expect.push(val.to_string());
            }
            "count" | "D" | "H" | "!H" | "N" => {
                flush(&mut write, &mut events);
                checks.push((key.to_string(), val.to_string()));
            }
            _ => return Err(format!("unknown directive: {line}")),
        }
    }
    flush(&mut write, &mut events);
    s.mode = mode;
    let script = run(&s, events, tls == "available", tls == "active", &mut rec);
    let got = server_lines(&script.out)?;
    for (i, want) in expect.iter().enumerate() {
        match got.get(i) {
            Some(g) if glob(want, g) => {}
            Some(g) => return Err(format!("server line {}: want {want:?}, got {g:?}\nfull output:\n{}", i + 1, got.join("\n"))),
            None => return Err(format!("server line {}: want {want:?}, got end of output\nfull output:\n{}", i + 1, got.join("\n"))),
        }
    }
    if got.len() > expect.len() {
        return Err(format!("unexpected server lines: {:?}", &got[expect.len()..]));
    }
    let mut d_index = 0;
    for (k, v) in checks {
        match k.as_str() {
            "count" => {
                let n: usize = v.parse().map_err(|_| "bad count")?;
                if rec.delivered.len() != n {
                    return Err(format!("want {n} deliveries, got {}", rec.delivered.len()));
                }
            }
            "D" => {
                let d = rec.delivered.get(d_index).ok_or(format!("no delivery #{}", d_index + 1))?;
                if !glob(&v, &d.summary) {
                    return Err(format!("delivery #{}: want {v:?}, got {:?}", d_index + 1, d.summary));
                }
                d_index += 1;
            }
            "N" => {
                let d = if d_index > 0 { rec.delivered.get(d_index - 1) } else { rec.delivered.last() };
                let d = d.ok_or("no delivery")?;
                let (k, text) = v.split_once(' ').ok_or("N: k text")?;
                let k: usize = k.parse().map_err(|_| "N: k text")?;
                let n = memchr::memmem::find_iter(&d.message, &unescape(text)).count();
                if n != k {
                    return Err(format!("want {k} of {text:?}, got {n}"));
                }
            }
            "H" | "!H" => {
                let d = if d_index > 0 { rec.delivered.get(d_index - 1) } else { rec.delivered.last() };
                let d = d.ok_or("no delivery")?;
                let needle = unescape(&v);
                let found = memchr::memmem::find(&d.message, &needle).is_some();
                if found != (k == "H") {
                    return Err(format!("{k} {v:?} in message:\n{}", String::from_utf8_lossy(&d.message)));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn transcripts() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/smtp");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/transcripts/smtp")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "t"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "transcripts missing");
    let mut failures = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if let Err(e) = run_transcript(&text) {
            failures.push(format!("{}: {e}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(failures.is_empty(), "{} of {} transcripts failed:\n{}", failures.len(), files.len(), failures.join("\n\n"));
}

fn mx_users() -> Recorder {
    Recorder { users: vec!["alice".into(), "bob".into()], fail: vec![], delivered: vec![] }
}

fn bytes(s: &str) -> Event {
    Event::Bytes(s.as_bytes().to_vec())
}

#[test]
fn one_hundred_and_one_recipients() {
    let s = settings(SmtpMode::Mx);
    let mut rec = mx_users();
    let mut w = String::from("EHLO c\r\nMAIL FROM:<s@x>\r\n");
    for _ in 0..101 {
        w.push_str("RCPT TO:<alice@mx.example>\r\n");
    }
    w.push_str("DATA\r\n");
    let script = run(&s, vec![bytes(&w), bytes("Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")], false, false, &mut rec);
    let lines = server_lines(&script.out).unwrap();
    let rcpt: Vec<&String> = lines.iter().filter(|l| l.starts_with("250 2.1.5")).collect();
    assert_eq!(rcpt.len(), 100);
    assert_eq!(lines.iter().filter(|l| l.starts_with("452 4.5.3")).count(), 1);
    assert_eq!(rec.delivered.len(), 1);
    assert_eq!(rec.delivered[0].summary, "from=<s@x> local=alice remote=");
    // The pipelined batch was answered in one write.
    assert_eq!(script.sends, 3, "{lines:?}");
}

#[test]
fn ten_megabyte_line_is_dropped_not_stored() {
    let s = settings(SmtpMode::Mx);
    let mut rec = mx_users();
    let mut events = vec![bytes("EHLO c\r\n")];
    for _ in 0..160 {
        events.push(Event::Bytes(vec![b'A'; 64 * 1024]));
    }
    events.push(bytes("\r\nNOOP\r\nQUIT\r\n"));
    let script = run(&s, events, false, false, &mut rec);
    let lines = server_lines(&script.out).unwrap();
    assert_eq!(lines[lines.len() - 3..], ["500 5.5.2 Line too long", "250 2.0.0 OK", "221 2.0.0 mx.example closing connection"]);
}

#[test]
fn oversize_data_is_read_to_the_end_then_refused() {
    let s = settings(SmtpMode::Mx);
    let mut rec = mx_users();
    let mut events = vec![bytes("EHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@mx.example>\r\nDATA\r\n")];
    for _ in 0..1000 {
        events.push(bytes("0123456789012345678901234567890123456789012345678901234567890123456789\r\n"));
    }
    events.push(bytes(".\r\nMAIL FROM:<s@x>\r\nQUIT\r\n"));
    let script = run(&s, events, false, false, &mut rec);
    let lines = server_lines(&script.out).unwrap();
    assert_eq!(lines[lines.len() - 3..], ["552 5.3.4 Message size exceeds fixed limit", "250 2.1.0 Sender OK", "221 2.0.0 mx.example closing connection"]);
    assert!(rec.delivered.is_empty());
}

#[test]
fn oversize_bdat_is_read_then_refused() {
    let s = settings(SmtpMode::Mx);
    let mut rec = mx_users();
    let chunk = "x".repeat(6000);
    let w = format!("EHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@mx.example>\r\nBDAT 6000\r\n{chunk}BDAT 6000 LAST\r\n{chunk}NOOP\r\n");
    let script = run(&s, vec![bytes(&w)], false, false, &mut rec);
    let lines = server_lines(&script.out).unwrap();
    assert_eq!(lines[lines.len() - 3..], ["250 2.0.0 6000 octets received", "552 5.3.4 Message size exceeds fixed limit", "250 2.0.0 OK"]);
    assert!(rec.delivered.is_empty());
}

#[test]
fn garbage_ends_with_421_and_no_panic() {
    let s = settings(SmtpMode::Mx);
    let mut rec = mx_users();
    // Deterministic pseudo-random bytes, lines of assorted lengths.
    let mut x: u32 = 12345;
    let mut g = Vec::new();
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        g.push((x >> 16) as u8);
    }
    let script = run(&s, vec![Event::Bytes(g)], false, false, &mut rec);
    let lines = server_lines(&script.out).unwrap();
    assert!(lines[0].starts_with("220 "));
    assert_eq!(lines.last().map(String::as_str), Some("421 4.7.0 Too many errors, closing connection"));
    assert!(rec.delivered.is_empty());
}

#[test]
fn garbage_in_chunks_of_every_size_never_panics() {
    let s = settings(SmtpMode::Submission);
    let input = b"EHLO c\r\nAUTH PLAIN =\r\nMAIL FROM:<\xff>\r\nBDAT 5\r\n\r\n.\n\r\nRCPT TO:<\"\\\x01\"@x>\r\nDATA\r\n\x00\x00\r\n.\r\n";
    for chunk in 1..16 {
        let mut rec = mx_users();
        let events = input.chunks(chunk).map(|c| Event::Bytes(c.to_vec())).collect();
        let script = run(&s, events, true, false, &mut rec);
        assert!(server_lines(&script.out).is_ok());
        assert!(rec.delivered.is_empty());
    }
}

// ---- The same session over the real `io::Conn` (in-memory duplex) ----

use postern::io::Conn;
use postern::smtp::ConnTransport;
use std::io::{Read, Write};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(p)
}

/// Read one CRLF line byte by byte (so nothing after it is consumed).
fn read_line_raw(r: &mut impl Read) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    for _ in 0..10_000 {
        match r.read(&mut b) {
            Ok(1) => {
                line.push(b[0]);
                if line.ends_with(b"\r\n") {
                    break;
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

fn read_reply(r: &mut impl Read) -> Vec<String> {
    let mut lines = vec![];
    for _ in 0..50 {
        let l = read_line_raw(r);
        let done = l.len() < 4 || l.as_bytes()[3] == b' ';
        lines.push(l.trim_end().to_string());
        if done {
            break;
        }
    }
    lines
}

#[test]
fn conn_pipelined_transaction_and_smuggling() {
    let (server_end, mut client) = postern::io::duplex();
    let h = std::thread::spawn(move || {
        let mut conn = Conn::new(Box::new(server_end));
        let mut rec = mx_users();
        let s = settings(SmtpMode::Mx);
        Session::new(ConnTransport { conn: &mut conn, tls_config: None }, &mut rec, &s).run();
        rec.delivered
    });
    assert!(read_reply(&mut client)[0].starts_with("220 "));
    client.write_all(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@mx.example>\r\nDATA\r\n").unwrap();
    let r: Vec<String> = (0..4).flat_map(|_| read_reply(&mut client)).collect();
    assert_eq!(r.last().map(|l| &l[..3]), Some("354"), "{r:?}");
    client.write_all(b"one\n.\nMAIL FROM:<x@y>\r\nRCPT TO:<bob@mx.example>\r\nDATA\r\nsmuggled\r\n.\r\n").unwrap();
    assert_eq!(read_reply(&mut client), ["550 5.6.0 Bare CR or LF in message; lines must end with CRLF"]);
    client.write_all(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@mx.example>\r\nDATA\r\n").unwrap();
    let _ = (0..3).flat_map(|_| read_reply(&mut client)).count();
    client.write_all(b"Subject: ok\r\n\r\nbody\r\n.\r\nQUIT\r\n").unwrap();
    assert!(read_reply(&mut client)[0].starts_with("250 2.0.0 OK id="));
    assert!(read_reply(&mut client)[0].starts_with("221 "));
    drop(client);
    let delivered = h.join().unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].summary, "from=<a@b.example> local=bob remote=");
    assert!(delivered[0].message.ends_with(b"\nSubject: ok\n\nbody\n"));
}

#[test]
fn conn_starttls_injection_is_discarded() {
    let mut cfg = postern::config::Config::defaults(postern::config::Server::Smtp);
    cfg.cert_dir = fixture("rsa");
    let sc = postern::io::tls::server_config(&cfg, None).expect("test certificate");
    let (server_end, mut client) = postern::io::duplex();
    let h = std::thread::spawn(move || {
        let mut conn = Conn::new(Box::new(server_end));
        conn.set_idle_timeout(Duration::from_secs(10));
        let mut rec = mx_users();
        let s = settings(SmtpMode::Mx);
        Session::new(ConnTransport { conn: &mut conn, tls_config: Some(sc) }, &mut rec, &s).run();
        rec.delivered
    });
    read_reply(&mut client);
    client.write_all(b"EHLO c\r\n").unwrap();
    assert!(read_reply(&mut client).contains(&"250-STARTTLS".to_string()));
    client.write_all(b"STARTTLS\r\nMAIL FROM:<a@b>\r\n").unwrap();
    assert_eq!(read_reply(&mut client), ["220 2.0.0 Ready to start TLS"]);

    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots.add(rustls::pki_types::CertificateDer::from_pem_file(fixture("ca.pem")).unwrap()).unwrap();
    let cc = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(cc), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, client);
    tls.write_all(b"EHLO c\r\n").unwrap();
    let ehlo = read_reply(&mut tls);
    assert!(!ehlo.iter().any(|l| l.contains("STARTTLS")), "{ehlo:?}");
    // MAIL from the plaintext write was never executed inside TLS.
    tls.write_all(b"RCPT TO:<alice@mx.example>\r\n").unwrap();
    assert_eq!(read_reply(&mut tls), ["503 5.5.1 Need MAIL before RCPT"]);
    tls.write_all(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@mx.example>\r\nDATA\r\n").unwrap();
    let _ = (0..3).flat_map(|_| read_reply(&mut tls)).count();
    tls.write_all(b"x\r\n.\r\nQUIT\r\n").unwrap();
    assert!(read_reply(&mut tls)[0].starts_with("250 2.0.0 OK"));
    assert!(read_reply(&mut tls)[0].starts_with("221 "));
    drop(tls);
    let delivered = h.join().unwrap();
    assert_eq!(delivered.len(), 1);
    let m = String::from_utf8_lossy(&delivered[0].message);
    assert!(m.contains("with ESMTPS id ") && m.contains("(version=TLSv1.3 cipher=TLS13_"), "{m}");
}
