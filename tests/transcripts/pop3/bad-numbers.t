# Message numbers: 0, past the end, past u32, negative, junk: clean -ERR.
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
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: +OK Mailbox open, 2 messages (95 octets)
C: LIST 0
S: -ERR No such message
C: LIST 3
S: -ERR No such message
C: LIST 4294967296
S: -ERR Syntax error in arguments
C: LIST 4294967295
S: -ERR No such message
C: LIST -1
S: -ERR Syntax error in arguments
C: RETR 0
S: -ERR No such message
C: TOP 9 1
S: -ERR No such message
C: DELE 1x
S: -ERR Syntax error in arguments
C: UIDL 0
S: -ERR No such message
C: STAT
S: +OK 2 95
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
commit: dele= seen=
