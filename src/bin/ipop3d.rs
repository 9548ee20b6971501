//! ipop3d — POP3 server for one inetd connection on fd 0/fd 1.
//! Everything is in the library: [`postern::server::main`] sets the process
//! up, [`postern::pop3::serve`] speaks the protocol. See man/ipop3d.8.

fn main() -> std::process::ExitCode {
    postern::server::main(postern::config::Server::Pop3, postern::pop3::serve)
}
