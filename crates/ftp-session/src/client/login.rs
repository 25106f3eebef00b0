//! Logging in: AUTH TLS, PBSZ and PROT when FTPS is asked for, USER, PASS
//! and ACCT, then FEAT and OPTS UTF8 (RFC 959 4.1.1, RFC 4217, RFC 2389,
//! RFC 2640), one step at a time.

#[allow(clippy::wildcard_imports)]
use super::*;

#[derive(Debug, Clone)]
pub(super) enum LoginStep {
    Auth,
    User,
    Pass,
    Acct,
    Pbsz,
    Prot,
    Feat,
    Utf8,
}

#[derive(Debug, Clone)]
pub(super) struct Login {
    pub(super) user: Username,
    pub(super) password: Secret<Password>,
    pub(super) account: Option<Secret<Text>>,
    pub(super) step: LoginStep,
}

impl Session {
    /// Logs in: `AUTH TLS` first when explicit TLS is configured, then
    /// `USER`/`PASS` (and `ACCT` when asked, RFC 959 4.1.1), then, on a
    /// secured connection, `PBSZ 0` and `PROT`, then `FEAT` and
    /// `OPTS UTF8 ON` when enabled.
    ///
    /// PBSZ and PROT come after the login, as curl sends them: RFC 4217
    /// section 9 only asks that they follow the security exchange, and some
    /// servers refuse them before `USER`/`PASS`.
    ///
    /// # Errors
    /// [`StartError`] when busy, not connected, or the strings hold line breaks.
    pub fn login(
        &mut self,
        now: Instant,
        user: &str,
        password: &str,
        account: Option<&str>,
    ) -> Result<OpId, StartError> {
        let user = Username::try_from(user).map_err(|_| StartError::InvalidArgument)?;
        let password = Secret::new(Password::try_from(password).map_err(|_| StartError::InvalidArgument)?);
        let account =
            account.map(|a| Text::try_from(a).map(Secret::new)).transpose().map_err(|_| StartError::InvalidArgument)?;
        let tls = matches!(self.config.tls, TlsMode::Explicit { .. }) && !self.secured;
        // Already secured (implicit FTPS, or a second login): USER first;
        // PBSZ and PROT follow the login (`on_login_reply`).
        let step = if tls { LoginStep::Auth } else { LoginStep::User };
        let login = Login { user, password, account, step };
        let id = self.start(now, OpKind::Login(Box::new(login.clone())))?;
        if tls {
            self.login_step(now, &login);
        } else {
            self.credentials_or_logged_in(now, login);
        }
        Ok(id)
    }

    /// With the connection as secure as configured: `USER`, or, after a 230
    /// greeting (already logged in, RFC 959 5.4), the steps after the login.
    pub(super) fn credentials_or_logged_in(&mut self, now: Instant, mut login: Login) {
        if !self.greeted_logged_in {
            login.step = LoginStep::User;
            return self.login_step(now, &login);
        }
        match self.after_login() {
            Some(step) => {
                login.step = step;
                self.login_step(now, &login);
            }
            None => self.finish(Ok(OpOutput::LoggedIn)),
        }
    }

    /// The step once logged in: `PBSZ` under TLS (RFC 4217 section 9: the
    /// data protection defaults to C under TLS too, so PBSZ 0 and PROT are
    /// always sent), else `FEAT` when enabled, else none.
    fn after_login(&self) -> Option<LoginStep> {
        if self.secured { Some(LoginStep::Pbsz) } else { self.after_protection() }
    }

    pub(super) fn login_step(&mut self, now: Instant, login: &Login) {
        let cmd = match login.step {
            LoginStep::Auth => Command::Auth(Mechanism::try_from("TLS").expect("valid")),
            LoginStep::Pbsz => Command::Pbsz(0),
            LoginStep::Prot => {
                Command::Prot(if self.config.protect_data { ProtectionLevel::Private } else { ProtectionLevel::Clear })
            }
            LoginStep::User => Command::User(login.user.clone()),
            LoginStep::Pass => Command::Pass(login.password.clone()),
            LoginStep::Acct => match &login.account {
                Some(a) => Command::Acct(a.clone()),
                // Not reached: a 332 without an account ends the login
                // with that reply (see `on_login_reply`).
                None => return self.finish(Err(OpError::Protocol("the server asks for an account (332); none given"))),
            },
            LoginStep::Feat => Command::Feat,
            LoginStep::Utf8 => {
                Command::Opts(Opts::new(Verb::try_from("UTF8").expect("valid"), Some(Text::from_static("ON"))))
            }
        };
        self.set_login_step(login.step.clone());
        self.send(now, &cmd);
    }

    pub(super) fn set_login_step(&mut self, step: LoginStep) {
        if let Some(Op { kind: OpKind::Login(l), .. }) = &mut self.op {
            l.step = step;
        }
    }

    pub(super) fn on_greeting(&mut self, now: Instant, reply: Reply) {
        let code = reply.code();
        if code == ReplyCode::SERVICE_READY_IN {
            // RFC 959 5.4: 120, then 220 later.
            self.reply_deadline = Some(now + self.config.reply_timeout);
            return;
        }
        if code == ReplyCode::SERVICE_READY || code == ReplyCode::LOGGED_IN {
            // RFC 959 5.4: a 230 greeting means no login is needed, so the
            // login sends no USER; SECURITY.md A8 (CVE-2021-22946): a
            // required TLS upgrade still happens first.
            self.greeted_logged_in = code == ReplyCode::LOGGED_IN;
            self.conn = Conn::Ready;
            self.reply_deadline = None;
            return self.event(Event::Greeting(reply));
        }
        self.fail_all(OpError::Closed(Some(reply)));
    }

    pub(super) fn on_login_reply(&mut self, now: Instant, mut login: Login, reply: Reply) {
        let code = reply.code();
        let next = match login.step {
            LoginStep::Auth => {
                if code == ReplyCode::AUTH_OK {
                    if !self.input.is_empty() || self.decoder.has_partial_reply() {
                        // SECURITY.md L2 (CVE-2021-22947).
                        return self.fail_all(OpError::Protocol("bytes after 234 before the TLS handshake"));
                    }
                    self.conn = Conn::AwaitTls;
                    self.reply_deadline = None;
                    self.out.push_back(Output::StartTls);
                    return;
                }
                match self.config.tls {
                    TlsMode::Explicit { allow_plaintext_fallback: true } => LoginStep::User,
                    _ => return self.finish(Err(OpError::TlsRefused(reply))),
                }
            }
            LoginStep::Pbsz if code.is_positive_completion() => LoginStep::Prot,
            LoginStep::Prot if code.is_positive_completion() => match self.after_protection() {
                Some(step) => step,
                None => return self.finish(Ok(OpOutput::LoggedIn)),
            },
            // RFC 959 5.4: USER may be answered 230 (no password needed), or
            // 232 (RFC 2228: logged in by the security exchange) or another
            // 2yz; PASS 230 or 202 (superfluous: already logged in); ACCT
            // 230 or 202. Each means logged in.
            LoginStep::User | LoginStep::Pass | LoginStep::Acct if code.is_positive_completion() => {
                match self.after_login() {
                    Some(step) => step,
                    None => return self.finish(Ok(OpOutput::LoggedIn)),
                }
            }
            LoginStep::User if code == ReplyCode::NEED_PASSWORD => LoginStep::Pass,
            // RFC 959 5.4: 332 asks for ACCT. Without an account to give,
            // the server has refused this login: the reply is the error,
            // and the connection stays in step (nothing more is sent).
            LoginStep::User | LoginStep::Pass if code == ReplyCode::NEED_ACCOUNT => {
                if login.account.is_none() {
                    return self.finish(Err(OpError::Rejected(reply)));
                }
                LoginStep::Acct
            }
            LoginStep::Feat => {
                self.caps = Capabilities::from_feat(&reply);
                if self.caps.utf8 {
                    LoginStep::Utf8
                } else {
                    return self.finish(Ok(OpOutput::LoggedIn));
                }
            }
            LoginStep::Utf8 => return self.finish(Ok(OpOutput::LoggedIn)),
            _ => return self.finish(Err(OpError::Rejected(reply))),
        };
        login.step = next;
        self.login_step(now, &login);
    }

    /// The login step after `USER`/`PASS` (and `PBSZ`/`PROT` under TLS):
    /// `FEAT` when enabled, else none (logged in).
    pub(super) fn after_protection(&self) -> Option<LoginStep> {
        self.config.auto_feat.then_some(LoginStep::Feat)
    }
}
