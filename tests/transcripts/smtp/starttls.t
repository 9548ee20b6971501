# RFC 3207: STARTTLS offered with a certificate, state forgotten after it.
mode: mx
tls: available
users: alice
S: 220 *
C: EHLO c
S: 250-mx.example Hello c
S: 250-PIPELINING
S: 250-SIZE 10000
S: 250-8BITMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-STARTTLS
S: 250-SMTPUTF8
S: 250 CHUNKING
C: STARTTLS extra
S: 501 5.5.4 Syntax: STARTTLS
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
~
C: MAIL FROM:<a@b.example>
S: 503 5.5.1 Send HELO/EHLO first
C: EHLO c
S: 250-mx.example Hello c
S: 250-PIPELINING
S: 250-SIZE 10000
S: 250-8BITMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-SMTPUTF8
S: 250 CHUNKING
C: STARTTLS
S: 503 5.5.1 TLS already active
C: MAIL FROM:<a@b.example>
S: 250 2.1.0 Sender OK
C: RCPT TO:<alice@mx.example>
S: 250 2.1.5 Recipient OK
C: DATA
S: 354 *
C: x
C: .
S: 250 2.0.0 OK *
H: with ESMTPS id 
H: \n\t(version=TLSv1.3 cipher=TLS13_AES_256_GCM_SHA384)\n
