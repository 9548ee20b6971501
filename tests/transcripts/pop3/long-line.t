# A 1 MB line without CRLF, then more: -ERR, the session stays usable and
# the bytes after the next LF are a normal command.
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
R: 100000 0123456789
C: STAT
S: -ERR Line too long
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: +OK Mailbox open, 2 messages (95 octets)
R: 2000 DELE 1
C:
S: -ERR Line too long
C: STAT
S: +OK 2 95
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
commit: dele= seen=
