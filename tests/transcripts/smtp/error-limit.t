# 20 client errors end the session with 421 4.7.0.
mode: mx
S: 220 *
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: BOGUS
S: 500 5.5.1 Command unrecognized
C: NOOP
S: 250 2.0.0 OK
C: BOGUS
S: 500 5.5.1 Command unrecognized
S: 421 4.7.0 Too many errors, closing connection
C: NOOP
