# plaintext_auth = yes and no certificate: USER and SASL offered, no STLS.
set: plaintext=yes
S: +OK test.example POP3 server ready
C: capa
S: +OK Capability list follows
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: EXPIRE NEVER
S: USER
S: SASL PLAIN LOGIN
S: IMPLEMENTATION postern
S: .
C: STLS
S: -ERR TLS not available
C: AUTH
S: +OK Supported mechanisms follow
S: PLAIN
S: LOGIN
S: .
C: AUTH CRAM-MD5
S: -ERR Unsupported authentication mechanism
C: QUIT
S: +OK test.example POP3 server signing off
outcome: Quit
