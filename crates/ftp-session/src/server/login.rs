//! Login: USER, PASS, ACCT, HOST, REIN, QUIT (RFC 959 4.1.1, 5.4; RFC 7151
//! for HOST), with the held replies of SECURITY.md A1 and the TLS rule of
//! A7.

use std::time::Instant;

use bytes::BytesMut;
use ftp_proto::{ProtectionLevel, ReplyCode, Secret, Text, Username};

use super::state::Pending;
use super::state::{Busy, Held, Login, Params, Tls};
use super::timers::Timer;
use super::{CloseReason, Event, Output, RequestKind, Session, VirtualPath};

impl Session {
    pub(super) fn user(&mut self, user: Username) {
        let plaintext_anonymous =
            self.config.allow_plaintext_anonymous && self.config.anonymous && is_anonymous_user(&user);
        if self.config.require_tls_login && !self.tls.secured() && !plaintext_anonymous {
            // SECURITY.md A7.
            return self.error(ReplyCode::NOT_LOGGED_IN, "Login requires TLS: use AUTH TLS first.");
        }
        if self.is_logged_in() {
            // SECURITY.md A5: a new USER starts a new login.
            self.close_data();
            self.cwd = VirtualPath::root();
            self.timers.set(Timer::Login, Some(self.last_activity + self.config.login_timeout));
        }
        self.login = Login::AwaitPass { user };
        // SECURITY.md A3: always 331, whether the account exists or not.
        self.reply(ReplyCode::NEED_PASSWORD, "Password required.");
    }

    pub(super) fn pass(&mut self, now: Instant, password: ftp_proto::Secret<ftp_proto::Password>) {
        let Login::AwaitPass { user } = &self.login else {
            return if self.is_logged_in() {
                self.error(ReplyCode::BAD_SEQUENCE, "Already logged in.")
            } else {
                self.error(ReplyCode::BAD_SEQUENCE, "Login with USER first.")
            };
        };
        let user = user.clone();
        if is_anonymous_user(&user) {
            if self.config.anonymous {
                self.logged_in(now, user, true);
            } else {
                self.login_failed(now, user);
            }
            return;
        }
        self.request(RequestKind::Login { user: user.clone(), password }, Pending::Login { user, anonymous: false });
    }

    /// A login succeeded: 230 now, or after the failed-login delay when
    /// logins are held (SECURITY.md A1).
    pub(super) fn logged_in(&mut self, now: Instant, user: Username, anonymous: bool) {
        if self.logins_held {
            self.login = Login::Greeted;
            let until = now + self.config.failed_login_delay;
            self.busy = Busy::Penalty { until, outcome: Held::LoggedIn { user, anonymous } };
            return;
        }
        self.finish_login(user, anonymous);
    }

    pub(super) fn finish_login(&mut self, user: Username, anonymous: bool) {
        self.login = Login::LoggedIn { anonymous };
        self.timers.stop(Timer::Login);
        self.login_failures = 0;
        self.reply(ReplyCode::LOGGED_IN, "Login successful.");
        self.event(Event::LoggedIn { user, anonymous });
    }

    /// SECURITY.md A1: hold the 530 for the configured delay; after too many
    /// failures, 530 then 421 and close.
    pub(super) fn login_failed(&mut self, now: Instant, user: Username) {
        self.login = Login::Greeted;
        self.login_failures += 1;
        self.logins_held = true;
        let close = self.login_failures >= self.config.max_login_failures;
        self.busy = Busy::Penalty { until: now + self.config.failed_login_delay, outcome: Held::Failed { close } };
        self.event(Event::LoginFailed { user, failures: self.login_failures });
    }

    /// REIN (RFC 959 4.1.1): back to the state right after the greeting. On
    /// an explicit TLS connection the reply goes out protected and then the
    /// TLS session is cleared (RFC 4217 section 13); implicit TLS stays, as
    /// the connection cannot exist without it.
    pub(super) fn reinitialize(&mut self, now: Instant) {
        self.close_data();
        self.reset_state();
        self.timers.set(Timer::Login, Some(now + self.config.login_timeout));
        self.reply(ReplyCode::SERVICE_READY, "Service ready for new user.");
        if matches!(self.tls, Tls::Cleared { .. }) {
            self.tls = Tls::Plain;
        } else if matches!(self.tls, Tls::Explicit { .. }) {
            self.tls = Tls::Plain;
            self.input = BytesMut::new();
            self.decoder.reset();
            self.line_started = None;
            self.queued.clear();
            self.out.push_back(Output::StopTls);
        } else if let Tls::Implicit { .. } = self.tls {
            self.tls = self.tls.with(false, ProtectionLevel::Clear);
        }
    }

    /// Login, account, transfer parameters, markers, cwd, data setup and
    /// EPSV ALL back to their defaults (REIN; AUTH per RFC 4217 4.2).
    pub(super) fn reset_state(&mut self) {
        self.close_data();
        self.login = Login::Greeted;
        self.params = Params::new();
        self.idle_timeout = self.config.idle_timeout;
        self.cwd = VirtualPath::root();
    }

    pub(super) fn quit(&mut self) {
        self.close_with(ReplyCode::CLOSING_CONTROL, "Goodbye.", CloseReason::Quit);
    }

    pub(super) fn acct(&mut self, account: Secret<Text>) {
        match &self.login {
            Login::AwaitAcct { user } => {
                let user = user.clone();
                self.request(
                    RequestKind::Account { user: user.clone(), account },
                    Pending::Login { user, anonymous: false },
                );
            }
            Login::LoggedIn { .. } => self.reply(ReplyCode::COMMAND_SUPERFLUOUS, "ACCT not needed."),
            _ => self.error(ReplyCode::BAD_SEQUENCE, "Login with USER first."),
        }
    }

    /// RFC 7151 section 3: HOST only before USER.
    pub(super) fn host(&mut self) {
        if matches!(self.login, Login::Greeted) {
            self.reply(ReplyCode::SERVICE_READY, "Host accepted.");
        } else {
            self.error(ReplyCode::BAD_SEQUENCE, "HOST must come before USER.");
        }
    }
}

pub(super) fn is_anonymous_user(user: &Username) -> bool {
    let b = user.as_bytes();
    b.eq_ignore_ascii_case(b"anonymous") || b.eq_ignore_ascii_case(b"ftp")
}
