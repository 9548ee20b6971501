# Connection dropped in TRANSACTION: nothing is deleted (RFC 1939 §6).
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
C: DELE 1
S: +OK Message 1 deleted
C: RETR 2
S: +OK 50 octets
S: Subject: two
S:
S: ..leading dot
S: ...two dots
S: ..
S: end
S: .
C- QUI
outcome: Eof
commit: none
