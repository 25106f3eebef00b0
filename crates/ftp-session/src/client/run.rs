//! Running a transfer: the session's side of the steps in
//! [`transfer`](super::transfer) (TYPE, EPSV or PASV or PORT, REST, the
//! transfer command, the data connection, the final reply), RFC 959 3.2
//! and 4.1.3, RFC 2428, RFC 3659 section 5.

#[allow(clippy::wildcard_imports)]
use super::*;

impl Session {
    pub(super) fn transfer(
        &mut self,
        now: Instant,
        command: Command,
        direction: Direction,
        ascii: bool,
        offset: u64,
    ) -> Result<OpId, StartError> {
        self.transfer_expecting(now, command, direction, ascii, offset, None)
    }

    /// A transfer; `expected` is the size already known (no SIZE is sent).
    pub(super) fn transfer_expecting(
        &mut self,
        now: Instant,
        command: Command,
        direction: Direction,
        ascii: bool,
        offset: u64,
        expected: Option<u64>,
    ) -> Result<OpId, StartError> {
        let t = Transfer { command, direction, ascii, offset, expected, step: Step::Size, retry: Retry::Nothing };
        let id = self.start(now, OpKind::Transfer(Box::new(t)))?;
        if expected.is_none()
            && offset > 0
            && self.caps.size
            && direction == Direction::Download
            && let Some(path) = self.transfer_path()
        {
            self.send(now, &Command::Size(path));
            return Ok(id);
        }
        self.transfer_type(now);
        Ok(id)
    }

    pub(super) fn transfer_path(&self) -> Option<Pathname> {
        match &self.op {
            Some(Op { kind: OpKind::Transfer(t), .. }) => match &t.command {
                Command::Retr(p) => Some(p.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The running transfer, if the operation is one.
    pub(super) fn transfer_mut(&mut self) -> Option<&mut Transfer> {
        match &mut self.op {
            Some(Op { kind: OpKind::Transfer(t), .. }) => Some(t),
            _ => None,
        }
    }

    /// Moves the running transfer to `step`.
    pub(super) fn set_step(&mut self, step: Step) {
        if let Some(t) = self.transfer_mut() {
            t.step = step;
        }
    }

    pub(super) fn transfer_type(&mut self, now: Instant) {
        let Some(ascii) = self.transfer_mut().map(|t| t.ascii) else { return };
        if self.ascii_type == Some(ascii) {
            return self.transfer_setup(now);
        }
        self.set_step(Step::Type);
        let ty = if ascii { TransferType::Ascii(None) } else { TransferType::Image };
        self.send(now, &Command::Type(ty));
    }

    pub(super) fn new_data_id(&mut self) -> DataId {
        self.next_id += 1;
        DataId(self.next_id)
    }

    pub(super) fn transfer_setup(&mut self, now: Instant) {
        if self.config.data_mode == DataMode::Active {
            let id = self.new_data_id();
            self.set_step(Step::Listening(Link::Pending(id)));
            let family = NetProto::of(&self.peer.ip().to_canonical());
            return self.out.push_back(Output::Data(DataAction::Listen { id, family }));
        }
        if self.epsv_refused {
            self.set_step(Step::Pasv);
            self.send(now, &Command::Pasv);
        } else {
            self.set_step(Step::Epsv);
            self.send(now, &Command::Epsv(EpsvArg::Any));
        }
    }

    pub(super) fn connect(&mut self, addr: SocketAddr, reported: Option<SocketAddrV4>, decision: PasvDecision) {
        let retry = match decision {
            PasvDecision::Extended if !self.epsv_refused => Retry::Pasv,
            PasvDecision::Extended => Retry::Nothing,
            _ if addr.ip().to_canonical() != self.peer.ip().to_canonical() => Retry::ControlPeer(addr.port()),
            _ => Retry::Nothing,
        };
        let id = self.new_data_id();
        if let Some(t) = self.transfer_mut() {
            t.retry = retry;
        }
        self.set_step(Step::Connecting(Link::Pending(id)));
        self.event(Event::PassiveAddress { reported, used: addr, decision });
        self.out.push_back(Output::Data(DataAction::Connect { id, addr }));
    }

    /// The passive connection could not be made: try what [`Retry`] says, or
    /// fail the transfer.
    fn connect_failed(&mut self, now: Instant) {
        let Some(retry) = self.transfer_mut().map(|t| std::mem::replace(&mut t.retry, Retry::Nothing)) else { return };
        match retry {
            Retry::Pasv => self.fall_back_to_pasv(now),
            Retry::ControlPeer(port) => {
                let reported = None;
                self.connect(SocketAddr::new(self.peer.ip(), port), reported, PasvDecision::ControlPeer);
            }
            Retry::Nothing => self.complete(Err(OpError::DataConnection)),
        }
    }

    /// EPSV cannot be used with this server (refused, a malformed 229, or
    /// its port unreachable): PASV now and for the rest of the session
    /// (RFC 2428, PEERS.md section 5 pain point 3).
    fn fall_back_to_pasv(&mut self, now: Instant) {
        self.epsv_refused = true;
        self.set_step(Step::Pasv);
        self.send(now, &Command::Pasv);
    }

    /// RFC 1123 4.1.2.6 / SECURITY.md D5: the 227 address goes through the policy.
    pub(super) fn pasv_target(&self, reported: SocketAddrV4) -> (SocketAddr, PasvDecision) {
        let peer = SocketAddr::new(self.peer.ip(), reported.port());
        match self.config.pasv_policy {
            PasvPolicy::UseControlPeer => (peer, PasvDecision::ControlPeer),
            PasvPolicy::Trust => (SocketAddr::V4(reported), PasvDecision::Trusted),
            PasvPolicy::SubstituteUnroutable => {
                if unroutable(IpAddr::V4(*reported.ip())) && !unroutable(self.peer.ip()) {
                    (peer, PasvDecision::Substituted)
                } else {
                    (SocketAddr::V4(reported), PasvDecision::Trusted)
                }
            }
        }
    }

    /// With the data connection set up (`link`): `REST` first when resuming
    /// and not sent yet, then the transfer command.
    pub(super) fn transfer_command(&mut self, now: Instant, link: Link) {
        let Some(t) = self.transfer_mut() else { return };
        if t.offset > 0 && !matches!(t.step, Step::Rest(_)) {
            let offset = t.offset;
            t.step = Step::Rest(link);
            return self.send(now, &Command::Rest(offset));
        }
        t.step = Step::Command(link);
        let cmd = t.command.clone();
        self.send(now, &cmd);
    }

    /// Carries out a transition of the steps after the command.
    pub(super) fn advance(&mut self, next: Next) {
        match next {
            Next::Wait(step) => self.set_step(step),
            Next::Move(step) => {
                self.set_step(step);
                self.start_moving();
            }
            Next::Done(end) => self.data_ended(end),
            Next::Empty => self.finish(Ok(OpOutput::Transferred { bytes: 0 })),
        }
    }

    /// Hands the data connection the bytes (`DataAction::Transfer`).
    pub(super) fn start_moving(&mut self) {
        let tls = DataTls {
            required: self.secured && self.config.protect_data,
            resume_control_session: self.config.resume_tls_session,
        };
        let Some(t) = self.transfer_mut() else { return };
        let Some(id) = t.step.data() else { return };
        let direction = t.direction;
        self.out.push_back(Output::Data(DataAction::Transfer { id, direction, tls }));
        // The data moves for as long as it takes: the reply deadline
        // starts again when the data side ends (SECURITY.md R5).
        self.reply_deadline = None;
    }

    /// Completes a transfer whose final reply and data side are both known.
    pub(super) fn data_ended(&mut self, end: DataEnd) {
        let Some(t) = self.transfer_mut() else { return };
        let result = match end {
            DataEnd::Finished(n) => {
                let received = t.offset + n;
                match t.expected {
                    Some(expected) if t.direction == Direction::Download && received < expected => {
                        Err(OpError::Partial { expected, received })
                    }
                    _ => Ok(OpOutput::Transferred { bytes: n }),
                }
            }
            DataEnd::Failed => Err(OpError::DataConnection),
        };
        self.complete(result);
    }

    pub(super) fn on_transfer_reply(&mut self, now: Instant, reply: Reply) {
        let code = reply.code();
        let Some(t) = self.transfer_mut() else { return };
        let step = t.step;
        let id = self.op.as_ref().map(|o| o.id).expect("op");
        match step {
            Step::Size => {
                if let (Ok(n), Some(t)) = (reply.size(), self.transfer_mut()) {
                    t.expected = Some(n);
                }
                self.transfer_type(now);
            }
            Step::Type if code.is_positive_completion() => {
                self.ascii_type = self.transfer_mut().map(|t| t.ascii);
                self.transfer_setup(now);
            }
            Step::Epsv if code == ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE => match reply.extended_passive_port() {
                Ok(port) => self.connect(SocketAddr::new(self.peer.ip(), port), None, PasvDecision::Extended),
                // RFC 2428 section 3 framing only: a malformed 229 gives no
                // number to connect to; PASV instead.
                Err(_) => self.fall_back_to_pasv(now),
            },
            Step::Epsv if code == ReplyCode::SYNTAX_ERROR || code == ReplyCode::COMMAND_NOT_IMPLEMENTED => {
                // RFC 2428 / PEERS.md pain point 3: fall back to PASV, and
                // remember it for the session.
                self.fall_back_to_pasv(now);
            }
            // A 227 answer to EPSV (PEERS.md section 3, basic-ftp #164) goes
            // through the same policy.
            Step::Pasv | Step::Epsv if code == ReplyCode::ENTERING_PASSIVE_MODE => match reply.passive_addr() {
                Ok(reported) => {
                    let (addr, decision) = self.pasv_target(reported);
                    self.connect(addr, Some(reported), decision);
                }
                Err(_) => self.fail_all(OpError::Protocol("malformed 227 reply")),
            },
            Step::Pasv if code == ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE => match reply.extended_passive_port() {
                // A 229 answer to PASV (cpython #127478): usable all the same.
                Ok(port) => self.connect(SocketAddr::new(self.peer.ip(), port), None, PasvDecision::Extended),
                Err(_) => self.fail_all(OpError::Protocol("malformed 229 reply")),
            },
            Step::Port(link) if code.is_positive_completion() => self.transfer_command(now, link),
            Step::Rest(link) if code == ReplyCode::FILE_ACTION_PENDING => self.transfer_command(now, link),
            _ if step.commanded() && code.is_positive_preliminary() => {
                if step.awaits_preliminary()
                    && code == ReplyCode::FILE_STATUS_OK
                    && let (Some(n), Some(t)) = (reply.transfer_size(), self.transfer_mut())
                    && t.expected.is_none()
                    && t.direction == Direction::Download
                {
                    t.expected = Some(n);
                }
                // 110 restart markers and other preliminaries are passed on.
                self.event(Event::Intermediate { op: id, reply });
                self.advance(step.on_preliminary());
            }
            _ if step.commanded() && code.is_positive_completion() => {
                let next = step.on_final_ok();
                if let Next::Wait(Step::FinalAccepting(_)) = next {
                    // Active mode: the server said 150 and connected, and its
                    // 226 overtook our accept. The data is on its way; wait
                    // for it, but not for ever.
                    self.reply_deadline = Some(now + self.config.reply_timeout);
                }
                self.advance(next);
            }
            _ if step.commanded() => self.finish(Err(OpError::Rejected(reply))),
            Step::Aborting { got_426 } => {
                if code.is_positive_preliminary() {
                    // The 125/150 of the transfer, sent before the server saw ABOR.
                } else if code == ReplyCode::TRANSFER_ABORTED && !got_426 {
                    self.set_step(Step::Aborting { got_426: true });
                } else if code.is_positive_completion() {
                    self.finish(Err(OpError::Aborted));
                } else {
                    self.finish(Err(OpError::Rejected(reply)));
                }
            }
            _ => self.finish(Err(OpError::Rejected(reply))),
        }
    }

    pub(super) fn on_data(&mut self, now: Instant, id: DataId, event: DataEvent) {
        let Some(step) = self.transfer_mut().map(|t| t.step) else { return };
        if step.data() != Some(id) {
            return; // A closed connection: late events are ignored.
        }
        match event {
            DataEvent::Connected => {
                if let Step::Connecting(_) = step {
                    self.transfer_command(now, Link::Open(id));
                }
            }
            // The connection never opened: nothing to close.
            DataEvent::ConnectFailed if matches!(step, Step::Connecting(_)) => self.connect_failed(now),
            DataEvent::ConnectFailed | DataEvent::ListenFailed => self.complete(Err(OpError::DataConnection)),
            DataEvent::Listening { addr } => {
                if let Step::Listening(link) = step {
                    self.set_step(Step::Port(link));
                    let cmd = match addr {
                        SocketAddr::V4(v4) => Command::Port(v4),
                        v6 => Command::Eprt(v6),
                    };
                    self.send(now, &cmd);
                }
            }
            DataEvent::Accepted { peer } => match step.on_accepted() {
                // SECURITY.md D4: only the server may connect, and only
                // once (a second connection would get a second Transfer).
                Accept::Take(next) if peer.ip().to_canonical() == self.peer.ip().to_canonical() => self.advance(next),
                _ => self.out.push_back(Output::Data(DataAction::Reject { id, peer })),
            },
            DataEvent::Finished { .. } | DataEvent::Failed { .. } => {
                let end = match event {
                    DataEvent::Finished { bytes } => DataEnd::Finished(bytes),
                    _ => DataEnd::Failed,
                };
                // The end of bytes never asked for is not this transfer's.
                let Some(next) = step.on_data_end(end) else { return };
                self.reply_deadline = Some(now + self.config.reply_timeout);
                self.advance(next);
            }
        }
    }
}
