# plaintext_auth = tls, certificate present, no TLS yet: CAPA hides USER and
# SASL, offers STLS; USER/PASS/AUTH are refused with [AUTH] (RFC 2449 §8, RFC 3206).
set: tls=available
S: +OK test.example POP3 server ready
C: CAPA
S: +OK Capability list follows
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: EXPIRE NEVER
S: STLS
S: IMPLEMENTATION postern
S: .
C: USER alice
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connections
C: PASS s3cr3t-alice
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connections
C: AUTH PLAIN AGFsaWNlAHMzY3IzdC1hbGljZQ==
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connections
C: AUTH LOGIN
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connections
C: AUTH
S: +OK Supported mechanisms follow
S: .
C: QUIT
S: +OK test.example POP3 server signing off
outcome: Quit
commit: none
