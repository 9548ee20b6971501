# Binary garbage, unknown commands, empty lines, an over-long line: each a
# clean -ERR that never echoes input; the tenth error closes the connection.
S: +OK test.example POP3 server ready
C: \x00\xff\xfe\x80
S: -ERR Unknown command
C: XYZZY
S: -ERR Unknown command
C:
S: -ERR Unknown command
C: \x1b[2J
S: -ERR Unknown command
R: 100000 x
C:
S: -ERR Line too long
C: USER
S: -ERR Syntax error in arguments
C: STAT now
S: -ERR Syntax error in arguments
C: GET / HTTP/1.0
S: -ERR Unknown command
C: APOP alice 0123456789abcdef0123456789abcdef
S: -ERR APOP not supported
C: NOOP
S: -ERR Command not valid in this state
S: -ERR Too many errors, closing connection
C: QUIT
L: Too many errors host=[192.0.2.7]
outcome: TooManyErrors
commit: none
