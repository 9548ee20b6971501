# Address syntax, local users, postmaster, relaying, parameters.
mode: mx
users: alice root
S: 220 mx.example ESMTP postern
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 CHUNKING
C: MAIL FROM:<bad address@x>
S: 501 5.1.7 Bad sender address syntax
C: MAIL FROM:<a@b> SIZE=10001
S: 552 5.3.4 Message size exceeds fixed limit
C: MAIL FROM:<a@b> RET=FULL
S: 555 5.5.4 Unsupported parameter RET=FULL
C: MAIL FROM:<jörg@b.example>
S: 553 5.6.7 Non-ASCII address requires SMTPUTF8
C: MAIL FROM:<> SIZE=100 BODY=8BITMIME
S: 250 2.1.0 Sender OK
C: RCPT TO:<alice>
S: 501 5.1.3 Bad recipient address syntax
C: RCPT TO:<nobody@mx.example>
S: 550 5.1.1 User unknown
C: RCPT TO:<alice@far.example>
S: 550 5.7.1 Relaying denied
C: RCPT TO:<jörg@mx.example>
S: 553 5.6.7 Non-ASCII address requires SMTPUTF8
C: RCPT TO:<tempfail@mx.example>
S: 451 4.3.0 Temporary recipient lookup failure
C: RCPT TO:<alice@MX.Example>
S: 250 2.1.5 Recipient OK
C: RCPT TO:<ALICE@example.org>
S: 250 2.1.5 Recipient OK
C: RCPT TO:<Postmaster>
S: 250 2.1.5 Recipient OK
C: RCPT TO:<postmaster@mx.example>
S: 250 2.1.5 Recipient OK
C: RCPT TO:<alice@mx.example> NOTIFY=NEVER
S: 555 5.5.4 Unsupported parameter NOTIFY=NEVER
C: DATA
S: 354 *
C: Subject: bounce
C: .
S: 250 2.0.0 OK id=*
count: 1
D: from=<> local=alice,root remote=
H: Return-Path: <>\n
!H: for <
