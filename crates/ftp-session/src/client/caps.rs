//! What a server says it can do: the `FEAT` reply as a capability set
//! (RFC 2389 section 3, RFC 3659 sections 3-7, RFC 4217 section 6).

use ftp_proto::Reply;

/// The features a server listed in its 211 reply to `FEAT`.
///
/// ```
/// use bytes::BytesMut;
/// use ftp_proto::{ParseOptions, ReplyDecoder};
/// use ftp_session::client::Capabilities;
///
/// let mut buf = BytesMut::from(&b"211-Features:\r\n EPSV\r\n MLST type*;size*;modify*;\r\n UTF8\r\n AUTH TLS\r\n211 End\r\n"[..]);
/// let reply = ReplyDecoder::new(ParseOptions::default()).decode(&mut buf).unwrap().unwrap();
/// let caps = Capabilities::from_feat(&reply);
/// assert!(caps.epsv && caps.mlst && caps.utf8 && caps.auth_tls);
/// assert_eq!(caps.mlst_facts, vec!["type".to_string(), "size".into(), "modify".into()]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `FEAT` was answered at all (a server without FEAT has none of these).
    pub feat_known: bool,
    /// RFC 2428 `EPSV`.
    pub epsv: bool,
    /// RFC 2428 `EPRT`.
    pub eprt: bool,
    /// RFC 3659 `MLST`/`MLSD`.
    pub mlst: bool,
    /// The MLST facts the server offers (lower case, without `*`).
    pub mlst_facts: Vec<String>,
    /// RFC 3659 `MDTM`.
    pub mdtm: bool,
    /// RFC 3659 `SIZE`.
    pub size: bool,
    /// RFC 3659 `REST STREAM`.
    pub rest_stream: bool,
    /// RFC 2640 `UTF8`.
    pub utf8: bool,
    /// RFC 3659 `TVFS`.
    pub tvfs: bool,
    /// RFC 4217 `AUTH TLS`.
    pub auth_tls: bool,
    /// RFC 4217 `PBSZ`.
    pub pbsz: bool,
    /// RFC 4217 `PROT`.
    pub prot: bool,
    /// `MFMT` (draft-somers-ftp-mfxx).
    pub mfmt: bool,
    /// RFC 7151 `HOST`.
    pub host: bool,
}

impl Capabilities {
    /// Reads a 211 `FEAT` reply; any other reply gives an empty set.
    #[must_use]
    pub fn from_feat(reply: &Reply) -> Self {
        let mut caps = Self::default();
        let Ok(features) = reply.features() else { return caps };
        caps.feat_known = true;
        for f in features {
            let params = f.params().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
            let name = String::from_utf8_lossy(f.name()).to_ascii_uppercase();
            match name.as_str() {
                "EPSV" => caps.epsv = true,
                "EPRT" => caps.eprt = true,
                "MLST" | "MLSD" => {
                    caps.mlst = true;
                    caps.mlst_facts = params
                        .split(';')
                        .filter(|f| !f.trim().is_empty())
                        .map(|f| f.trim().trim_end_matches('*').to_ascii_lowercase())
                        .collect();
                }
                "MDTM" => caps.mdtm = true,
                "SIZE" => caps.size = true,
                "REST" => caps.rest_stream = params.trim().eq_ignore_ascii_case("STREAM"),
                "UTF8" => caps.utf8 = true,
                "TVFS" => caps.tvfs = true,
                "AUTH" => caps.auth_tls |= params.split([' ', ';']).any(|m| m.eq_ignore_ascii_case("TLS")),
                "PBSZ" => caps.pbsz = true,
                "PROT" => caps.prot = true,
                "MFMT" => caps.mfmt = true,
                "HOST" => caps.host = true,
                _ => {}
            }
        }
        caps
    }
}
