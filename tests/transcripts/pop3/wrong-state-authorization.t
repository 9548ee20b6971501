# TRANSACTION commands before login: -ERR, nothing else happens.
set: plaintext=yes
S: +OK test.example POP3 server ready
C: STAT
S: -ERR Command not valid in this state
C: LIST
S: -ERR Command not valid in this state
C: RETR 1
S: -ERR Command not valid in this state
C: DELE 1
S: -ERR Command not valid in this state
C: NOOP
S: -ERR Command not valid in this state
C: RSET
S: -ERR Command not valid in this state
C: TOP 1 1
S: -ERR Command not valid in this state
C: UIDL
S: -ERR Command not valid in this state
C: PASS s3cr3t-alice
S: -ERR No user name given; send USER first
C: QUIT
S: +OK test.example POP3 server signing off
outcome: Quit
commit: none
