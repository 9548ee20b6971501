//! Transcript tests for ipop3d's session: every `tests/transcripts/pop3/*.t`
//! runs in process against a scripted transport, a test backend and an
//! in-memory maildrop; the bytes the server sends must equal the `S:` lines
//! exactly. Each transcript runs twice: with the client chunks as written
//! (consecutive `C:` lines are one pipelined write), and — unless it uses
//! STLS, where chunk boundaries matter — with every chunk cut into pieces of
//! 1..7 bytes, which must not change a byte of the output.
//!
//! Transcript format (one directive a line, `#` comments):
//! ```text
//! set: KEY[=VALUE]     plaintext=yes | tls=available | tls=active | preauth=USER
//!                      max_auth_failures=N | in_use | fail_commit | peer=none
//! message: UID         starts a message of the in-memory maildrop
//! M: text              one message line (CRLF appended); escapes below
//! MR: N text           the message line repeated N times
//! C: text              client line (CRLF appended); consecutive C: = one write
//! C- text              client bytes without CRLF
//! R: N text            client write of `text` repeated N times (no CRLF)
//! T:                   the client stays silent until the idle timeout
//! S: text              expected server line (CRLF appended)
//! SR: N text           the expected line repeated N times
//! L: text              a log line containing text must appear (in order)
//! commit: dele=1,2 seen=3 | commit: none     what QUIT gave the maildrop
//! outcome: Quit        how the session must end
//! sends: N             number of writes when run as written (batching)
//! ```
//! Escapes in M:/C:/S: text: `\xHH`, `\\`. Message numbers in `commit:`
//! are 1-based. Passwords used in transcripts (`s3cr3t…`, `bad-pass…`) must
//! never appear in a log line or in the server's output.

use postern::auth::{Account, AuthError};
use postern::io::ReadLine;
use postern::pop3::maildrop::{Committed, Maildrop, MemoryMaildrop};
use postern::pop3::session::Session;
use postern::pop3::{Backend, Settings, Transport};
use postern::store::{ErrorKind, StoreError};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};

// ---- log capture (thread-local, so parallel tests do not mix) -----------

thread_local! {
    static LOGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

struct CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        LOGS.with(|l| l.borrow_mut().push(format!("{}", record.args())));
    }
    fn flush(&self) {}
}

static LOGGER: CaptureLogger = CaptureLogger;
static INIT: Once = Once::new();

fn init_logger() {
    INIT.call_once(|| {
        let _ = log::set_logger(&LOGGER);
        log::set_max_level(log::LevelFilter::Trace);
    });
}

// ---- scripted transport -------------------------------------------------

enum Input {
    Data(Vec<u8>),
    Timeout,
}

struct ScriptTransport {
    input: VecDeque<Input>,
    buf: Vec<u8>,
    discarding: bool,
    out: Vec<u8>,
    tls: bool,
    tls_available: bool,
    peer: Option<IpAddr>,
    max_line_seen: usize,
    sends: usize,
}

impl Transport for ScriptTransport {
    fn read_line(&mut self, max: usize) -> io::Result<ReadLine> {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=p).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if self.discarding || line.len() > max {
                    self.discarding = false;
                    return Ok(ReadLine::TooLong);
                }
                return Ok(ReadLine::Line(line));
            }
            if self.buf.len() > max {
                // Like io::line: drop the over-long part, remember to
                // report it once the line ends.
                self.discarding = true;
                self.buf.clear();
            }
            self.max_line_seen = self.max_line_seen.max(self.buf.len());
            match self.input.pop_front() {
                Some(Input::Data(d)) => self.buf.extend_from_slice(&d),
                Some(Input::Timeout) => return Ok(ReadLine::Timeout),
                None => return Ok(ReadLine::Eof),
            }
        }
    }
    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(buf);
        self.sends += 1;
        Ok(())
    }
    fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }
    fn is_tls(&self) -> bool {
        self.tls
    }
    fn tls_available(&self) -> bool {
        self.tls_available
    }
    fn start_tls(&mut self) -> io::Result<()> {
        // Plaintext pipelined before the handshake is thrown away.
        self.buf.clear();
        self.discarding = false;
        self.tls = true;
        self.out.extend_from_slice(b"[TLS started]\r\n");
        Ok(())
    }
    fn tls_summary(&self) -> Option<String> {
        self.tls.then(|| "TLSv1.3/TLS13_AES_256_GCM_SHA384".to_string())
    }
    fn peer(&self) -> Option<IpAddr> {
        self.peer
    }
}

// ---- test backend (exists only in this test binary) --------------------

struct TestBackend {
    messages: Vec<(u32, Vec<u8>)>,
    log: Arc<Mutex<Vec<Committed>>>,
    in_use: bool,
    fail_commit: bool,
    delays: u32,
}

fn account(user: &str) -> Account {
    Account { user: user.into(), uid: 1000, gid: 1000, home: PathBuf::from("/home").join(user), virtual_user: false }
}

impl Backend for TestBackend {
    fn authenticate(&mut self, user: &str, password: &[u8], _peer: Option<IpAddr>) -> Result<Account, AuthError> {
        match (user, password) {
            ("alice", b"s3cr3t-alice") => Ok(account("alice")),
            ("bob", b"s3cr3t bob") => Ok(account("bob")),
            ("expired", b"s3cr3t-expired") => Err(AuthError::Refused("account expired".into())),
            ("broken", _) => Err(AuthError::Internal("pam: module unavailable".into())),
            _ => Err(AuthError::BadCredentials),
        }
    }
    fn delay_after_failure(&mut self) {
        self.delays += 1;
    }
    fn open_maildrop(&mut self, _account: &Account) -> Result<Box<dyn Maildrop>, StoreError> {
        if self.in_use {
            return Err(StoreError::new(ErrorKind::InUse, "/var/mail/alice held by pid 42"));
        }
        Ok(Box::new(MemoryMaildrop {
            uid_validity: 0x5f3e0001,
            messages: self.messages.clone(),
            log: self.log.clone(),
            fail_commit: self.fail_commit,
        }))
    }
}

// ---- transcript parsing -------------------------------------------------

#[derive(Default)]
struct Transcript {
    settings_plaintext: bool,
    tls_available: bool,
    tls_active: bool,
    preauth: Option<String>,
    max_auth_failures: u32,
    in_use: bool,
    fail_commit: bool,
    no_peer: bool,
    messages: Vec<(u32, Vec<u8>)>,
    chunks: Vec<Option<Vec<u8>>>, // None = timeout
    expected: Vec<u8>,
    logs: Vec<String>,
    commit: Option<Option<Committed>>,
    outcome: Option<String>,
    uses_stls: bool,
    sends: Option<usize>,
}

fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b.get(i + 1) {
                Some(b'\\') => {
                    out.push(b'\\');
                    i += 2;
                }
                Some(b'x') => {
                    let hex = s.get(i + 2..i + 4).ok_or("short \\x escape")?;
                    out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                    i += 4;
                }
                _ => return Err(format!("bad escape in {:?}", s)),
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn parse_transcript(text: &str) -> Result<Transcript, String> {
    let mut t = Transcript { max_auth_failures: 3, ..Default::default() };
    let mut current: Option<Vec<u8>> = None; // pending client chunk
    let flush_chunk = |t: &mut Transcript, cur: &mut Option<Vec<u8>>| {
        if let Some(c) = cur.take() {
            t.chunks.push(Some(c));
        }
    };
    for (no, raw) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {}", no + 1, m);
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let (tag, rest) = match raw.find([':', '-']) {
            Some(p) => (&raw[..=p], raw[p + 1..].strip_prefix(' ').unwrap_or(&raw[p + 1..])),
            None => return Err(err(format!("no directive: {raw}"))),
        };
        match tag {
            "C:" | "C-" => {
                let mut bytes = unescape(rest).map_err(err)?;
                if tag == "C:" {
                    bytes.extend_from_slice(b"\r\n");
                    if rest.eq_ignore_ascii_case("STLS") || rest.to_ascii_uppercase().starts_with("STLS") {
                        t.uses_stls = true;
                    }
                }
                current.get_or_insert_with(Vec::new).extend_from_slice(&bytes);
            }
            "R:" => {
                flush_chunk(&mut t, &mut current);
                let (n, s) = rest.split_once(' ').ok_or_else(|| err("R: N text".into()))?;
                let n: usize = n.parse().map_err(|_| err("bad count".into()))?;
                t.chunks.push(Some(unescape(s).map_err(err)?.repeat(n)));
            }
            "T:" => {
                flush_chunk(&mut t, &mut current);
                t.chunks.push(None);
            }
            "S:" => {
                flush_chunk(&mut t, &mut current);
                t.expected.extend_from_slice(&unescape(rest).map_err(err)?);
                t.expected.extend_from_slice(b"\r\n");
            }
            "MR:" | "SR:" => {
                let (n, line) = rest.split_once(' ').ok_or_else(|| err("MR:/SR: N text".into()))?;
                let n: usize = n.parse().map_err(|_| err("bad count".into()))?;
                let mut line = unescape(line).map_err(err)?;
                line.extend_from_slice(b"\r\n");
                if tag == "SR:" {
                    flush_chunk(&mut t, &mut current);
                    t.expected.extend_from_slice(&line.repeat(n));
                } else {
                    let m = t.messages.last_mut().ok_or_else(|| err("MR: before message:".into()))?;
                    m.1.extend_from_slice(&line.repeat(n));
                }
            }
            "L:" => t.logs.push(rest.to_string()),
            "M:" => {
                let m = t.messages.last_mut().ok_or_else(|| err("M: before message:".into()))?;
                m.1.extend_from_slice(&unescape(rest).map_err(err)?);
                m.1.extend_from_slice(b"\r\n");
            }
            "message:" => {
                let uid: u32 = rest.trim().parse().map_err(|_| err("bad uid".into()))?;
                t.messages.push((uid, Vec::new()));
            }
            "commit:" => {
                if rest.trim() == "none" {
                    t.commit = Some(None);
                    continue;
                }
                let mut c = Committed::default();
                for part in rest.split_whitespace() {
                    let (k, v) = part.split_once('=').ok_or_else(|| err("commit: k=v".into()))?;
                    let list: Vec<usize> = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| s.parse::<usize>().map(|n| n - 1))
                        .collect::<Result<_, _>>()
                        .map_err(|_| err("bad number".into()))?;
                    match k {
                        "dele" => c.deleted = list,
                        "seen" => c.seen = list,
                        _ => return Err(err(format!("commit key {k}"))),
                    }
                }
                t.commit = Some(Some(c));
            }
            "sends:" => t.sends = Some(rest.trim().parse().map_err(|_| err("bad sends".into()))?),
            "outcome:" => t.outcome = Some(rest.trim().to_string()),
            "set:" => {
                let (k, v) = rest.trim().split_once('=').unwrap_or((rest.trim(), ""));
                match k {
                    "plaintext" => t.settings_plaintext = v == "yes",
                    "tls" if v == "available" => t.tls_available = true,
                    "tls" if v == "active" => t.tls_active = true,
                    "preauth" => t.preauth = Some(v.to_string()),
                    "max_auth_failures" => t.max_auth_failures = v.parse().map_err(|_| err("bad n".into()))?,
                    "in_use" => t.in_use = true,
                    "fail_commit" => t.fail_commit = true,
                    "peer" if v == "none" => t.no_peer = true,
                    _ => return Err(err(format!("unknown set: {rest}"))),
                }
            }
            _ => return Err(err(format!("unknown directive {tag}"))),
        }
    }
    flush_chunk(&mut t, &mut current);
    Ok(t)
}

// ---- running ------------------------------------------------------------

struct Run {
    out: Vec<u8>,
    outcome: String,
    commits: Vec<Committed>,
    logs: Vec<String>,
    max_line_seen: usize,
    sends: usize,
}

fn run(t: &Transcript, piece: Option<usize>) -> Run {
    let mut input = VecDeque::new();
    for c in &t.chunks {
        match c {
            None => input.push_back(Input::Timeout),
            Some(bytes) => match piece {
                None => input.push_back(Input::Data(bytes.clone())),
                Some(seed) => {
                    let mut i = 0;
                    let mut k = seed;
                    while i < bytes.len() {
                        let n = (k % 7 + 1).min(bytes.len() - i);
                        input.push_back(Input::Data(bytes[i..i + n].to_vec()));
                        i += n;
                        k = k.wrapping_mul(31).wrapping_add(17);
                    }
                }
            },
        }
    }
    let mut transport = ScriptTransport {
        input,
        buf: Vec::new(),
        discarding: false,
        out: Vec::new(),
        tls: t.tls_active,
        tls_available: t.tls_available,
        peer: if t.no_peer { None } else { Some("192.0.2.7".parse().expect("ip literal")) },
        max_line_seen: 0,
        sends: 0,
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut backend = TestBackend {
        messages: t.messages.clone(),
        log: log.clone(),
        in_use: t.in_use,
        fail_commit: t.fail_commit,
        delays: 0,
    };
    let settings = Settings {
        hostname: "test.example".into(),
        plaintext_auth_always: t.settings_plaintext,
        max_auth_failures: t.max_auth_failures,
        preauth: t.preauth.as_deref().map(account),
    };
    LOGS.with(|l| l.borrow_mut().clear());
    let outcome = Session::new(&mut transport, &mut backend, &settings).run();
    let logs = LOGS.with(|l| l.borrow_mut().drain(..).collect());
    let commits = log.lock().map(|c| c.clone()).unwrap_or_default();
    Run { out: transport.out, outcome: format!("{:?}", outcome), commits, logs, max_line_seen: transport.max_line_seen, sends: transport.sends }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\u{21b5}\n")
}

fn diff(expected: &[u8], got: &[u8]) -> String {
    let e = show(expected);
    let g = show(got);
    let mut s = String::new();
    let el: Vec<&str> = e.lines().collect();
    let gl: Vec<&str> = g.lines().collect();
    for i in 0..el.len().max(gl.len()) {
        let a = el.get(i).copied().unwrap_or("<none>");
        let b = gl.get(i).copied().unwrap_or("<none>");
        let mark = if a == b { "  " } else { "!!" };
        s.push_str(&format!("{mark} {i:3} want {a:?}\n{mark}     got  {b:?}\n"));
    }
    s
}

fn check(name: &str, t: &Transcript, r: &Run, mode: &str) -> Vec<String> {
    let mut fails = Vec::new();
    let ctx = format!("{name} ({mode})");
    if r.out != t.expected {
        fails.push(format!("{ctx}: output differs\n{}", diff(&t.expected, &r.out)));
    }
    if let (Some(want), "as written") = (t.sends, mode) {
        if r.sends != want {
            fails.push(format!("{ctx}: {} writes, want {want}", r.sends));
        }
    }
    if let Some(want) = &t.outcome {
        if &r.outcome != want {
            fails.push(format!("{ctx}: outcome {} want {}", r.outcome, want));
        }
    }
    match &t.commit {
        Some(None) if !r.commits.is_empty() => fails.push(format!("{ctx}: unexpected commit {:?}", r.commits)),
        Some(Some(c)) if r.commits.as_slice() != std::slice::from_ref(c) => {
            fails.push(format!("{ctx}: commit {:?} want {:?}", r.commits, c))
        }
        _ => {}
    }
    let mut at = 0;
    for want in &t.logs {
        match r.logs[at..].iter().position(|l| l.contains(want.as_str())) {
            Some(p) => at += p + 1,
            None => fails.push(format!("{ctx}: log line {want:?} missing (in order) from {:#?}", r.logs)),
        }
    }
    for secret in ["s3cr3t", "bad-pass"] {
        if r.logs.iter().any(|l| l.contains(secret)) {
            fails.push(format!("{ctx}: a password reached the log: {:#?}", r.logs));
        }
        if String::from_utf8_lossy(&r.out).contains(secret) {
            fails.push(format!("{ctx}: a password was echoed to the client"));
        }
    }
    if r.max_line_seen > 64 * 1024 {
        fails.push(format!("{ctx}: line buffer grew to {}", r.max_line_seen));
    }
    fails
}

fn transcript_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/pop3")
}

#[test]
fn pop3_transcripts() {
    init_logger();
    let mut files: Vec<PathBuf> = std::fs::read_dir(transcript_dir())
        .expect("tests/transcripts/pop3 exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "t"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "transcripts missing: {}", files.len());
    let mut fails = Vec::new();
    for f in &files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(f).expect("readable transcript");
        let t = match parse_transcript(&text) {
            Ok(t) => t,
            Err(e) => {
                fails.push(format!("{name}: {e}"));
                continue;
            }
        };
        fails.extend(check(&name, &t, &run(&t, None), "as written"));
        if !t.uses_stls {
            for seed in [1usize, 5] {
                fails.extend(check(&name, &t, &run(&t, Some(seed)), &format!("chunked seed {seed}")));
            }
        }
    }
    assert!(fails.is_empty(), "{} transcript failure(s):\n{}", fails.len(), fails.join("\n"));
}
