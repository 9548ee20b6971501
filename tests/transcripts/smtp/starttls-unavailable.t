# No certificate: STARTTLS neither offered nor accepted.
mode: mx
tls: none
S: 220 *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-ENHANCEDSTATUSCODES
S: 250-SMTPUTF8
S: 250 CHUNKING
C: STARTTLS
S: 454 4.7.0 TLS not available
