# CVE-2011-0411 class: commands pipelined after STARTTLS in the same
# plaintext write are discarded, never executed inside TLS.
mode: mx
tls: available
users: alice
S: 220 *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-STARTTLS
S: 250-*
S: 250 CHUNKING
~
C: STARTTLS
C: MAIL FROM:<a@b>
C: RCPT TO:<alice@mx.example>
S: 220 2.0.0 Ready to start TLS
~
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 CHUNKING
C: RCPT TO:<alice@mx.example>
S: 503 5.5.1 Need MAIL before RCPT
count: 0
