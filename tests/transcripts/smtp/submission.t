# Submission (587): AUTH only under TLS, required before MAIL; Message-ID
# and Date added; Received records the user.
mode: submission
tls: available
users: alice bob
S: 220 *
C: EHLO laptop
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-STARTTLS
S: 250-SMTPUTF8
S: 250 CHUNKING
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 538 5.7.11 Encryption required for requested authentication mechanism
C: MAIL FROM:<alice@mx.example>
S: 530 5.7.0 Authentication required
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 503 5.5.1 Send EHLO first
C: EHLO laptop
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-AUTH PLAIN LOGIN
S: 250-SMTPUTF8
S: 250 CHUNKING
C: AUTH CRAM-MD5
S: 504 5.5.4 Unrecognized authentication type
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 235 2.7.0 Authentication successful
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 503 5.5.1 Already authenticated
C: EHLO laptop
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-SMTPUTF8
S: 250 CHUNKING
C: MAIL FROM:<alice@mx.example>
S: 250 2.1.0 Sender OK
C: RCPT TO:<bob@mx.example>
S: 250 2.1.5 Recipient OK
C: RCPT TO:<someone@far.example>
S: 550 5.7.1 Relaying denied
C: DATA
S: 354 *
C: Subject: no id
C: 
C: hi
C: .
S: 250 2.0.0 OK id=*
D: from=<alice@mx.example> local=bob remote=
H: with ESMTPSA id 
H: \n\t(version=TLSv1.3 cipher=TLS13_AES_256_GCM_SHA384)\n\t(authenticated user=alice)\n\tfor <bob@mx.example>;
H: \nMessage-ID: <
H: @mx.example>\nDate: 
H: \nSubject: no id\n\nhi\n
