# RFC 2449 §6.6 PIPELINING: a whole session in one write.
set: plaintext=yes
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
C: USER alice
C: PASS s3cr3t-alice
C: STAT
C: LIST
C: UIDL 2
C: RETR 1
C: TOP 2 0
C: DELE 1
C: NOOP
C: QUIT
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
S: +OK User name accepted, password please
S: +OK Mailbox open, 2 messages (95 octets)
S: +OK 2 95
S: +OK 2 messages (95 octets)
S: 1 45
S: 2 50
S: .
S: +OK 2 5f3e000100000002
S: +OK 45 octets
S: From: a@example.org
S: Subject: one
S:
S: Hello.
S: .
S: +OK
S: Subject: two
S:
S: .
S: +OK Message 1 deleted
S: +OK
S: +OK test.example POP3 server signing off (1 messages left)
outcome: Quit
commit: dele=1 seen=
# Greeting, then all eleven replies in one write.
sends: 2
