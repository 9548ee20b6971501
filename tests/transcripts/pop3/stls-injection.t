# Commands pipelined after STLS in the same plaintext write are discarded,
# never answered inside TLS (CVE-2011-0411 class; RFC 2595 §4).
set: tls=available
S: +OK test.example POP3 server ready
C: STLS
C: CAPA
C: USER alice
S: +OK Begin TLS negotiation
S: [TLS started]
L: STLS discarding pipelined plaintext host=[192.0.2.7]
C: QUIT
S: +OK test.example POP3 server signing off
outcome: Quit
