#![no_main]
// Body: `ftp_proto::fuzzing::listing_enterprise` (fuzz/README.md says what it checks).
libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_proto::fuzzing::listing_enterprise(data));
