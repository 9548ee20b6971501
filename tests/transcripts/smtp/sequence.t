# Commands out of order, and the commands valid in any state.
mode: mx
users: alice
S: 220 mx.example ESMTP postern
C: MAIL FROM:<a@b.example>
S: 503 5.5.1 Send HELO/EHLO first
C: NOOP
S: 250 2.0.0 OK
C: VRFY alice
S: 252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery
C: HELP
S: 214 2.0.0 Commands: *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 CHUNKING
C: RCPT TO:<alice@mx.example>
S: 503 5.5.1 Need MAIL before RCPT
C: DATA
S: 503 5.5.1 Need MAIL command
C: MAIL FROM:<a@b.example>
S: 250 2.1.0 Sender OK
C: MAIL FROM:<a@b.example>
S: 503 5.5.1 Sender already specified
C: DATA
S: 554 5.5.1 No valid recipients
C: RSET
S: 250 2.0.0 OK
C: RCPT TO:<alice@mx.example>
S: 503 5.5.1 Need MAIL before RCPT
C: FROB
S: 500 5.5.1 Command unrecognized
C: DATA now
S: 501 5.5.4 Syntax: DATA
C: QUIT now
S: 501 5.5.4 Syntax: QUIT
C: quit
S: 221 2.0.0 mx.example closing connection
C: NOOP
count: 0
