# RFC 2920: the whole transaction in one write, the body in the next.
mode: mx
users: alice bob
C: EHLO c
C: MAIL FROM:<a@b.example>
C: RCPT TO:<alice@mx.example>
C: RCPT TO:<nobody@mx.example>
C: RCPT TO:<bob@mx.example>
C: RCPT TO:<bob@mx.example>
C: DATA
S: 220 mx.example ESMTP postern
S: 250-mx.example Hello c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 CHUNKING
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 550 5.1.1 User unknown
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 354 *
C: one
C: .
C: MAIL FROM:<c@d.example>
C: RCPT TO:<alice@mx.example>
C: DATA
S: 250 2.0.0 OK id=*
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 *
C: two
C: .
C: QUIT
S: 250 2.0.0 OK id=*
S: 221 *
count: 2
D: from=<a@b.example> local=alice,bob remote=
D: from=<c@d.example> local=alice remote=
H: \ntwo\n
