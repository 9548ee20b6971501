# HELO: no keywords, no ESMTP parameters, Received says SMTP.
mode: mx
users: alice
S: 220 mx.example ESMTP postern
C: HELO old.example
S: 250 mx.example Hello old.example
C: MAIL FROM:<a@b.example> SIZE=10
S: 555 5.5.4 Unsupported parameter (parameters need EHLO)
C: MAIL FROM:<a@b.example>
S: 250 2.1.0 Sender OK
C: RCPT TO:<alice@mx.example>
S: 250 2.1.5 Recipient OK
C: DATA
S: 354 *
C: x
C: .
S: 250 2.0.0 OK id=*
C: HELO
S: 501 5.5.4 Syntax: HELO domain
count: 1
H: with SMTP id
