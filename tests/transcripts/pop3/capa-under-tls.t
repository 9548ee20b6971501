# Under TLS (pop3s): USER and SASL offered, STLS not; after login CAPA lists
# only what TRANSACTION uses (RFC 2449 §5).
set: tls=active
message: 1
M: From: a@example.org
M: Subject: one
M:
M: Hello.
message: 2
M: Subject: two
M:
M: .leading dot
M: ..two dots
M: .
M: end

S: +OK test.example POP3 server ready
C: CAPA
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
S: -ERR Already using TLS
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: +OK Mailbox open, 2 messages (95 octets)
L: Login user=alice host=[192.0.2.7] nmsgs=2 tls=TLSv1.3/TLS13_AES_256_GCM_SHA384
C: CAPA
S: +OK Capability list follows
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: EXPIRE NEVER
S: IMPLEMENTATION postern
S: .
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
commit: dele= seen=
