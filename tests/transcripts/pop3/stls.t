# STLS (RFC 2595 §4): +OK, handshake, then plaintext mechanisms appear.
set: tls=available
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
C: STLS
S: +OK Begin TLS negotiation
S: [TLS started]
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
C: AUTH PLAIN AGFsaWNlAHMzY3IzdC1hbGljZQ==
S: +OK Mailbox open, 2 messages (95 octets)
L: Login user=alice host=[192.0.2.7] nmsgs=2 tls=
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
L: Update user=alice host=[192.0.2.7] nmsgs=2 ndele=0
L: Logout user=alice host=[192.0.2.7]
outcome: Quit
