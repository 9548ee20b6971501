# idle_timeout: 421 4.4.2 and close.
mode: mx
S: 220 *
C: HELO c
S: 250 *
TIMEOUT
S: 421 4.4.2 Idle timeout, closing connection
C: NOOP
