#![no_main]
// Body: `ftp_session::fuzzing::client_session` (fuzz/README.md says what it checks).
libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_session::fuzzing::client_session(data));
