//! The three-digit reply code (RFC 959 section 4.2, RFC 2228 section 4).

use core::fmt;

use crate::validation::{ValidationError, ValidationErrorKind};

/// A validated reply code: three ASCII digits, the first in `1..=6`.
///
/// RFC 959 4.2 defines first digits 1 to 5; RFC 2228 section 4 adds 6
/// ("protected reply"). The second and third digits are any digit, because
/// real servers use codes outside the RFC table and a client must still frame
/// them.
///
/// ```
/// use ftp_proto::ReplyCode;
/// let code = ReplyCode::new(227).unwrap();
/// assert!(code.is_positive_completion());
/// assert_eq!(code, ReplyCode::ENTERING_PASSIVE_MODE);
/// assert!(ReplyCode::new(700).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

/// The class of a reply, from its first digit (RFC 959 4.2.1, RFC 2228 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum ReplyClass {
    /// 1yz: the action is started; expect another reply.
    PositivePreliminary,
    /// 2yz: the action completed.
    PositiveCompletion,
    /// 3yz: accepted, send more information.
    PositiveIntermediate,
    /// 4yz: not done, may succeed later.
    TransientNegative,
    /// 5yz: not done, will not succeed as asked.
    PermanentNegative,
    /// 6yz: a protected reply (RFC 2228 `MIC`/`CONF`/`ENC` replies).
    Protected,
}

/// The function group of a reply, from its second digit (RFC 959 4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplyCategory {
    /// x0z: syntax.
    Syntax,
    /// x1z: information.
    Information,
    /// x2z: connections.
    Connections,
    /// x3z: authentication and accounting.
    Authentication,
    /// x4z: unspecified by RFC 959 (used by RFC 2228 extensions).
    Unspecified,
    /// x5z: file system.
    FileSystem,
    /// x6z to x9z: outside RFC 959.
    Other,
}

macro_rules! codes {
    ($($(#[$m:meta])* $name:ident = $v:expr;)*) => {
        impl ReplyCode {
            $($(#[$m])* pub const $name: ReplyCode = ReplyCode($v);)*
        }
    };
}

codes! {
    /// 110 Restart marker reply (RFC 959 4.2.2).
    RESTART_MARKER = 110;
    /// 120 Service ready in nnn minutes.
    SERVICE_READY_IN = 120;
    /// 125 Data connection already open; transfer starting.
    DATA_CONNECTION_ALREADY_OPEN = 125;
    /// 150 File status okay; about to open data connection.
    FILE_STATUS_OK = 150;
    /// 200 Command okay.
    COMMAND_OK = 200;
    /// 202 Command not implemented, superfluous at this site.
    COMMAND_SUPERFLUOUS = 202;
    /// 211 System status, or system help reply (FEAT uses it, RFC 2389).
    SYSTEM_STATUS = 211;
    /// 212 Directory status.
    DIRECTORY_STATUS = 212;
    /// 213 File status (SIZE, MDTM: RFC 3659).
    FILE_STATUS = 213;
    /// 214 Help message.
    HELP_MESSAGE = 214;
    /// 215 NAME system type.
    SYSTEM_TYPE = 215;
    /// 220 Service ready for new user.
    SERVICE_READY = 220;
    /// 221 Service closing control connection.
    CLOSING_CONTROL = 221;
    /// 225 Data connection open; no transfer in progress.
    DATA_CONNECTION_OPEN = 225;
    /// 226 Closing data connection; requested file action successful.
    CLOSING_DATA_CONNECTION = 226;
    /// 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).
    ENTERING_PASSIVE_MODE = 227;
    /// 229 Entering Extended Passive Mode (|||port|) (RFC 2428).
    ENTERING_EXTENDED_PASSIVE_MODE = 229;
    /// 230 User logged in, proceed.
    LOGGED_IN = 230;
    /// 232 User logged in, authorized by security data exchange (RFC 2228).
    LOGGED_IN_SECURITY = 232;
    /// 234 Security data exchange complete (RFC 2228; AUTH TLS, RFC 4217).
    AUTH_OK = 234;
    /// 235 Security data exchange completed successfully (RFC 2228).
    SECURITY_DATA_OK = 235;
    /// 250 Requested file action okay, completed.
    FILE_ACTION_OK = 250;
    /// 257 "PATHNAME" created.
    PATHNAME_CREATED = 257;
    /// 331 User name okay, need password.
    NEED_PASSWORD = 331;
    /// 332 Need account for login.
    NEED_ACCOUNT = 332;
    /// 334 Requested security mechanism is ok (RFC 2228).
    SECURITY_MECHANISM_OK = 334;
    /// 335 Security data is acceptable, more is required (RFC 2228).
    SECURITY_DATA_MORE = 335;
    /// 350 Requested file action pending further information.
    FILE_ACTION_PENDING = 350;
    /// 421 Service not available, closing control connection.
    SERVICE_NOT_AVAILABLE = 421;
    /// 425 Can't open data connection.
    CANT_OPEN_DATA_CONNECTION = 425;
    /// 426 Connection closed; transfer aborted.
    TRANSFER_ABORTED = 426;
    /// 431 Need some unavailable resource to process security (RFC 2228).
    NEED_SECURITY_RESOURCE = 431;
    /// 450 Requested file action not taken (file unavailable).
    FILE_UNAVAILABLE = 450;
    /// 451 Requested action aborted: local error in processing.
    LOCAL_ERROR = 451;
    /// 452 Requested action not taken: insufficient storage space.
    INSUFFICIENT_STORAGE = 452;
    /// 500 Syntax error, command unrecognized (also: line too long).
    SYNTAX_ERROR = 500;
    /// 501 Syntax error in parameters or arguments.
    SYNTAX_ERROR_ARGUMENTS = 501;
    /// 502 Command not implemented.
    COMMAND_NOT_IMPLEMENTED = 502;
    /// 503 Bad sequence of commands.
    BAD_SEQUENCE = 503;
    /// 504 Command not implemented for that parameter.
    PARAMETER_NOT_IMPLEMENTED = 504;
    /// 521 Data connection cannot be opened with this PROT setting (RFC 4217).
    PROTECTION_LEVEL_REFUSED = 521;
    /// 522 Network protocol not supported (RFC 2428 section 2; also RFC 4217
    /// "TLS session on data connection not resumed").
    NETWORK_PROTOCOL_NOT_SUPPORTED = 522;
    /// 530 Not logged in.
    NOT_LOGGED_IN = 530;
    /// 532 Need account for storing files.
    NEED_ACCOUNT_FOR_STORING = 532;
    /// 533 Command protection level denied for policy reasons (RFC 2228).
    PROTECTION_DENIED = 533;
    /// 534 Request denied for policy reasons (RFC 2228).
    POLICY_DENIED = 534;
    /// 535 Failed security check (RFC 2228).
    FAILED_SECURITY_CHECK = 535;
    /// 536 Requested PROT level not supported by mechanism (RFC 2228).
    PROT_LEVEL_NOT_SUPPORTED = 536;
    /// 550 Requested action not taken: file unavailable (not found, no access).
    FILE_NOT_AVAILABLE = 550;
    /// 551 Requested action aborted: page type unknown.
    PAGE_TYPE_UNKNOWN = 551;
    /// 552 Requested file action aborted: exceeded storage allocation.
    EXCEEDED_STORAGE = 552;
    /// 553 Requested action not taken: file name not allowed.
    FILE_NAME_NOT_ALLOWED = 553;
    /// 554 Requested action not taken: invalid REST parameter (RFC 1123
    /// 4.1.3.4; RFC 3659 5.3: a restart marker out of range rejects the
    /// transfer command).
    INVALID_REST_PARAMETER = 554;
    /// 631 Integrity protected reply (RFC 2228).
    INTEGRITY_PROTECTED = 631;
    /// 632 Confidentiality and integrity protected reply (RFC 2228).
    PRIVACY_PROTECTED = 632;
    /// 633 Confidentiality protected reply (RFC 2228).
    CONFIDENTIALITY_PROTECTED = 633;
}

impl ReplyCode {
    /// Validates a numeric code.
    ///
    /// # Errors
    /// [`ValidationError`] unless the code is in `100..=699`.
    pub const fn new(code: u16) -> Result<Self, ValidationError> {
        if code >= 100 && code <= 699 {
            Ok(Self(code))
        } else {
            Err(ValidationError::new(ValidationErrorKind::OutOfRange, 0))
        }
    }

    /// Reads a code from three ASCII digits; `None` unless valid.
    #[must_use]
    #[inline]
    pub fn from_digits(d: [u8; 3]) -> Option<Self> {
        if !(b'1'..=b'6').contains(&d[0]) || !d[1].is_ascii_digit() || !d[2].is_ascii_digit() {
            return None;
        }
        let v = u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0');
        Some(Self(v))
    }

    /// The numeric value.
    #[must_use]
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The three ASCII digits.
    #[must_use]
    pub const fn digits(self) -> [u8; 3] {
        [b'0' + (self.0 / 100) as u8, b'0' + (self.0 / 10 % 10) as u8, b'0' + (self.0 % 10) as u8]
    }

    /// The class given by the first digit.
    #[must_use]
    pub const fn class(self) -> ReplyClass {
        match self.0 / 100 {
            1 => ReplyClass::PositivePreliminary,
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            5 => ReplyClass::PermanentNegative,
            _ => ReplyClass::Protected,
        }
    }

    /// The function group given by the second digit.
    #[must_use]
    pub const fn category(self) -> ReplyCategory {
        match self.0 / 10 % 10 {
            0 => ReplyCategory::Syntax,
            1 => ReplyCategory::Information,
            2 => ReplyCategory::Connections,
            3 => ReplyCategory::Authentication,
            4 => ReplyCategory::Unspecified,
            5 => ReplyCategory::FileSystem,
            _ => ReplyCategory::Other,
        }
    }

    /// 1yz: another reply follows.
    #[must_use]
    pub const fn is_positive_preliminary(self) -> bool {
        matches!(self.class(), ReplyClass::PositivePreliminary)
    }
    /// 2yz.
    #[must_use]
    pub const fn is_positive_completion(self) -> bool {
        matches!(self.class(), ReplyClass::PositiveCompletion)
    }
    /// 3yz.
    #[must_use]
    pub const fn is_positive_intermediate(self) -> bool {
        matches!(self.class(), ReplyClass::PositiveIntermediate)
    }
    /// 4yz.
    #[must_use]
    pub const fn is_transient_negative(self) -> bool {
        matches!(self.class(), ReplyClass::TransientNegative)
    }
    /// 5yz.
    #[must_use]
    pub const fn is_permanent_negative(self) -> bool {
        matches!(self.class(), ReplyClass::PermanentNegative)
    }
    /// 6yz (RFC 2228).
    #[must_use]
    pub const fn is_protected(self) -> bool {
        matches!(self.class(), ReplyClass::Protected)
    }
    /// 4yz or 5yz.
    #[must_use]
    pub const fn is_negative(self) -> bool {
        self.0 >= 400 && self.0 < 600
    }
}

impl fmt::Debug for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplyCode({})", self.0)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u16> for ReplyCode {
    type Error = ValidationError;
    fn try_from(v: u16) -> Result<Self, ValidationError> {
        Self::new(v)
    }
}

impl From<ReplyCode> for u16 {
    fn from(c: ReplyCode) -> u16 {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc959_4_2_classes_and_categories() {
        assert_eq!(ReplyCode::FILE_STATUS_OK.class(), ReplyClass::PositivePreliminary);
        assert_eq!(ReplyCode::NEED_PASSWORD.class(), ReplyClass::PositiveIntermediate);
        assert_eq!(ReplyCode::LOCAL_ERROR.class(), ReplyClass::TransientNegative);
        assert_eq!(ReplyCode::NOT_LOGGED_IN.category(), ReplyCategory::Authentication);
        assert_eq!(ReplyCode::FILE_NOT_AVAILABLE.category(), ReplyCategory::FileSystem);
        // RFC 2228 section 4: 6yz are protected replies.
        assert!(ReplyCode::PRIVACY_PROTECTED.is_protected());
        assert_eq!(ReplyCode::from_digits(*b"227"), Some(ReplyCode::ENTERING_PASSIVE_MODE));
        assert_eq!(ReplyCode::from_digits(*b"722"), None);
        assert_eq!(ReplyCode::from_digits(*b"0a0"), None);
        assert_eq!(ReplyCode::new(421).unwrap().digits(), *b"421");
    }
}
