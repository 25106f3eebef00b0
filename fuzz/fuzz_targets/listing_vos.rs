#![no_main]
// Body: `ftp_proto::fuzzing::listing_vos` (fuzz/README.md says what it checks).
libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_proto::fuzzing::listing_vos(data));
