//! One control connection: the task that feeds a server [`Session`] what
//! the control socket, the data sockets, the storage and the clock produce,
//! and carries out what it asks, in order.

use super::socket::{DataSocket, Unsent};
use super::transfer::{send_rest, sent_whole};
#[allow(clippy::wildcard_imports)]
use super::*;
use crate::events;
use crate::pace::Paced;
use crate::source::Parts;
use crate::stats::Refusal;
use ftp_proto::Username;
use ftp_session::server::CloseReason;

/// What background tasks tell the connection task, each in a box of its
/// own ([`Notes`]): the channel holds room for 32 of them from the start,
/// in every session, idle ones included, and notes are rare (a request's
/// answer, a data connection, a transfer's end, progress once a second),
/// so 32 pointers (256 bytes) make better room than 32 notes (with a
/// socket and an address inline, that room was 2.3 KiB a session).
pub(super) enum Note {
    /// Boxed again: an answer may carry a prepared transfer (hundreds of
    /// bytes), which every other note would pay for in its box.
    Answer(RequestId, Box<Answered>),
    Incoming(DataId, DataSocket, SocketAddr),
    Connected(DataId, io::Result<TcpStream>),
    Progress(DataId, u64),
    Done(DataId, DataEvent),
}

/// Where background tasks send their [`Note`]s.
pub(super) type Notes = mpsc::UnboundedSender<Box<Note>>;

/// The storage's answer to a request: the answer, the transfer it
/// prepared, and for a login the user the authenticator granted.
pub(super) struct Answered(Answer, Option<(Job, Label)>, Option<(Principal, Option<UserTicket>)>);

/// A logged-in session's place in its user's session count
/// ([`Limits::max_sessions`]), given back when dropped.
pub(super) struct UserTicket {
    shared: Arc<Shared>,
    name: Username,
}

impl UserTicket {
    /// A place among `name`'s at most `max` sessions, if one is free.
    fn take(shared: &Arc<Shared>, name: &Username, max: usize) -> Option<Self> {
        let mut counts = shared.user_sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(name.clone()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self { shared: shared.clone(), name: name.clone() })
    }
}

impl Drop for UserTicket {
    fn drop(&mut self) {
        let mut counts = self.shared.user_sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.name) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.name);
            }
        }
    }
}

/// The command behind a write request, for a policy event.
fn write_verb(kind: &RequestKind) -> &'static str {
    match kind {
        RequestKind::Store { mode: StoreMode::Append, .. } => "APPE",
        RequestKind::Store { mode: StoreMode::Unique, .. } => "STOU",
        RequestKind::Store { .. } => "STOR",
        RequestKind::Delete { .. } => "DELE",
        RequestKind::MakeDir { .. } => "MKD",
        RequestKind::RemoveDir { .. } => "RMD",
        RequestKind::Rename { .. } => "RNTO",
        RequestKind::SetModTime { .. } => "MFMT",
        RequestKind::SetFacts { .. } => "MFF",
        _ => "other",
    }
}

/// What a transfer is, for its log event: the path asked for, which way
/// the bytes go, and whether they go as they are (TYPE I).
pub(super) struct Label {
    path: String,
    direction: &'static str,
    binary: bool,
    /// An upload that starts a file from nothing (`STOR` without `REST`,
    /// `STOU`): its part may be removed when it fails, which would lose
    /// nothing the file held before.
    fresh: bool,
}

impl Label {
    /// The label of a request that may prepare a transfer.
    fn of(kind: &RequestKind) -> Self {
        let (path, direction, binary, fresh) = match kind {
            RequestKind::Retrieve { path, ascii, .. } => (path, "download", !ascii, false),
            RequestKind::Store { path, ascii, mode, offset, .. } => {
                (path, "upload", !ascii, *offset == 0 && *mode != StoreMode::Append)
            }
            RequestKind::List { path, .. } => (path, "listing", false, false),
            _ => return Self { path: String::new(), direction: "other", binary: false, fresh: false },
        };
        Self { path: String::from_utf8_lossy(path.as_bytes()).into_owned(), direction, binary, fresh }
    }

    fn is_upload(&self) -> bool {
        self.direction == "upload"
    }
}

/// One transfer's entry in the counters, made when [`finish`](Self::finish)
/// sees its end, and in the log, written when it is dropped (for a
/// transfer that never finished: as aborted, by ABOR or the end of the
/// session, with the bytes moved until then).
struct TransferRecord {
    who: Who,
    label: Label,
    user: String,
    anonymous: bool,
    tls: bool,
    started: Instant,
    /// Bytes moved so far, kept up to date by the transfer's [`Progress`].
    moved: Arc<AtomicU64>,
    result: Option<(crate::stats::TransferResult, u64)>,
    stats: Arc<crate::stats::Stats>,
}

impl TransferRecord {
    fn finish(&mut self, event: &DataEvent) {
        use crate::stats::TransferResult;
        self.result = match *event {
            DataEvent::Finished { bytes } | DataEvent::FinishedWithoutCloseNotify { bytes } => {
                Some((TransferResult::Completed, bytes))
            }
            DataEvent::Failed { bytes, .. } => Some((TransferResult::Failed, bytes)),
            _ => None,
        };
        // Counted at once: the counters are right by the time the reply
        // is, even where the log line waits (see `Conn::settled`).
        if let Some((result, bytes)) = self.result {
            self.stats.transfer(self.label.is_upload(), bytes, result);
        }
    }
}

impl Drop for TransferRecord {
    fn drop(&mut self) {
        let (result, bytes) = self.result.unwrap_or_else(|| {
            let aborted = (crate::stats::TransferResult::Aborted, self.moved.load(Ordering::Relaxed));
            self.stats.transfer(self.label.is_upload(), aborted.1, aborted.0);
            aborted
        });
        let duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Who { session, peer } = self.who;
        tracing::info!(
            target: events::TRANSFER,
            session,
            %peer,
            user = %self.user,
            anonymous = self.anonymous,
            path = %self.label.path,
            direction = self.label.direction,
            binary = self.label.binary,
            bytes,
            duration_ms,
            result = result.as_str(),
            tls = self.tls,
            "transfer"
        );
    }
}

pub(super) struct DataSlot {
    listener: Option<JoinHandle<()>>,
    /// A passive listener not watched yet: the client's connection waits
    /// in the kernel's queue until the next command (see
    /// [`Conn::watch_listeners`]).
    parked: Option<std::net::TcpListener>,
    /// A passive listener whose first connection was taken at once (see
    /// [`Conn::watch_listeners`]), kept unwatched in case the session
    /// refuses that connection and waits for another.
    kept: Option<std::net::TcpListener>,
    pending: Option<DataSocket>,
    stream: Option<DataStream>,
    task: Option<JoinHandle<()>>,
    /// For an active connection: the protection asked for with `Connect`,
    /// applied when the connection is made.
    connect_tls: Option<DataTls>,
    /// For a passive listener: its place in the per-address count.
    passive: Option<PassiveTicket>,
}

impl DataSlot {
    pub(super) fn new(listener: Option<JoinHandle<()>>, task: Option<JoinHandle<()>>) -> Self {
        Self { listener, parked: None, kept: None, pending: None, stream: None, task, connect_tls: None, passive: None }
    }
}

pub(super) type TlsData = crate::tls::ServerStream;

/// How a transfer's task starts (see `DataAction::Transfer`). One value
/// per transfer, moved into its task once: not worth a box.
#[allow(clippy::large_enum_variant)]
enum Start {
    /// The transfer, from its first byte.
    Stream(DataStream, Job),
    /// The rest of a small file the socket did not take at once.
    Rest(Unsent, Bytes),
}

/// An accepted or connected data connection.
pub(super) enum DataStream {
    Plain(DataSocket),
    /// `PROT P`: the TLS handshake, started as soon as the connection was
    /// made (see `DataAction::Accept`), running in the background.
    Tls(Handshake),
}

/// A data connection's TLS handshake task; aborted when dropped, so a
/// closed data setup leaves nothing running. `direction` is set when the
/// transfer command arrives; the handshake reads it when the ClientHello
/// has come, to choose whether to send session tickets (only to a client
/// that will read to the end: see [`crate::tls::SessionTls`]).
pub(super) struct Handshake {
    task: JoinHandle<Result<TlsData, DataFailure>>,
    direction: watch::Sender<Option<Direction>>,
}

impl Handshake {
    pub(super) fn start(configs: Arc<DataTlsConfigs>, stream: DataSocket, must_resume: bool) -> Self {
        let (direction, known) = watch::channel(None);
        Self { task: tokio::spawn(data_handshake(configs, stream, must_resume, known)), direction }
    }

    pub(super) async fn finish(mut self, direction: Direction) -> Result<TlsData, DataFailure> {
        self.direction.send_replace(Some(direction));
        (&mut self.task).await.unwrap_or(Err(DataFailure::TlsFailed))
    }
}

impl Drop for Handshake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The server side of a data connection's handshake, bounded in time;
/// the session must resume the control connection's (SECURITY.md L6).
pub(super) async fn data_handshake(
    configs: Arc<DataTlsConfigs>,
    stream: DataSocket,
    must_resume: bool,
    direction: watch::Receiver<Option<Direction>>,
) -> Result<TlsData, DataFailure> {
    let Ok(stream) = stream.watched() else { return Err(DataFailure::TlsFailed) };
    let tag = resumption::tag(configs.conn_id);
    // Tickets sent here carry the control connection's id too; whether to
    // send any is decided once the ClientHello has come.
    let send_tickets = || *direction.borrow() == Some(Direction::Send);
    let handshake = crate::tls::accept_data(stream, &configs.with_tickets, &configs.without_tickets, send_tickets, tag);
    match tokio::time::timeout(TLS_TIMEOUT, handshake).await {
        Err(_) | Ok(Err(_)) => Err(DataFailure::TlsFailed),
        Ok(Ok(tls)) if must_resume && !resumes_allowed_session(&configs, &tls).await => Err(DataFailure::TlsNotResumed),
        Ok(Ok(tls)) => Ok(tls),
    }
}

/// How long a data connection waits for the control connection whose
/// session it resumed to log in ([`Verdict::NotYet`]).
const ISSUER_LOGIN_WAIT: Duration = Duration::from_secs(5);

/// SECURITY.md L6: the data connection resumed a session, and one it may:
/// its own control connection's (each has its own key and store in the
/// default mode, so resuming at all proves it), or, with
/// [`TlsResumption::SameClient`], one made for the same address and user.
async fn resumes_allowed_session(configs: &DataTlsConfigs, conn: &TlsData) -> bool {
    if !crate::tls::resumed(conn) {
        return false;
    }
    if configs.resumption.mode() == TlsResumption::ControlSession {
        return true;
    }
    // TLS 1.3 tickets carry the issuer as resumption data; under TLS 1.2
    // (which has none) the tagged key and store recorded it.
    let tag = match crate::tls::resumption_data(conn) {
        Some(data) => Some(data),
        None => configs.issuer.as_ref().and_then(|slot| slot.take()).map(|id| super::resumption::tag(id).to_vec()),
    };
    let started = Instant::now();
    loop {
        match configs.resumption.may_resume(configs.conn_id, tag.as_deref()) {
            Verdict::Yes => return true,
            Verdict::No => return false,
            Verdict::NotYet if started.elapsed() >= ISSUER_LOGIN_WAIT => return false,
            Verdict::NotYet => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Marks a control connection's login ended when the connection ends.
struct LoginRecord(Arc<Resumption>, u64);

impl Drop for LoginRecord {
    fn drop(&mut self) {
        self.0.ended(self.1);
    }
}

impl Drop for DataSlot {
    fn drop(&mut self) {
        if let Some(l) = self.listener.take() {
            l.abort();
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// A connection's running request tasks, by request; dropping it aborts
/// them all (SECURITY.md X1: work for a session that ended stops).
#[derive(Default)]
pub(super) struct RequestTasks(HashMap<RequestId, JoinHandle<()>>);

impl RequestTasks {
    /// The task that answers `id`.
    pub(super) fn insert(&mut self, id: RequestId, task: JoinHandle<()>) {
        // Finished tasks whose answer is still on its way are forgotten
        // here, so the map holds only what runs.
        self.0.retain(|_, t| !t.is_finished());
        self.0.insert(id, task);
    }

    /// `id` was answered: its task has ended.
    pub(super) fn answered(&mut self, id: RequestId) {
        self.0.remove(&id);
    }

    /// The session cancelled `id` (ABOR, connection end): stop its work now,
    /// dropping whatever it opened (a file, a directory being listed).
    pub(super) fn cancel(&mut self, id: RequestId) {
        if let Some(task) = self.0.remove(&id) {
            task.abort();
        }
    }
}

impl Drop for RequestTasks {
    fn drop(&mut self) {
        for task in self.0.values() {
            task.abort();
        }
    }
}

pub(super) struct Conn {
    shared: Arc<Shared>,
    /// This control connection's TLS settings, with its own resumption store.
    tls: Option<crate::tls::Acceptor>,
    /// The same for its data connections (see [`crate::tls::SessionTls`]).
    data_tls: Option<Arc<DataTlsConfigs>>,
    local_ip: IpAddr,
    /// The client's address (passive listeners are counted per address).
    peer_ip: IpAddr,
    /// This session in the log.
    who: Who,
    tx: Notes,
    data: HashMap<DataId, DataSlot>,
    /// The prepared source or sink of the last request the session
    /// accepted an answer to, until a `Transfer` takes it. At most one:
    /// the next accepted answer or the closing of the data setup drops it
    /// (SECURITY.md X1, X3: nothing an aborted request opened stays open).
    ///
    /// Boxed: a session holds one between a request and its transfer, and
    /// idle sessions (most of them) none, so it should not size every
    /// session.
    job: Option<Box<(RequestId, Job, Label)>>,
    /// The storage tasks of requests not answered yet, aborted when the
    /// session cancels their request and when the connection ends.
    requests: RequestTasks,
    /// Who is logged in, passed to the storage with every request (before
    /// login: an anonymous read-only placeholder no request is made for).
    /// Shared with the request tasks (one clone of a pointer each).
    user: Arc<Principal>,
    /// The access granted with the last named login, taken when the
    /// session reports the login, with its place in the user's session
    /// count (boxed: held only between the answer and the login).
    granted: Option<Box<(Principal, Option<UserTicket>)>>,
    /// The logged-in user's place in their session count
    /// ([`Limits::max_sessions`]).
    user_ticket: Option<Box<UserTicket>>,
    /// When the last command bytes arrived (the kernel's receive time when
    /// known, else when this thread read them): passive replies are paced
    /// from it.
    command_arrived: Instant,
    /// How the passive setup being made paces its reply.
    pace: Pace,
    /// The passive reply about to go out is handed over in two writes
    /// (see [`Pace::Handover`]): set from the `Listen` action until the
    /// reply is written.
    #[cfg(target_os = "linux")]
    handover: Option<Box<super::peer_read::PeerRead>>,
    /// Policy refusals logged so far (at most
    /// [`events::POLICY_EVENTS_PER_SESSION`]).
    policy_events: u32,
    /// The running upload's part is removed should it not complete
    /// ([`ServerOptions::remove_failed_uploads`]).
    remove_if_incomplete: bool,
    /// A transfer that ended in this turn of the session (a small file
    /// sent whole): its log line is written once the turn's replies are,
    /// so that formatting it (microseconds) does not delay the 226 the
    /// client waits for. Boxed: held only within a turn.
    settled: Option<Box<TransferRecord>>,
    /// The passive listener of a data setup closed in this turn, closed
    /// in turn after the replies for the same reason: nothing waits for
    /// it to go (the connection it gave is closed already).
    closing: Option<std::net::TcpListener>,
}

/// Serves one control connection. `client`: the client address a trusted
/// balancer's PROXY header carried, the session's peer instead of the
/// connection's (see [`ServerOptions::proxy_protocol_from`]).
pub(super) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    refused: Option<Refusal>,
    client: Option<SocketAddr>,
) -> io::Result<()> {
    let peer = match client {
        Some(client) => client,
        None => stream.peer_addr()?,
    };
    let local = stream.local_addr()?;
    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    serve_session(stream, shared, refused, conn_id, peer, local).await
}

/// Which session an event is about: every log event of a session carries
/// these two fields (`session`, `peer`). Fields rather than a span: a span
/// per session would cost every open session its record in the
/// subscriber (hundreds of bytes each), for what two fields say.
#[derive(Debug, Clone, Copy)]
pub(super) struct Who {
    session: u64,
    peer: SocketAddr,
}

/// An admitted session's place in the counters and the log: counted when
/// made, logged as `disconnected` (with how long it lasted and why) when
/// dropped, however the connection ends.
struct Opened {
    shared: Arc<Shared>,
    who: Who,
    since: Instant,
    reason: &'static str,
}

impl Opened {
    fn new(shared: Arc<Shared>, who: Who, local: SocketAddr) -> Self {
        shared.stats.session_opened();
        tracing::info!(target: events::CONNECTION, session = who.session, peer = %who.peer, %local, "connected");
        Self { shared, who, since: Instant::now(), reason: "connection lost" }
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.shared.stats.session_closed();
        let duration_ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Who { session, peer } = self.who;
        tracing::info!(target: events::CONNECTION, session, %peer, duration_ms, reason = self.reason, "disconnected");
    }
}

/// Why a session ended, for the `disconnected` event.
fn close_reason(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Quit => "quit",
        CloseReason::PeerEof => "client closed",
        CloseReason::IdleTimeout => "idle timeout",
        CloseReason::LoginTimeout => "login timeout",
        CloseReason::LineTimeout => "line timeout",
        CloseReason::TooManyErrors => "too many errors",
        CloseReason::TooManyLoginFailures => "too many login failures",
        CloseReason::HttpRequest => "HTTP request",
        CloseReason::Refused => "refused",
        CloseReason::Shutdown => "server stopping",
        _ => "other",
    }
}

async fn serve_session(
    stream: TcpStream,
    shared: Arc<Shared>,
    refused: Option<Refusal>,
    conn_id: u64,
    peer: SocketAddr,
    local: SocketAddr,
) -> io::Result<()> {
    let mut phase = shared.phase.subscribe();
    let running = *phase.borrow_and_update() == Phase::Running;
    let refused = refused.or((!running).then_some(Refusal::ShuttingDown));
    let who = Who { session: conn_id, peer };
    if let Some(why) = refused {
        shared.stats.refused(why);
        tracing::info!(target: events::CONNECTION, session = conn_id, %peer, reason = why.as_str(), "refused");
        if shared.implicit_tls {
            // A 421 could only go out after a TLS handshake: a refused
            // client of implicit FTPS costs no handshake, it is just closed
            // (C3).
            return Ok(());
        }
    }
    let mut opened = refused.is_none().then(|| Opened::new(shared.clone(), who, local));
    shared.resumption.opened(conn_id, peer.ip());
    let _login = LoginRecord(shared.resumption.clone(), conn_id);
    let (tls, data_tls) = conn_tls(&shared, peer.ip(), conn_id);
    let mut control = match &tls {
        Some(acceptor) if shared.implicit_tls => {
            match Box::pin(Control::handshake(stream, acceptor, resumption::tag(conn_id))).await {
                Ok(control) => control,
                Err(e) => {
                    shared.stats.tls_failed();
                    if let Some(opened) = &mut opened {
                        opened.reason = "TLS handshake failed";
                    }
                    return Err(e);
                }
            }
        }
        _ => Control::plain(stream, is_local(peer.ip(), local.ip())),
    };
    let conn_info = Connection::new(peer, local);
    let now = Instant::now();
    let mut session = match refused {
        None => Session::new(shared.config.clone(), conn_info, now),
        Some(Refusal::Banned) => {
            Session::refuse_with(shared.config.clone(), conn_info, now, "Too many failed logins from your address.")
        }
        Some(_) => Session::refuse(shared.config.clone(), conn_info, now),
    };
    if shared.guard.is_suspect(peer.ip(), now) {
        session.hold_logins();
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut conn = Conn {
        shared,
        tls,
        data_tls,
        local_ip: local.ip(),
        peer_ip: peer.ip(),
        who,
        tx,
        data: HashMap::new(),
        job: None,
        requests: RequestTasks::default(),
        user: Arc::new(Principal::anonymous(Access::read_only())),
        granted: None,
        user_ticket: None,
        policy_events: 0,
        remove_if_incomplete: false,
        settled: None,
        closing: None,
        command_arrived: now,
        pace: Pace::None,
        #[cfg(target_os = "linux")]
        handover: None,
    };
    let mut write_timeout = CONTROL_WRITE_TIMEOUT;
    // Idle sessions stay small (README: memory per session): a plaintext
    // session reads into its thread's buffer (`control::Control::read_now`),
    // and the rare, large steps of this loop (TLS handshakes, data-connection
    // setup) are boxed: inline, they made every session's task 7 KiB, boxed
    // it is 2 KiB.
    // The first bytes the client sends are checked for a PROXY header,
    // which only a trusted balancer may send, and only before the session
    // (SECURITY.md C6).
    let mut first_read = true;
    // One timer for the session's deadline, kept across the loop's turns and
    // moved only to an earlier deadline (`armed`): setting a tokio timer
    // earlier than the runtime's next wake wakes the runtime through its
    // event fd, and a new timer per command cost two system calls per
    // transfer. A deadline that moved later fires early, and is set again.
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    loop {
        // Carry out everything the session wants, in order.
        let deadline = loop {
            match session.poll_output() {
                Output::Transmit(bytes) => {
                    #[cfg(target_os = "linux")]
                    if let Some(reader) = conn.handover.take()
                        && let Some(head) = passive_reply_head(&bytes)
                    {
                        let write = control.write_all(head);
                        tokio::time::timeout(write_timeout, write).await.map_err(|_| timed_out())??;
                        await_read(&reader, control.client_on_this_cpu() == Some(true)).await;
                        let tail = &bytes[head.len()..];
                        tokio::time::timeout(write_timeout, control.write_all(tail))
                            .await
                            .map_err(|_| timed_out())??;
                        continue;
                    }
                    tokio::time::timeout(write_timeout, control.write_all(&bytes)).await.map_err(|_| timed_out())??;
                }
                Output::Data(action) => {
                    if let DataAction::Listen { extended, .. } = action {
                        conn.pace = conn.passive_pace(&control, extended);
                    }
                    Box::pin(conn.act(&mut session, action)).await;
                }
                Output::Request(req) => {
                    if let Some(note) = conn.request(req.id, req.kind, session.mlst_facts()) {
                        conn.note(&mut session, note);
                    }
                }
                Output::Event(Event::LoggedIn { user, anonymous }) => {
                    conn.shared.stats.login(true);
                    tracing::info!(
                        target: events::LOGIN,
                        session = conn_id,
                        %peer,
                        user = %String::from_utf8_lossy(user.as_bytes()),
                        anonymous,
                        "login"
                    );
                    conn.shared.resumption.logged_in(conn_id, peer.ip(), user.clone());
                    conn.user = Arc::new(if anonymous {
                        let mut principal =
                            Principal::anonymous(conn.shared.anonymous.unwrap_or_else(Access::read_only))
                                .with_limits(conn.shared.anonymous_limits);
                        principal.home.clone_from(&conn.shared.anonymous_root);
                        principal.name = user;
                        principal
                    } else {
                        // The authenticator's user, under the name the
                        // session logged in (they are the same login).
                        match conn.granted.take().map(|granted| *granted) {
                            Some((principal, ticket)) => {
                                conn.user_ticket = ticket.map(Box::new);
                                principal
                            }
                            None => Principal::new(user, Access::read_only()),
                        }
                    });
                }
                Output::Event(Event::UploadPossiblyTruncated { path, bytes }) => {
                    tracing::warn!(
                        target: events::TRANSFER,
                        session = conn_id,
                        %peer,
                        path = %String::from_utf8_lossy(path.as_bytes()),
                        bytes,
                        "upload accepted without TLS close_notify: possibly truncated (SECURITY.md L7)"
                    );
                }
                Output::Event(Event::UploadIncomplete { path, bytes }) => {
                    tracing::warn!(
                        target: events::TRANSFER,
                        session = conn_id,
                        %peer,
                        path = %String::from_utf8_lossy(path.as_bytes()),
                        bytes,
                        removed = conn.remove_if_incomplete,
                        "upload incomplete"
                    );
                    // Removed before the failure's reply goes out (it follows
                    // this event): a client that retries at once must not
                    // have its new upload removed in its place.
                    if std::mem::take(&mut conn.remove_if_incomplete) {
                        let (storage, user) = (conn.shared.storage.clone(), conn.user.clone());
                        if let Err(e) = Box::pin(storage.delete(&user, &path)).await {
                            tracing::warn!(
                                target: events::TRANSFER,
                                session = conn_id,
                                %peer,
                                error = %e,
                                "cannot remove a failed upload"
                            );
                        }
                    }
                }
                Output::Event(Event::RequestCancelled(id)) => conn.requests.cancel(id),
                Output::Event(Event::LoginFailed { user, failures }) => {
                    let recorded = conn.shared.guard.record_failure(peer.ip(), Instant::now());
                    conn.shared.stats.login(false);
                    tracing::warn!(
                        target: events::LOGIN,
                        session = conn_id,
                        %peer,
                        user = %String::from_utf8_lossy(user.as_bytes()),
                        session_failures = failures,
                        address_failures = recorded.recent,
                        "login failed"
                    );
                    if recorded.banned_now {
                        tracing::warn!(
                            target: events::LOGIN,
                            session = conn_id,
                            %peer,
                            ip = %guard::address_key(peer.ip()),
                            "address banned"
                        );
                    }
                }
                Output::Event(Event::Closed(reason)) => {
                    if let Some(opened) = &mut opened {
                        opened.reason = close_reason(reason);
                    }
                }
                Output::StartTls => {
                    let Some(acceptor) = conn.tls.clone() else { return Ok(()) };
                    if let Err(e) = Box::pin(control.start_tls(&acceptor, resumption::tag(conn_id))).await {
                        conn.shared.stats.tls_failed();
                        if let Some(opened) = &mut opened {
                            opened.reason = "TLS handshake failed";
                        }
                        return Err(e);
                    }
                    crate::checked(session.handle_input(Instant::now(), Input::TlsEstablished));
                }
                Output::StopTls => Box::pin(control.stop_tls()).await?,
                Output::Close => {
                    let _ = tokio::time::timeout(write_timeout, control.shutdown()).await;
                    return Ok(());
                }
                Output::Wait(deadline) => break deadline,
                _ => {}
            }
        };
        // The replies are out: what could wait for them goes now.
        conn.settled = None;
        conn.closing = None;
        if let Some(d) = deadline
            && armed.is_none_or(|at| d < at)
        {
            timer.as_mut().reset(d.into());
            armed = Some(d);
        }
        tokio::select! {
            () = control.readable() => {
                // A command is coming: passive listeners are watched from
                // now on, and a connection already queued reaches the
                // session before the command.
                conn.watch_listeners(&mut session);
                let now = Instant::now();
                let mut proxy_header = false;
                let first = &mut first_read;
                let shared = &conn.shared;
                let read = control.read_now(|bytes| {
                    if std::mem::take(first) && crate::proxy::looks_like_header(bytes) {
                        proxy_header = true;
                        return;
                    }
                    // A2: another session from this address failed
                    // since: this one's PASS replies are held too.
                    if !session.are_logins_held() && !session.is_logged_in() && shared.guard.is_suspect(peer.ip(), now) {
                        session.hold_logins();
                    }
                    crate::checked(session.handle_input(now, Input::Control(bytes)));
                });
                if proxy_header {
                    conn.shared.stats.refused(Refusal::ProxyProtocol);
                    tracing::info!(
                        target: events::CONNECTION,
                        session = conn_id,
                        %peer,
                        reason = Refusal::ProxyProtocol.as_str(),
                        detail = "PROXY header from an untrusted address",
                        "refused"
                    );
                    if let Some(opened) = &mut opened {
                        opened.reason = "PROXY header from an untrusted address";
                    }
                    let reply = b"421 PROXY protocol header not accepted from this address.\r\n";
                    let _ = tokio::time::timeout(write_timeout, control.write_all(reply)).await;
                    let _ = tokio::time::timeout(write_timeout, control.shutdown()).await;
                    return Ok(());
                }
                match read {
                    control::Read::Eof => crate::checked(session.handle_input(now, Input::ControlEof)),
                    control::Read::Fed(arrived) => conn.command_arrived = arrived.unwrap_or(now),
                    control::Read::Nothing => {}
                }
            }
            Some(note) = rx.recv() => conn.note(&mut session, *note),
            () = &mut timer, if armed.is_some() => {
                armed = None;
                let now = Instant::now();
                if deadline.is_some_and(|d| d <= now) {
                    crate::checked(session.handle_input(now, Input::Timeout));
                }
            }
            Ok(()) = phase.changed() => {
                let now = Instant::now();
                let current = *phase.borrow_and_update();
                match current {
                    Phase::Running => {}
                    Phase::Draining => { crate::checked(session.shut_down(now)); }
                    Phase::Stopping => {
                        write_timeout = STOP_WRITE_TIMEOUT;
                        crate::checked(session.handle_input(now, Input::Shutdown));
                    }
                }
            }
        }
    }
}

/// Whether the client runs on this machine (a loopback address, or the
/// server's own address on the connection).
fn is_local(peer: IpAddr, local: IpAddr) -> bool {
    peer.is_loopback() || peer == local
}

/// The least time from an EPSV command's arrival to its 229 where the
/// reply cannot be handed over
/// ([`Pace::Handover`]: TLS, or no `sock_diag`). curl, the client that
/// sends EPSV on IPv4 (by default), stalls a whole second when the reply
/// is there at the read that follows its send; measured on loopback (16
/// runs of 1,000 files, unpinned), that happened in 9 runs at 60 µs from
/// the arrival, 4 at 80 and 1 at 100 (and still once in 5,000 files at
/// 100 µs: a clock only makes the stall rarer). PASV's clients (Python's
/// ftplib, wget, lftp) wait for the reply in a blocking read, where the
/// pace is only lost time.
const EPSV_REPLY_PACE: Duration = Duration::from_micros(100);

/// How a passive reply is held back (see [`Conn::act`]'s `Listen`).
pub(super) enum Pace {
    /// A client elsewhere, or a PASV from another CPU of this machine:
    /// answered at once.
    None,
    /// A client on this thread's CPU: it sent from here, so it either
    /// already waits for the answer or waits for this CPU; giving the CPU
    /// away once lets it reach its read before the answer exists.
    Yield,
    /// An EPSV from this machine that cannot be handed over: the answer
    /// leaves no sooner than this ([`EPSV_REPLY_PACE`] after the command
    /// arrived).
    Until(Instant),
    /// A client on this machine whose unread bytes the kernel reports
    /// (plaintext control connection, Linux): the reply goes out at once
    /// but for its final line feed, which follows once the client has read
    /// the rest (see [`super::peer_read`]). The reply is then complete at
    /// the read curl makes right after its send only if curl loses its CPU
    /// for more than [`HANDOVER_GUARD`] between that read and the next
    /// (README, Performance: the one race left).
    #[cfg(target_os = "linux")]
    Handover(Box<super::peer_read::PeerRead>),
}

/// How long a passive reply's last byte waits, spinning, for the client
/// to read the rest: a client that runs reads within microseconds of the
/// bytes' arrival.
#[cfg(target_os = "linux")]
const HANDOVER_SPIN_FOR: Duration = Duration::from_micros(200);

/// The most it waits in all: past [`HANDOVER_SPIN_FOR`], the client was
/// kept from running (curl, preempted between its send and its read, would
/// still find the whole line at that read), and the thread looks again
/// each millisecond without spinning. A client that reads no sooner gets
/// the line feed then.
#[cfg(target_os = "linux")]
const HANDOVER_LIMIT: Duration = Duration::from_millis(30);

/// How long the final line feed waits after the client has read the
/// rest: time for curl, should it have read the rest at the read right
/// after its send, to make the next read (which finds nothing) before the
/// line feed is there.
#[cfg(target_os = "linux")]
const HANDOVER_GUARD: Duration = Duration::from_micros(10);

/// The passive reply in `bytes` but its final line feed, if `bytes` end
/// with a 227 or 229 line.
#[cfg(target_os = "linux")]
fn passive_reply_head(bytes: &[u8]) -> Option<&[u8]> {
    let line_start = bytes[..bytes.len().checked_sub(2)?].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = &bytes[line_start..];
    (line.ends_with(b"\r\n") && (line.starts_with(b"227 ") || line.starts_with(b"229 ")))
        .then(|| &bytes[..bytes.len() - 1])
}

/// Waits until the client has read everything sent to it (or
/// [`HANDOVER_LIMIT`] passed, or that cannot be known), giving the CPU
/// away between questions: to the client, should it be waiting for this
/// CPU, and to this thread's other sessions. A client that does not read
/// (SECURITY.md C4) costs the server at most [`HANDOVER_SPIN_FOR`] of CPU,
/// then a question a millisecond, for at most [`HANDOVER_LIMIT`].
#[cfg(target_os = "linux")]
async fn await_read(reader: &super::peer_read::PeerRead, client_here: bool) {
    let Some(sent) = reader.sent() else { return };
    let start = Instant::now();
    let mut yielded = start;
    while reader.has_read(sent) == Some(false) {
        // A client on this CPU needs it to read: given away at once. One on
        // another CPU reads within microseconds of waking up: the thread
        // spins a little between questions (each is two system calls), and
        // gives the CPU away only now and then.
        let now = Instant::now();
        let waited = now.duration_since(start);
        if waited >= HANDOVER_LIMIT {
            tracing::debug!(target: events::CONNECTION, "EPSV reply completed before the client read it");
            break;
        }
        if waited >= HANDOVER_SPIN_FOR {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else if client_here || now.duration_since(yielded) >= HANDOVER_YIELD_EVERY {
            std::thread::yield_now();
            tokio::task::yield_now().await;
            yielded = Instant::now();
        } else {
            while now.elapsed() < HANDOVER_SPIN {
                std::hint::spin_loop();
            }
        }
    }
    let read = Instant::now();
    while read.elapsed() < HANDOVER_GUARD {
        std::hint::spin_loop();
    }
}

/// How long [`await_read`] spins between two questions to the kernel.
#[cfg(target_os = "linux")]
const HANDOVER_SPIN: Duration = Duration::from_micros(3);

/// How often [`await_read`] gives the CPU away while it waits.
#[cfg(target_os = "linux")]
const HANDOVER_YIELD_EVERY: Duration = Duration::from_micros(30);

/// Waits until `until`, giving the CPU away meanwhile: to this thread's
/// other sessions and to other processes.
async fn pace_passive_reply(until: Instant) {
    while Instant::now() < until {
        std::thread::yield_now();
        tokio::task::yield_now().await;
    }
}

impl Conn {
    /// Starts accepting on the passive listeners made since the last
    /// command, now that another command came (the transfer command, as a
    /// rule, with the client's connection already queued: taken here at
    /// once and given to the session before the command, as if it had been
    /// accepted when it came). Until then nothing watches them, so a
    /// client's connect wakes no thread on its way (as pure-ftpd, which
    /// polls its listener only once the transfer command came): 12 µs of
    /// every passive transfer's round trips measured on loopback.
    pub(super) fn watch_listeners(&mut self, session: &mut Session) {
        let parked: Vec<_> =
            self.data.iter_mut().filter_map(|(&id, slot)| slot.parked.take().map(|l| (id, l))).collect();
        for (id, parked) in parked {
            // The connection that is already there: given to the session
            // now, and the listener is kept unwatched. Only should the session
            // refuse it (D3: another address) does a task wait for the
            // next (`Conn::listen_on`).
            if let Ok((stream, peer)) = super::accept_nonblocking(&parked) {
                if let Some(slot) = self.data.get_mut(&id) {
                    slot.kept = Some(parked);
                }
                // Not registered with the event loop: a small file's
                // transfer never needs it (see `DataSocket`).
                self.note(session, Note::Incoming(id, DataSocket::Unwatched(stream), peer));
                continue;
            }
            self.listen_on(id, parked);
        }
    }

    /// Accepts on `parked` in a task of its own, each connection reported
    /// with [`Note::Incoming`].
    fn listen_on(&mut self, id: DataId, parked: std::net::TcpListener) {
        let listener = match TcpListener::from_std(parked) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(
                    target: events::CONNECTION,
                    session = self.who.session,
                    peer = %self.who.peer,
                    error = %e,
                    "passive listener lost"
                );
                return;
            }
        };
        let tx = self.tx.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                if tx.send(Box::new(Note::Incoming(id, DataSocket::Watched(stream), peer))).is_err() {
                    break;
                }
            }
        });
        match self.data.get_mut(&id) {
            Some(slot) => slot.listener = Some(task),
            None => task.abort(),
        }
    }

    /// How to pace the answer to the passive command just read on
    /// `control` (`extended`: EPSV).
    fn passive_pace(&self, control: &control::Control, extended: bool) -> Pace {
        if !is_local(self.peer_ip, self.local_ip) {
            return Pace::None;
        }
        // EPSV is curl's; PASV's clients wait in a blocking read, where a
        // reply in two writes costs them a wake-up more (measured with
        // ftplib: 18% fewer small files per second).
        #[cfg(target_os = "linux")]
        if extended
            && let Some(reader) = control.peer_read()
            && reader.sent().is_some()
        {
            return Pace::Handover(Box::new(reader));
        }
        if extended {
            return Pace::Until(self.command_arrived + EPSV_REPLY_PACE);
        }
        // A 227 is not held back: a pace of 40 µs from the command's
        // arrival cost ftplib 8% of its small files per second (20
        // alternating pinned runs) and spared curl `--disable-epsv` no
        // stall (4 against 5 in 4,000 files, pinned).
        match control.client_on_this_cpu() {
            Some(true) => Pace::Yield,
            _ => Pace::None,
        }
    }
}

impl Conn {
    pub(super) async fn act(&mut self, session: &mut Session, action: DataAction) {
        match action {
            DataAction::Listen { id, .. } => {
                // D6: one listener per session. The session closes the old
                // setup before it asks for a new one; should one be left,
                // it goes now, so a new PASV never counts twice.
                self.data.retain(|_, slot| slot.passive.is_none());
                // curl 7.88 reads once right after it sends PASV/EPSV, and
                // a 227/229 already there at that read makes it wait a whole
                // second before it connects (it then polls no socket at
                // all, only its own wake-up pipe). A server that
                // answers within microseconds, on the client's CPU (where it
                // preempted the client to run) or on another, meets that
                // read; so the reply is paced (see `pace_passive_reply`).
                // Only a client on this machine can be that fast: over a
                // network the round trip alone outlasts curl's gap between
                // its send and its read, so remote clients get no pacing
                // (see [`Pace`]). The pace counts from when the command
                // arrived (the kernel's receive time where it keeps it), so
                // that the time this thread took to wake up counts too.
                // Where the kernel tells what the client has read, an
                // EPSV's reply is handed over instead (`Pace::Handover`):
                // no clock, and no stall whatever the client's timing.
                let pace = std::mem::replace(&mut self.pace, Pace::None);
                // A client on this CPU gets it before the listener is made
                // (one on another CPU gains nothing from that).
                if matches!(pace, Pace::Yield) {
                    std::thread::yield_now();
                }
                // C3: past the cap for this client address, 425.
                let bound = match self.shared.take_passive(self.peer_ip) {
                    Some(ticket) => bind_passive(&self.shared, self.local_ip).await.ok().map(|l| (l, ticket)),
                    None => None,
                };
                let Some(((listener, addr), ticket)) = bound else {
                    crate::checked(session.handle_input(Instant::now(), Input::Data(id, DataEvent::ListenFailed)));
                    return;
                };
                match pace {
                    Pace::Until(until) => pace_passive_reply(until).await,
                    #[cfg(target_os = "linux")]
                    Pace::Handover(reader) => self.handover = Some(reader),
                    Pace::None | Pace::Yield => {}
                }
                let mut slot = DataSlot::new(None, None);
                slot.parked = Some(listener);
                slot.passive = Some(ticket);
                self.data.insert(id, slot);
                // Under PROT P some clients (aioftp) run the data
                // connection's TLS handshake before the transfer command:
                // accepted at once, as it comes.
                if session.data_protected() {
                    self.watch_listeners(session);
                }
                crate::checked(session.handle_input(Instant::now(), Input::Data(id, DataEvent::Listening { addr })));
            }
            DataAction::Accept { id, tls } => {
                let stream = self.data.get_mut(&id).and_then(|slot| slot.pending.take());
                if let Some(stream) = stream {
                    let stream = self.protect(stream, tls);
                    if let Some(slot) = self.data.get_mut(&id) {
                        slot.stream = Some(stream);
                    }
                }
            }
            DataAction::Reject { id, .. } => {
                // The session waits for another connection (D3): watched
                // from now on, if it was not.
                let parked = self.data.get_mut(&id).and_then(|slot| {
                    slot.pending = None;
                    slot.kept.take()
                });
                if let Some(parked) = parked {
                    self.listen_on(id, parked);
                }
            }
            DataAction::Connect { id, addr, tls } => {
                let tx = self.tx.clone();
                let local = SocketAddr::new(self.local_ip, 0);
                let task = tokio::spawn(async move {
                    let connect = async {
                        let socket = if local.is_ipv4() {
                            tokio::net::TcpSocket::new_v4()?
                        } else {
                            tokio::net::TcpSocket::new_v6()?
                        };
                        socket.bind(local)?;
                        socket.connect(addr).await
                    };
                    let result = tokio::time::timeout(Duration::from_secs(60), connect)
                        .await
                        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")));
                    let _ = tx.send(Box::new(Note::Connected(id, result)));
                });
                let mut slot = DataSlot::new(None, Some(task));
                slot.connect_tls = Some(tls);
                self.data.insert(id, slot);
            }
            DataAction::Transfer { id, request, tls, direction } => {
                let stream = self.data.get_mut(&id).and_then(|s| s.stream.take());
                // A job left by another request is stale: dropped here.
                let job = self.job.take().filter(|j| j.0 == request).map(|j| {
                    let (_, job, label) = *j;
                    (job, label)
                });
                let tx = self.tx.clone();
                let (Some(stream), Some((job, label))) = (stream, job) else {
                    let failed = DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost };
                    crate::checked(session.handle_input(Instant::now(), Input::Data(id, failed)));
                    return;
                };
                // PROT P set after the connection came: the handshake starts now.
                let stream = match stream {
                    DataStream::Plain(tcp) => self.protect(tcp, tls),
                    tls_stream @ DataStream::Tls(_) => tls_stream,
                };
                // An atomic upload's temporary file is its own business
                // (Commit); the target it never touched must stay.
                self.remove_if_incomplete =
                    self.shared.remove_failed_uploads && label.fresh && matches!(job, Job::Write(_, _, None));
                let limits = self.user.limits;
                let rate = if label.is_upload() { limits.upload_rate } else { limits.download_rate };
                let moved = Arc::new(AtomicU64::new(0));
                let mut record = TransferRecord {
                    who: self.who,
                    label,
                    user: String::from_utf8_lossy(self.user.name.as_bytes()).into_owned(),
                    anonymous: self.user.anonymous,
                    tls: tls.required,
                    started: Instant::now(),
                    moved: moved.clone(),
                    result: None,
                    stats: self.shared.stats.clone(),
                };
                // A small file read whole, on a plaintext connection with no
                // rate: sent here, in the session's own turn, when the socket
                // buffer takes it all (as a rule): no task, no channel, no
                // registration with the event loop. What it does not take
                // goes on in a task.
                let start = match (stream, job) {
                    (DataStream::Plain(socket), Job::Read(file, false)) if !tls.required && rate.is_none() => {
                        match file.into_parts() {
                            Parts::Bytes(bytes) => match socket.send_whole(&bytes) {
                                Ok(sent) => {
                                    let event = sent_whole(sent, &bytes);
                                    record.finish(&event);
                                    self.settled = Some(Box::new(record));
                                    crate::checked(session.handle_input(Instant::now(), Input::Data(id, event)));
                                    return;
                                }
                                Err(unsent) => Start::Rest(unsent, bytes),
                            },
                            parts => Start::Stream(DataStream::Plain(socket), Job::Read(parts.into_source(), false)),
                        }
                    }
                    (stream, job) => Start::Stream(stream, job),
                };
                let stats = self.shared.stats.clone();
                let local = is_local(self.peer_ip, self.local_ip);
                let task = tokio::spawn(async move {
                    let progress = Progress::new(tx.clone(), id, moved);
                    let event = match start {
                        Start::Rest(Unsent { socket, sent }, bytes) => send_rest(socket, bytes, sent, progress).await,
                        Start::Stream(stream, job) => match stream {
                            DataStream::Plain(socket) if !tls.required => match rate {
                                None => transfer_plain(socket, job, local, progress).await,
                                Some(rate) => match socket.watched() {
                                    Ok(tcp) => transfer(Paced::new(tcp, rate), job, false, progress).await,
                                    Err(_) => DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost },
                                },
                            },
                            // Required but no certificate: the session never
                            // allows PROT P then; refuse rather than send plaintext.
                            DataStream::Plain(_) => DataEvent::Failed { bytes: 0, reason: DataFailure::TlsFailed },
                            DataStream::Tls(handshake) => match (handshake.finish(direction).await, rate) {
                                (Ok(tls), None) => transfer(tls, job, true, progress).await,
                                (Ok(tls), Some(rate)) => transfer(Paced::new(tls, rate), job, true, progress).await,
                                (Err(reason), _) => {
                                    stats.tls_failed();
                                    DataEvent::Failed { bytes: 0, reason }
                                }
                            },
                        },
                    };
                    record.finish(&event);
                    drop(record);
                    let _ = tx.send(Box::new(Note::Done(id, event)));
                });
                if let Some(slot) = self.data.get_mut(&id) {
                    slot.task = Some(task);
                }
            }
            DataAction::Close { id } => {
                if let Some(mut slot) = self.data.remove(&id) {
                    self.closing = slot.kept.take().or_else(|| slot.parked.take());
                }
                // The setup a prepared job was waiting for is gone (ABOR,
                // a failed connection, a timeout): close its file now.
                self.job = None;
            }
            _ => {}
        }
    }

    pub(super) fn note(&mut self, session: &mut Session, note: Note) {
        let now = Instant::now();
        match note {
            Note::Answer(id, answered) => {
                let Answered(answer, job, granted) = *answered;
                self.requests.answered(id);
                if granted.is_some() {
                    self.granted = granted.map(Box::new);
                }
                // Kept only when the session takes the answer: the answer to
                // a cancelled request (ABOR) is stale, and its file is
                // closed here (SECURITY.md X1, X3).
                if session.answer(now, id, answer).is_ok() {
                    self.job = job.map(|(job, label)| Box::new((id, job, label)));
                }
            }
            Note::Incoming(id, stream, peer) => {
                if let Some(slot) = self.data.get_mut(&id) {
                    if let DataSocket::Watched(stream) = &stream {
                        let _ = stream.set_nodelay(true);
                    }
                    slot.pending = Some(stream);
                    crate::checked(session.handle_input(now, Input::Data(id, DataEvent::Incoming { peer })));
                }
            }
            Note::Connected(id, result) => {
                let Some(slot) = self.data.get_mut(&id) else { return };
                let tls = slot.connect_tls.take();
                let event = match result {
                    Ok(stream) => {
                        let stream = DataSocket::Watched(stream);
                        let stream = match tls {
                            Some(tls) => self.protect(stream, tls),
                            None => DataStream::Plain(stream),
                        };
                        if let Some(slot) = self.data.get_mut(&id) {
                            slot.stream = Some(stream);
                        }
                        DataEvent::Connected
                    }
                    Err(_) => DataEvent::ConnectFailed,
                };
                crate::checked(session.handle_input(now, Input::Data(id, event)));
            }
            Note::Progress(id, bytes) => {
                crate::checked(session.handle_input(now, Input::Data(id, DataEvent::Progress { bytes })));
            }
            Note::Done(id, event) => {
                crate::checked(session.handle_input(now, Input::Data(id, event)));
            }
        }
    }

    /// A new data connection, with its TLS handshake started in the
    /// background when `PROT P` is in force.
    pub(super) fn protect(&self, stream: DataSocket, tls: DataTls) -> DataStream {
        match &self.data_tls {
            Some(configs) if tls.required => {
                DataStream::Tls(Handshake::start(configs.clone(), stream, tls.must_resume_control_session))
            }
            _ => DataStream::Plain(stream),
        }
    }

    /// Answers a request from the authenticator or the storage: at once
    /// when the storage can (the answer is returned, for the caller to give
    /// the session), else in a task of its own whose answer comes through
    /// the channel (logins always: they are paced).
    #[must_use]
    pub(super) fn request(&mut self, id: RequestId, kind: RequestKind, facts: Vec<&'static str>) -> Option<Note> {
        let shared = self.shared.clone();
        let tx = self.tx.clone();
        if let RequestKind::Login { user, password } = kind {
            // A2: from an address that failed recently, passwords are
            // checked one per delay for the whole address, and not at all
            // while it is banned. An authentication runs to its end even
            // when the session goes away (an authenticator is not cut
            // mid-way), so its task is not tracked.
            let slot = self.shared.guard.slot(self.peer_ip, Instant::now());
            let (peer_ip, who) = (self.peer_ip, self.who);
            tokio::spawn(async move {
                let Some(slot) = slot else {
                    let _ = tx.send(Box::new(Note::Answer(id, Box::new(Answered(Answer::LoginDenied, None, None)))));
                    return;
                };
                tokio::time::sleep_until(slot.into()).await;
                let granted = shared.auth().login(&user, &password, peer_ip).await.and_then(|principal| {
                    // Limits::max_sessions: the login past it is refused.
                    let Some(max) = principal.limits.max_sessions else { return Some((principal, None)) };
                    match UserTicket::take(&shared, &principal.name, max) {
                        Some(ticket) => Some((principal, Some(ticket))),
                        None => {
                            tracing::info!(
                                target: events::POLICY,
                                session = who.session,
                                peer = %who.peer,
                                user = %String::from_utf8_lossy(principal.name.as_bytes()),
                                command = "PASS",
                                reason = "too many sessions of the user",
                                "refused"
                            );
                            None
                        }
                    }
                });
                let answer = if granted.is_some() { Answer::LoggedIn } else { Answer::LoginDenied };
                let _ = tx.send(Box::new(Note::Answer(id, Box::new(Answered(answer, None, granted)))));
            });
            return None;
        }
        if kind.is_write() && !self.user.access.writable && self.policy_events < events::POLICY_EVENTS_PER_SESSION {
            self.policy_events += 1;
            tracing::info!(
                target: events::POLICY,
                session = self.who.session,
                peer = %self.who.peer,
                user = %String::from_utf8_lossy(self.user.name.as_bytes()),
                command = write_verb(&kind),
                reason = "read-only user",
                "refused"
            );
        }
        // Tried here first: a storage that answers without waiting (a hot
        // file opened from the kernel's caches, see `crate::cached`) is
        // answered in this turn, with no task and no trip through the
        // channel. What must wait runs on as a task of its own, polled
        // again there (a future may move between wakers).
        let user = self.user.clone();
        let label = Label::of(&kind);
        let mut work = Box::pin(async move { decide(&shared, &user, kind, &facts).await });
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready((answer, job)) = work.as_mut().poll(&mut cx) {
            return Some(Note::Answer(id, Box::new(Answered(answer, job.map(|job| (job, label)), None))));
        }
        // Storage work stops when its request is cancelled (SECURITY.md X1).
        let task = tokio::spawn(async move {
            let (answer, job) = work.await;
            let _ = tx.send(Box::new(Note::Answer(id, Box::new(Answered(answer, job.map(|job| (job, label)), None)))));
        });
        self.requests.insert(id, task);
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::passive_reply_head;

    /// Only a 227 or 229 line at the end is split, before its line feed.
    #[test]
    fn the_passive_reply_loses_only_its_line_feed() {
        let epsv = b"229 Entering Extended Passive Mode (|||40000|)\r\n";
        assert_eq!(passive_reply_head(epsv), Some(&epsv[..epsv.len() - 1]));
        let both = b"200 Type set to I.\r\n227 Entering Passive Mode (127,0,0,1,156,64).\r\n";
        assert_eq!(passive_reply_head(both), Some(&both[..both.len() - 1]));
        for other in [&b"425 Cannot open a passive listener.\r\n"[..], b"229-multi\r\n", b"229 no end", b"\r\n", b""] {
            assert_eq!(passive_reply_head(other), None, "{:?}", String::from_utf8_lossy(other));
        }
    }
}
