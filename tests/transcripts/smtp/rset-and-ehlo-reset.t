# RSET and a new EHLO both end a transaction, BDAT chunks included.
mode: mx
users: alice
S: 220 *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 CHUNKING
C: MAIL FROM:<a@b.example>
C: RCPT TO:<alice@mx.example>
C: BDAT 4
R: abcd
C: RSET
C: BDAT 2 LAST
R: ef
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.0.0 4 octets received
S: 250 2.0.0 OK
S: 503 5.5.1 Need MAIL command
C: MAIL FROM:<a@b.example>
S: 250 2.1.0 Sender OK
C: EHLO again
S: 250-mx.example Hello again
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 CHUNKING
C: RCPT TO:<alice@mx.example>
S: 503 5.5.1 Need MAIL before RCPT
count: 0
