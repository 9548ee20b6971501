# MX mode never offers or accepts AUTH.
mode: mx
plaintext_auth: yes
S: 220 *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-ENHANCEDSTATUSCODES
S: 250-SMTPUTF8
S: 250 CHUNKING
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 503 5.5.1 AUTH not available
