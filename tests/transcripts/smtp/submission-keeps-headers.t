# Submission keeps a client's own Message-ID and Date; AUTH LOGIN;
# relay_command takes non-local recipients.
mode: submission
plaintext_auth: yes
relay: yes
users: alice bob
S: 220 *
C: EHLO laptop
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-AUTH PLAIN LOGIN
S: 250-SMTPUTF8
S: 250 CHUNKING
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: YWxpY2U=
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 235 2.7.0 Authentication successful
C: MAIL FROM:<alice@mx.example>
S: 250 *
C: RCPT TO:<bob@mx.example>
S: 250 *
C: RCPT TO:<carol@far.example>
S: 250 2.1.5 Recipient OK
C: RCPT TO:<-oQ/tmp@far.example>
S: 501 5.1.3 Bad recipient address syntax
C: DATA
S: 354 *
C: Message-ID: <mine@laptop>
C: Date: Mon, 1 Jan 2024 00:00:00 +0000
C: 
C: hi
C: .
S: 250 2.0.0 OK *
D: from=<alice@mx.example> local=bob remote=carol@far.example
H: with ESMTPA id 
H: \n\t(authenticated user=alice);\n
!H: Message-ID: <mine@laptop>\nMessage-ID
!H: \nDate: Mon, 1 Jan 2024 00:00:00 +0000\nDate
N: 1 Message-ID:
N: 1 \nDate:
