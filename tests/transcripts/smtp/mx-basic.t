# MX mode, one message, step by step (not pipelined).
mode: mx
users: alice bob
S: 220 mx.example ESMTP postern
C: EHLO client.example
S: 250-mx.example Hello client.example
S: 250-PIPELINING
S: 250-SIZE 10000
S: 250-8BITMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-SMTPUTF8
S: 250 CHUNKING
C: MAIL FROM:<sender@far.example>
S: 250 2.1.0 Sender OK
C: RCPT TO:<alice@mx.example>
S: 250 2.1.5 Recipient OK
C: DATA
S: 354 End data with <CR><LF>.<CR><LF>
C: Subject: hello
C: 
C: body line
C: .
S: 250 2.0.0 OK id=*
C: QUIT
S: 221 2.0.0 mx.example closing connection
count: 1
D: from=<sender@far.example> local=alice remote=
H: Return-Path: <sender@far.example>\nReceived: from client.example ([192.0.2.7])\n\tby mx.example (postern) with ESMTP id 
H: \n\tfor <alice@mx.example>;\n\t
H: \nSubject: hello\n\nbody line\n
!H: \r
!H: Message-ID:
!H: version=
