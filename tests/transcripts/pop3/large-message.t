# A 110,000-octet message of dot lines: sent in parts, every line stuffed,
# the size in LIST/RETR equal to the octets before stuffing.
set: plaintext=yes
message: 1
M: Subject: big
M:
MR: 5000 .dot line 0123456789
S: +OK test.example POP3 server ready
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: +OK Mailbox open, 1 messages (110016 octets)
C: RETR 1
S: +OK 110016 octets
S: Subject: big
S:
SR: 5000 ..dot line 0123456789
S: .
C: TOP 1 2
S: +OK
S: Subject: big
S:
S: ..dot line 0123456789
S: ..dot line 0123456789
S: .
C: QUIT
S: +OK test.example POP3 server signing off (1 messages left)
outcome: Quit
commit: dele= seen=1
