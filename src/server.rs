//! What every binary does before its protocol starts: fd 2 to /dev/null,
//! command line and configuration, syslog, panic hook, implicit-TLS
//! decision from the local port. STUB.
