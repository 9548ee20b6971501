# Backend failure is [SYS/TEMP]; a refused account looks like a bad
# password to the client, with the reason in the log only.
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
C: USER broken
S: +OK User name accepted, password please
C: PASS bad-pass-x
S: -ERR [SYS/TEMP] Authentication temporarily unavailable
L: Login failed user=broken host=[192.0.2.7] reason="internal error"
C: USER expired
S: +OK User name accepted, password please
C: PASS s3cr3t-expired
S: -ERR [AUTH] Authentication failed
L: Login failed user=expired host=[192.0.2.7] reason="account expired"
C: USER bob
S: +OK User name accepted, password please
C: PASS s3cr3t bob
S: +OK Mailbox open, 2 messages (95 octets)
L: Login user=bob host=[192.0.2.7] nmsgs=2
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
