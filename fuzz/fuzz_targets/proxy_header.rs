#![no_main]
// `ftp_tokio::proxy::parse` (issue 19: PROXY protocol v1/v2 headers from a
// trusted balancer; fuzz/README.md says what it checks).
use ftp_tokio::proxy::{parse, Parsed, V2_MAX_LEN};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let whole = parse(data);
    match whole {
        Parsed::Header { len, .. } => {
            // A header is within the input and the cap, the same whatever
            // follows it, and no proper prefix of it is a header.
            assert!(len <= data.len() && len <= V2_MAX_LEN);
            assert_eq!(parse(&data[..len]), whole);
            for cut in [0, 1, len / 2, len.saturating_sub(1)] {
                if cut < len {
                    assert_eq!(parse(&data[..cut]), Parsed::Incomplete);
                }
            }
        }
        // Every prefix of an incomplete header is incomplete too (the
        // reader consumes the bytes it saw only then).
        Parsed::Incomplete => {
            assert!(data.len() < V2_MAX_LEN);
            assert_eq!(parse(&data[..data.len() / 2]), Parsed::Incomplete);
        }
        _ => {}
    }
});
