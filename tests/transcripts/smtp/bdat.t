# RFC 3030 CHUNKING: BDAT chunks, LAST, pipelined chunks, BDAT out of order.
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
C: BDAT 5
R: hello
S: 503 5.5.1 Need MAIL command
C: MAIL FROM:<a@b.example>
C: RCPT TO:<alice@mx.example>
C: BDAT 14
R: Subject: x\r\n\r\n
C: BDAT 9
R: line\r\n.\r\n
C: BDAT 0 LAST
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.0.0 14 octets received
S: 250 2.0.0 9 octets received
S: 250 2.0.0 OK id=*
D: from=<a@b.example> local=alice remote=
H: \nSubject: x\n\nline\n.\n
C: MAIL FROM:<a@b.example>
C: RCPT TO:<alice@mx.example>
C: BDAT 3
R: abc
C: DATA
C: BDAT 3 LAST
R: def
C: BDAT x
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.0.0 3 octets received
S: 503 5.5.1 DATA not allowed after BDAT
S: 250 2.0.0 OK id=*
S: 501 5.5.4 Syntax: BDAT size [LAST]
count: 2
D: from=<a@b.example> local=alice remote=
H: with ESMTP id 
H: abcdef
