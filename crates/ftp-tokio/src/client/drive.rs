//! Driving the client session: one operation from its start to its
//! result, carrying out what the session asks (bytes to send, data
//! connections, TLS on and off) and feeding it what the sockets and the
//! clock produce.

#[allow(clippy::wildcard_imports)]
use super::*;

/// What woke the driver.
pub(super) enum Step {
    Eof,
    Control(usize),
    Data(DataId, DataEvent),
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Timeout,
}

/// How [`Client::drive`] ended.
pub(super) enum Driven {
    /// The operation completed (or, for [`Want::Greeting`], the greeting
    /// came: `Ok(LoggedIn)` stands in for it).
    Done(Result<OpOutput, OpError>),
    /// [`Want::Stream`]: the data connection is open and in
    /// [`Client::handoff`], for a stream to move the bytes.
    Stream,
    /// [`Want::Ready`]: the instant passed before the operation completed.
    NotYet,
}

pub(super) fn transferred(out: OpOutput) -> Result<u64, ClientError> {
    match out {
        OpOutput::Transferred { bytes } => Ok(bytes),
        _ => Ok(0),
    }
}

impl Client {
    /// Starts one operation and drives the connection until it completes.
    /// A transfer a dropped stream left unfinished is ended first, so that
    /// its replies are never taken for this operation's.
    pub(super) async fn op(
        &mut self,
        start: impl FnOnce(&mut Session, Instant) -> Result<OpId, StartError>,
        io: DataIo<'_>,
    ) -> Result<OpOutput, ClientError> {
        self.settle().await?;
        let id = start(&mut self.session, Instant::now())?;
        let result = self.drive(Want::Op(id), io).await;
        self.data = None;
        match result? {
            Driven::Done(done) => done.map_err(|e| self.named(e, None)),
            Driven::Stream | Driven::NotYet => Err(ClientError::Failed(OpError::Protocol("operation left unfinished"))),
        }
    }

    /// An operation's error, naming the command it answered: `command`, or
    /// the last one sent.
    pub(super) fn named(&self, e: OpError, command: Option<&str>) -> ClientError {
        let command = command.unwrap_or(&self.last_command);
        match ClientError::from(e) {
            ClientError::Rejected { reply, .. } => ClientError::Rejected { command: command.to_owned(), reply },
            ClientError::Failed(OpError::Protocol(why)) if !command.is_empty() => {
                ClientError::Violation { command: command.to_owned(), why }
            }
            other => other,
        }
    }

    /// Carries out the session's outputs and feeds it input until `want`
    /// happens.
    pub(super) async fn drive(&mut self, want: Want, io: DataIo<'_>) -> Result<Driven, ClientError> {
        let mut io = Some(io);
        let mut transfer: Option<(DataId, TransferFuture<'_>)> = None;
        loop {
            let mut done = None;
            let mut closed = false;
            let deadline = loop {
                match self.session.poll_output() {
                    Output::Transmit(bytes) => {
                        self.log_sent(&bytes);
                        self.control.write_all(&bytes).await?;
                    }
                    Output::TransmitUrgent(bytes) => self.control.write_urgent(&bytes).await?,
                    Output::Data(action) => self.data_action(action, &mut io, &mut transfer).await,
                    Output::StartTls => self.start_tls().await?,
                    Output::StopTls => self.stop_tls().await?,
                    Output::Event(event) => match (event, &want) {
                        (Event::Greeting(reply), Want::Greeting) => {
                            self.greeting = Some(reply);
                            done = Some(Ok(OpOutput::LoggedIn));
                        }
                        (Event::OpCompleted { op, result }, Want::Op(id) | Want::Stream(id) | Want::Ready(id, _))
                            if op == *id =>
                        {
                            done = Some(result)
                        }
                        (Event::PassiveAddress { used, decision, .. }, _) => {
                            self.info(&format!("data connection to {used} ({decision:?})"));
                        }
                        (Event::Closed, _) => closed = true,
                        _ => {}
                    },
                    Output::Close => {
                        self.control.shutdown().await;
                        closed = true;
                    }
                    Output::Wait(deadline) => break deadline,
                    _ => {}
                }
            };
            if let Some(done) = done {
                self.handoff = None;
                return Ok(Driven::Done(done));
            }
            if matches!(want, Want::Stream(_)) && self.handoff.is_some() {
                return Ok(Driven::Stream);
            }
            if closed {
                // Before any greeting, say why (not FTP at all, a timeout)
                // rather than only that the connection closed.
                if let (Want::Greeting, Some(OpError::Protocol(why))) = (&want, self.session.close_reason()) {
                    return Err(ClientError::Failed(OpError::Protocol(why)));
                }
                return Err(ClientError::Closed(
                    self.greeting.clone().filter(|g| g.code().class() == ftp_proto::ReplyClass::TransientNegative),
                ));
            }
            let give_up = match want {
                Want::Ready(_, until) => Some(until),
                _ => None,
            };
            let step = {
                let deadline = match (deadline, give_up) {
                    (Some(d), Some(g)) => Some(d.min(g)),
                    (d, g) => d.or(g),
                };
                let sleep = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d.into()).await,
                        None => std::future::pending().await,
                    }
                };
                let listener = self.data.as_ref().and_then(|d| d.listener.as_ref());
                tokio::select! {
                    read = self.control.read(&mut self.buf) => match read {
                        Ok(0) | Err(_) => Step::Eof,
                        Ok(n) => Step::Control(n),
                    },
                    event = async { transfer.as_mut().expect("guarded").1.as_mut().await }, if transfer.is_some() => {
                        let id = transfer.take().expect("guarded").0;
                        Step::Data(id, event)
                    }
                    accepted = async { listener.expect("guarded").accept().await }, if listener.is_some() => {
                        Step::Accepted(accepted)
                    }
                    () = sleep => Step::Timeout,
                }
            };
            let now = Instant::now();
            crate::checked(match step {
                Step::Eof => self.session.handle_input(now, Input::ControlEof),
                Step::Control(n) => {
                    self.log_received(n);
                    self.session.handle_input(now, Input::Control(&self.buf[..n]))
                }
                Step::Data(id, event) => self.session.handle_input(now, Input::Data(id, event)),
                Step::Accepted(Ok((stream, peer))) => {
                    let Some(data) = self.data.as_mut() else { continue };
                    let _ = stream.set_nodelay(true);
                    data.streams.push((peer, stream));
                    let id = data.id;
                    self.info(&format!("data connection from {peer}"));
                    self.session.handle_input(now, Input::Data(id, DataEvent::Accepted { peer }))
                }
                Step::Accepted(Err(_)) => continue,
                Step::Timeout if give_up.is_some_and(|g| now >= g) => return Ok(Driven::NotYet),
                Step::Timeout => self.session.handle_input(now, Input::Timeout),
            });
        }
    }

    pub(super) async fn data_action<'a>(
        &mut self,
        action: DataAction,
        io: &mut Option<DataIo<'a>>,
        transfer: &mut Option<(DataId, TransferFuture<'a>)>,
    ) {
        let now = Instant::now;
        match action {
            DataAction::Connect { id, addr } => {
                let connected = tokio::time::timeout(self.options.connect_timeout, connect_from(self.local_ip, addr))
                    .await
                    .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()));
                let event = match connected {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        self.data = Some(DataSide { id, listener: None, streams: vec![(addr, stream)] });
                        DataEvent::Connected
                    }
                    Err(e) => {
                        self.info(&format!("data connection to {addr} failed: {e}"));
                        DataEvent::ConnectFailed
                    }
                };
                crate::checked(self.session.handle_input(now(), Input::Data(id, event)));
            }
            DataAction::Listen { id, .. } => {
                let event = match TcpListener::bind(SocketAddr::new(self.local_ip, 0)).await {
                    Ok(listener) => match listener.local_addr() {
                        Ok(addr) => {
                            self.data = Some(DataSide { id, listener: Some(listener), streams: Vec::new() });
                            DataEvent::Listening { addr }
                        }
                        Err(_) => DataEvent::ListenFailed,
                    },
                    Err(_) => DataEvent::ListenFailed,
                };
                crate::checked(self.session.handle_input(now(), Input::Data(id, event)));
            }
            DataAction::Reject { id, peer } => {
                if let Some(data) = self.data.as_mut().filter(|d| d.id == id) {
                    data.streams.retain(|(p, _)| *p != peer);
                }
                self.info(&format!("refused a data connection from {peer} (SECURITY.md D4)"));
            }
            DataAction::Transfer { id, direction, tls } => {
                let stream = self.data.as_mut().filter(|d| d.id == id).and_then(|d| {
                    d.listener = None;
                    (!d.streams.is_empty()).then(|| d.streams.remove(0).1)
                });
                let io = io.take().unwrap_or(DataIo::None);
                let Some(stream) = stream else {
                    crate::checked(self.session.handle_input(now(), Input::Data(id, DataEvent::Failed { bytes: 0 })));
                    return;
                };
                let connector = if tls.required { self.tls.clone() } else { None };
                let stall = self.options.data_timeout;
                if let DataIo::Handoff = io {
                    // A stream moves the bytes: the connection, TLS first
                    // when PROT P is in force, goes to the caller.
                    let conn = match connector {
                        None => Some(DataConn::Plain(stream)),
                        Some(connector) => {
                            match tokio::time::timeout(stall, crate::tls::connect(&connector, stream)).await {
                                Ok(Ok(tls)) => Some(DataConn::Tls(Box::new(tls))),
                                _ => None,
                            }
                        }
                    };
                    match conn {
                        Some(conn) => self.handoff = Some(Handoff { id, direction, conn }),
                        None => {
                            let failed = DataEvent::Failed { bytes: 0 };
                            crate::checked(self.session.handle_input(now(), Input::Data(id, failed)));
                        }
                    }
                    return;
                }
                let future: TransferFuture<'a> = Box::pin(async move {
                    match connector {
                        None => move_bytes(stream, io, direction, stall).await,
                        Some(connector) => {
                            match tokio::time::timeout(stall, crate::tls::connect(&connector, stream)).await {
                                Ok(Ok(tls)) => move_bytes(tls, io, direction, stall).await,
                                _ => DataEvent::Failed { bytes: 0 },
                            }
                        }
                    }
                });
                *transfer = Some((id, future));
            }
            DataAction::Close { id } => {
                if self.data.as_ref().is_some_and(|d| d.id == id) {
                    self.data = None;
                }
                if transfer.as_ref().is_some_and(|(t, _)| *t == id) {
                    *transfer = None;
                }
            }
            _ => {}
        }
    }

    pub(super) async fn start_tls(&mut self) -> Result<(), ClientError> {
        let Some(connector) = self.tls.clone() else {
            return Err(ClientError::Tls("no TLS configuration".into()));
        };
        let Control::Plain(tcp) = std::mem::replace(&mut self.control, Control::Closed) else {
            return Err(ClientError::Tls("the control connection is not plain".into()));
        };
        let tls = tokio::time::timeout(self.options.connect_timeout, crate::tls::connect(&connector, tcp))
            .await
            .map_err(|_| ClientError::Tls("handshake timed out".into()))?
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        let version = crate::tls::protocol_version(&tls);
        self.control = Control::Tls(Box::new(tls));
        self.info(&format!("TLS established ({version})"));
        if self.options.security == Security::Explicit {
            crate::checked(self.session.handle_input(Instant::now(), Input::TlsEstablished));
        }
        Ok(())
    }

    /// RFC 4217 section 13 (REIN) / 12.3 (CCC): close_notify both ways,
    /// then plaintext on the same TCP connection.
    pub(super) async fn stop_tls(&mut self) -> Result<(), ClientError> {
        let Control::Tls(mut tls) = std::mem::replace(&mut self.control, Control::Closed) else {
            return Ok(());
        };
        crate::tls::send_close_notify(&mut tls);
        tls.flush().await?;
        let mut scratch = [0u8; 512];
        let drained = tokio::time::timeout(self.options.connect_timeout, async {
            loop {
                match tls.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        if drained.is_err() {
            return Err(ClientError::Tls("no close_notify from the server".into()));
        }
        self.control = Control::Plain(crate::tls::into_tcp(*tls));
        self.info("TLS cleared");
        Ok(())
    }

    pub(super) fn info(&self, text: &str) {
        if let Some(t) = &self.options.transcript {
            t(Line::Info(text));
        }
    }

    pub(super) fn log_sent(&mut self, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes);
        let line = line.trim_end();
        let shown = if line.len() >= 5 && line[..5].eq_ignore_ascii_case("PASS ") { "PASS ****" } else { line };
        shown.clone_into(&mut self.last_command);
        if let Some(t) = &self.options.transcript {
            t(Line::Sent(shown));
        }
    }

    pub(super) fn log_received(&mut self, n: usize) {
        if self.options.transcript.is_none() {
            return;
        }
        self.received.extend_from_slice(&self.buf[..n]);
        while let Some(end) = self.received.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.received.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line);
            if let Some(t) = &self.options.transcript {
                t(Line::Received(text.trim_end()));
            }
        }
        if self.received.len() > CONTROL_BUFFER {
            self.received.clear();
        }
    }
}
