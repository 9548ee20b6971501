# PREAUTH (fd 0 not a socket, not root): the maildrop is open right after
# the greeting, so STAT works at once; a client that logs in anyway gets
# +OK for the invoking user's name with any password, -ERR for another.
set: preauth=alice
set: peer=none
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
S: +OK test.example POP3 server ready, preauthenticated
L: Login user=alice host=[local] nmsgs=2
C: STAT
S: +OK 2 95
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
C: USER bob
S: +OK User name accepted, password please
C: PASS s3cr3t bob
S: -ERR [AUTH] Authentication failed
L: Login failed user=bob host=[local] reason="not the invoking user"
C: USER alice
S: +OK User name accepted, password please
C: PASS anything
S: +OK Mailbox open, 2 messages (95 octets)
C: AUTH PLAIN AGFsaWNlAHh4
S: +OK Mailbox open, 2 messages (95 octets)
C: STLS
S: -ERR Command not valid in this state
C: DELE 2
S: +OK Message 2 deleted
C: QUIT
S: +OK test.example POP3 server signing off (1 messages left)
outcome: Quit
commit: dele=2 seen=
