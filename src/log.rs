//! Logging: syslog(3) behind the `log` facade, ident = program name, with
//! pid, facility from `syslog_facility`; one key=value line per event. STUB.
