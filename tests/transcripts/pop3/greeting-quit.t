# QUIT in AUTHORIZATION: goodbye, nothing committed (RFC 1939 §4).
S: +OK test.example POP3 server ready
C: QUIT
S: +OK test.example POP3 server signing off
outcome: Quit
commit: none
