//! The Status/X-Status/X-Keywords/X-UID codec on arbitrary header lines,
//! and render → parse round trips, padded and fitted in place
//! (`postern::store::mbox::fuzzing::header_codec`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    postern::store::mbox::fuzzing::header_codec(data);
});
