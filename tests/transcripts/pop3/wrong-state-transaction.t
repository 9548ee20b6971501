# AUTHORIZATION commands after login: -ERR; the session goes on.
set: plaintext=yes
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
C: AUTH PLAIN
S: +\x20
C: *
S: -ERR Authentication cancelled
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: +OK Mailbox open, 2 messages (95 octets)
C: USER alice
S: -ERR Command not valid in this state
C: PASS s3cr3t-alice
S: -ERR Command not valid in this state
C: AUTH PLAIN AGFsaWNlAHMzY3IzdC1hbGljZQ==
S: -ERR Command not valid in this state
C: STLS
S: -ERR Command not valid in this state
C: APOP alice 0123456789abcdef0123456789abcdef
S: -ERR Command not valid in this state
C: STAT
S: +OK 2 95
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
