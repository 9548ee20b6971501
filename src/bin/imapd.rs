//! imapd: one IMAP connection on fd 0/fd 1 (inetd), see imapd(8).
fn main() -> std::process::ExitCode {
    postern::server::main(postern::config::Server::Imap, postern::imap::serve)
}
