//! `pop3::serve` through the real `server::run` and `io::Conn` (in-memory
//! `RawIo`): the production wiring of the session, without a process.
//! Logins that would drop privileges are left to tests/integration.

use postern::config::Server;
use postern::io::{Conn, RawIo};
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Script {
    input: io::Cursor<Vec<u8>>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RawIo for Script {
    fn wait_readable(&mut self, _timeout: Duration) -> io::Result<bool> {
        Ok(true)
    }
}

fn serve(args: &[&str], input: &[u8]) -> (ExitCode, String) {
    let output = Arc::new(Mutex::new(Vec::new()));
    let conn = Conn::new(Box::new(Script { input: io::Cursor::new(input.to_vec()), output: output.clone() }));
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    // stdin_is_socket = true: no PREAUTH for the test runner's user.
    let code = postern::server::run(Server::Pop3, &args, conn, true, postern::pop3::serve);
    let out = output.lock().map(|o| String::from_utf8_lossy(&o).into_owned()).unwrap_or_default();
    (code, out)
}

const BASE: &[&str] = &["-c", "/dev/null", "-o", "hostname=test.example", "-o", "cert_dir=/nonexistent"];

#[test]
fn capa_and_plaintext_refusal_over_conn() {
    let (code, out) = serve(BASE, b"CAPA\r\nUSER alice\r\nSTAT\r\nQUIT\r\n");
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(
        out,
        "+OK test.example POP3 server ready\r\n\
         +OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n\
         EXPIRE NEVER\r\nIMPLEMENTATION postern\r\n.\r\n\
         -ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n\
         -ERR Command not valid in this state\r\n\
         +OK test.example POP3 server signing off\r\n"
    );
}

#[test]
fn stls_without_certificate_and_eof() {
    let mut args = BASE.to_vec();
    args.extend(["-o", "plaintext_auth=yes"]);
    let (code, out) = serve(&args, b"STLS\r\nCAPA\r\n");
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(out.starts_with("+OK test.example POP3 server ready\r\n-ERR TLS not available\r\n"), "{out}");
    assert!(out.contains("\r\nUSER\r\nSASL PLAIN LOGIN\r\n") && !out.contains("STLS"), "{out}");
}

#[test]
fn configuration_error_is_told_to_the_client() {
    let (code, out) = serve(&["-c", "/nonexistent/postern.conf"], b"CAPA\r\n");
    assert_eq!(code, ExitCode::from(78)); // EX_CONFIG, as ipop3d(8) says
    assert_eq!(out, "-ERR [SYS/TEMP] Server configuration error, see server log\r\n");
}

#[test]
fn over_long_line_through_the_real_line_reader() {
    let mut input = vec![b'x'; 3 * 1024 * 1024];
    input.extend_from_slice(b"\r\nNOOP\r\nQUIT\r\n");
    let (_, out) = serve(BASE, &input);
    assert_eq!(
        out,
        "+OK test.example POP3 server ready\r\n-ERR Line too long\r\n\
         -ERR Command not valid in this state\r\n+OK test.example POP3 server signing off\r\n"
    );
}
