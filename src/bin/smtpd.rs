//! smtpd — SMTP server (MX and submission) for one inetd connection on
//! fd 0/fd 1, delivering local mail into mbox spools.
//! Everything is in the library: [`postern::server::main`] sets the process
//! up, [`postern::smtp::serve`] speaks the protocol. See man/smtpd.8.

fn main() -> std::process::ExitCode {
    postern::server::main(postern::config::Server::Smtp, postern::smtp::serve)
}
