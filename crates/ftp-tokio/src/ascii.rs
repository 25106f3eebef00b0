//! TYPE A line ends (RFC 959 section 3.1.1.1): both drivers use the
//! codec's chunk-by-chunk converters ([`ftp_proto::ascii`]).

pub(crate) use ftp_proto::ascii::{FromWire, ToWire};
