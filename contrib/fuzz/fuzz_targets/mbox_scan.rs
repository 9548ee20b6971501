//! The mbox From_ scanner on arbitrary bytes: same messages whole and in
//! chunks, offsets in bounds, sizes equal to the client view
//! (`postern::store::mbox::fuzzing::scan`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    postern::store::mbox::fuzzing::scan(data);
});
