# SMTPUTF8 (RFC 6531) lets UTF-8 addresses through.
mode: mx
users: alice
S: 220 *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-SMTPUTF8
S: 250 CHUNKING
C: MAIL FROM:<jörg@bücher.example> SMTPUTF8 BODY=8BITMIME
S: 250 2.1.0 Sender OK
C: RCPT TO:<alice@mx.example>
S: 250 2.1.5 Recipient OK
C: DATA
S: 354 *
C: Subject: Grüße
C: 
C: ü
C: .
S: 250 2.0.0 OK *
D: from=<jörg@bücher.example> local=alice remote=
H: Subject: Grüße\n\nü\n
