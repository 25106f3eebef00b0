//! FTPS on the control connection: AUTH, PBSZ, PROT, CCC (RFC 4217;
//! SECURITY.md L1, L3, L5).

use bytes::BytesMut;
use ftp_proto::{Mechanism, ProtectionLevel, ReplyCode};

use super::state::{Busy, Tls};
use super::{Output, Session};

impl Session {
    /// RFC 4217 section 4: AUTH TLS, only before login (L3); whatever
    /// followed the AUTH line is discarded (L1).
    pub(super) fn auth(&mut self, mech: &Mechanism) {
        if !self.config.tls_available {
            self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "TLS not available.");
        } else if self.tls.secured() {
            self.error(ReplyCode::BAD_SEQUENCE, "Already using TLS.");
        } else if self.is_logged_in() {
            // SECURITY.md L3: AUTH only before login.
            self.error(ReplyCode::BAD_SEQUENCE, "AUTH must come before login.");
        } else if !mech.is_tls() {
            self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Only AUTH TLS is supported.");
        } else {
            self.reply(ReplyCode::AUTH_OK, "Proceed with negotiation.");
            // SECURITY.md L1: discard whatever followed the AUTH line.
            self.input = BytesMut::new();
            self.decoder.reset();
            self.line_started = None;
            self.queued.clear();
            self.reset_state();
            self.busy = Busy::Handshake;
            self.out.push_back(Output::StartTls);
        }
    }

    /// RFC 4217 section 8: PBSZ (always 0 for TLS) after AUTH.
    pub(super) fn pbsz(&mut self) {
        if self.tls.secured() {
            self.tls = self.tls.with(true, self.tls.prot());
            self.reply(ReplyCode::COMMAND_OK, "PBSZ=0");
        } else {
            self.error(ReplyCode::BAD_SEQUENCE, "PBSZ requires AUTH first.");
        }
    }

    /// RFC 4217 section 9: PROT C or P after PBSZ; C refused when data
    /// must be protected (SECURITY.md L5).
    pub(super) fn prot(&mut self, level: ProtectionLevel) {
        if !self.tls.pbsz() {
            return self.error(ReplyCode::BAD_SEQUENCE, "PROT requires PBSZ first.");
        }
        match level {
            ProtectionLevel::Private => {
                self.tls = self.tls.with(true, level);
                self.reply(ReplyCode::COMMAND_OK, "Protection level set to P.");
            }
            ProtectionLevel::Clear if self.config.require_tls_data => {
                self.error(ReplyCode::POLICY_DENIED, "Data connections must be protected.");
            }
            ProtectionLevel::Clear => {
                self.tls = self.tls.with(true, level);
                self.reply(ReplyCode::COMMAND_OK, "Protection level set to C.");
            }
            _ => self.error(ReplyCode::PROT_LEVEL_NOT_SUPPORTED, "PROT S and E are not supported."),
        }
    }

    /// RFC 4217 section 6: CCC, when allowed, after login on explicit TLS.
    pub(super) fn ccc(&mut self) {
        if matches!(self.tls, Tls::Explicit { .. }) && self.config.allow_ccc && self.is_logged_in() {
            self.reply(ReplyCode::COMMAND_OK, "Control connection cleared.");
            self.input = BytesMut::new();
            self.decoder.reset();
            self.line_started = None;
            self.queued.clear();
            self.tls = Tls::Cleared { pbsz: self.tls.pbsz(), prot: self.tls.prot() };
            self.out.push_back(Output::StopTls);
        } else {
            self.error(ReplyCode::PROTECTION_DENIED, "CCC not allowed.");
        }
    }
}
