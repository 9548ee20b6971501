# Message bytes served as stored: NUL, 8-bit, "From " body lines, an empty
# body; TOP on a message without a body; sizes match RETR.
set: plaintext=yes
message: 7
M: Subject: bin
M:
M: nul\x00byte \xe9\xff
M: From here on
M: >From quoted stays
message: 4294967295
M: Subject: header only
S: +OK test.example POP3 server ready
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: +OK Mailbox open, 2 messages (85 octets)
C: LIST
S: +OK 2 messages (85 octets)
S: 1 63
S: 2 22
S: .
C: UIDL
S: +OK
S: 1 5f3e000100000007
S: 2 5f3e0001ffffffff
S: .
C: RETR 1
S: +OK 63 octets
S: Subject: bin
S:
S: nul\x00byte \xe9\xff
S: From here on
S: >From quoted stays
S: .
C: TOP 2 10
S: +OK
S: Subject: header only
S: .
C: RETR 2
S: +OK 22 octets
S: Subject: header only
S: .
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
commit: dele= seen=1,2
