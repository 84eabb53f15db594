//! One client connection: moves bytes between the socket and the sans-IO
//! stream core, and stanzas between the core, the router and the session's
//! outbound queue. Owns the connection's timers.
//!
//! Reads land in one buffer shared by all connections (the executor is
//! single-threaded and a chunk is parsed before the next await), so an idle
//! connection holds no read buffer of its own.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_net::TcpStream;
use futures_lite::{AsyncRead, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::TlsAcceptor;

use crate::net::sm;
use crate::net::tls;
use crate::net::transport::Transport;
use crate::proto::stream::{self, Action, C2sStream};
use crate::server::Server;
use crate::sessions::{Outbox, Outgoing};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::FullJid;
use crate::xmpp::ns;
use crate::xmpp::reader::{StreamReader, XmlLimits};
use crate::xmpp::stanza::Kind;

mod delivery;
mod env;
mod sasl2;
mod session;

use env::Env;

/// Size of the shared read buffer: one TLS record's worth of plaintext.
const READ_CHUNK: usize = 16 * 1024;
/// Largest stanza accepted before authentication; SASL needs little.
const PRE_AUTH_STANZA_BYTES: usize = 16 * 1024;
/// Most elements in a stanza before authentication (a registration form
/// has a few dozen).
const PRE_AUTH_ELEMENTS: usize = 64;
/// Bytes taken from a session's queue for one write.
const WRITE_BATCH: usize = 64 * 1024;
/// A client that does not take our data for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

thread_local! {
	static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
	static NEXT_CONN: Cell<u64> = const { Cell::new(0) };
}

/// How a connection's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
	/// The stream was closed (by either side, with or without an error).
	Closed,
	/// The client vanished: the socket failed or went quiet (a resumable
	/// session then waits for it, XEP-0198).
	Lost,
	/// Another connection resumed the session; nothing is left to do here.
	TakenOver,
}

/// Serves one accepted connection until it ends. Admission is decided
/// here, synchronously, and the returned future holds the connection once:
/// an async fn handing `Conn` on by value kept it twice in every idle
/// session's task (about 1.3 KiB each, measured with heaptrack).
pub fn serve(server: Rc<Server>, tcp: TcpStream, peer: SocketAddr, direct_tls: bool) -> impl std::future::Future<Output = ()> + 'static {
	let admitted = server.guard.borrow_mut().connect(crate::net::guard::Kind::Client, peer.ip(), &server.config.limits);
	let mut conn: Result<Conn, Pin<Box<dyn std::future::Future<Output = ()>>>> = match admitted {
		Ok(()) => Ok(Conn::new(server, Transport::Plain(Box::new(tcp)), peer)),
		Err(refusal) => Err(Box::pin(refuse(server, tcp, peer, refusal, direct_tls))),
	};
	async move {
		match &mut conn {
			Ok(c) => run_to_end(c, direct_tls).await,
			Err(f) => f.await,
		}
	}
}

async fn refuse(server: Rc<Server>, tcp: TcpStream, peer: SocketAddr, refusal: crate::net::guard::Refusal, direct_tls: bool) {
	log::info!("{peer}: refused ({refusal:?})");
	if !direct_tls {
		let text = match refusal {
			crate::net::guard::Refusal::TooManyConnections => "server is full",
			crate::net::guard::Refusal::TooManyFromAddress => "too many connections from your address",
		};
		let err = StreamError::with_text(StreamCondition::PolicyViolation, text);
		let msg = format!("{}{}</stream:stream>", stream::header_xml(&server.new_id(), &server.config.domain, None), err.to_xml());
		let mut tcp = tcp;
		let _ = tcp
			.write_all(msg.as_bytes())
			.or(async {
				Timer::after(Duration::from_secs(5)).await;
				Ok(())
			})
			.await;
	}
}

/// Serves an XMPP session over a WebSocket (RFC 7395) on a TLS connection
/// that has been upgraded; `cb` is that connection's channel binding.
pub async fn serve_ws(server: Rc<Server>, ws: super::ws::Ws, peer: SocketAddr, cb: Option<Vec<u8>>) {
	let admitted = server.guard.borrow_mut().connect(crate::net::guard::Kind::Client, peer.ip(), &server.config.limits);
	if let Err(refusal) = admitted {
		log::info!("{peer}: WebSocket refused ({refusal:?})");
		let mut ws = ws;
		ws.close().await;
		return;
	}
	let mut conn = Conn::new(server.clone(), Transport::Ws(Box::new(ws)), peer);
	conn.stream = C2sStream::new_tls(server.new_id(), cb);
	conn.stream.set_end_point(Some(server.tls_end_point.borrow().clone()));
	run_to_end(&mut conn, false).await;
}

/// Serves an XMPP session over BOSH (XEP-0206); admitted by the caller
/// (`net::bosh`), which has counted it as a client connection. No channel
/// binding: the requests come over many TLS connections.
pub async fn serve_bosh(server: Rc<Server>, pipe: super::bosh::Pipe, peer: SocketAddr) {
	let mut conn = Conn::new(server.clone(), Transport::Bosh(Box::new(pipe)), peer);
	conn.stream = C2sStream::new_tls(server.new_id(), None);
	// Every request's TLS presents the box's certificate.
	conn.stream.set_end_point(Some(server.tls_end_point.borrow().clone()));
	run_to_end(&mut conn, false).await;
}

async fn run_to_end(conn: &mut Conn, direct_tls: bool) {
	let (server, peer) = (conn.server.clone(), conn.peer);
	let end = conn.run(direct_tls).await.unwrap_or_else(|e| {
		log::debug!("{peer}: {e}");
		End::Lost
	});
	// The socket is not needed any more, whatever comes next.
	conn.io = Transport::Gone;
	conn.requeue_held();
	server.guard.borrow_mut().disconnect(crate::net::guard::Kind::Client, peer.ip());
	match end {
		End::TakenOver => {}
		End::Lost if conn.sm.as_ref().is_some_and(|s| s.borrow().token.is_some()) => conn.hibernate().await,
		_ => conn.end().await,
	}
}

/// The bound session of this connection.
struct Bound {
	id: u64,
	jid: FullJid,
}

impl Bound {
	/// The account: the bound JID's localpart (not kept twice).
	fn user(&self) -> &str {
		self.jid.node().unwrap_or_default()
	}
}

struct Conn {
	server: Rc<Server>,
	peer: SocketAddr,
	io: Transport,
	stream: C2sStream,
	reader: StreamReader,
	outbox: Rc<Outbox>,
	bound: Option<Bound>,
	/// Identifies this connection as a session's owner (XEP-0198 takeover).
	conn_id: u64,
	/// Stream management, once the client enabled it.
	sm: Option<sm::Shared>,
	/// We sent `<r/>` and wait for `<a/>`.
	ack_requested: bool,
	/// Stanzas were written since the last `<r/>`.
	sent_since_request: bool,
	/// XEP-0352: the client said it is inactive.
	inactive: bool,
	/// The queue's turn to go before reading (they alternate).
	queue_turn: bool,
	/// What waits while it is.
	csi_held: super::csi::Held,
	/// An invitation token shown before registering (XEP-0445).
	preauth: Option<super::register::Preauth>,
	/// The SASL2 user-agent id, until an RFC 6120 bind makes the session
	/// that belongs to that device (Bind2 sets it at once).
	device: Option<Box<str>>,
	/// How the stream was closed, for `run`'s answer.
	closed_as: End,
	/// Bytes to write at the next flush.
	out: Vec<u8>,
	opened: Instant,
	last_read: Instant,
	last_write: Instant,
	/// Counted in the connection statistics while it lives.
	stat: crate::stats::Open,
}

/// How the main loop woke up.
enum Wake {
	Read(io::Result<usize>),
	/// `None`: the outbox was closed because the client does not keep up.
	Queue(Option<Outgoing>),
	Timer,
}

impl Conn {
	fn new(server: Rc<Server>, io: Transport, peer: SocketAddr) -> Conn {
		let id = server.new_id();
		let now = Instant::now();
		let stat = match &io {
			Transport::Ws(ws) => {
				let open = crate::stats::Open::new(crate::stats::ConnKind::Ws);
				open.tls(crate::stats::Tls::of(ws.tls_version()));
				open
			}
			_ => crate::stats::Open::new(crate::stats::ConnKind::C2s),
		};
		Conn {
			stat,
			reader: StreamReader::new(pre_auth_limits(&server)),
			server,
			peer,
			io,
			stream: C2sStream::new_plain(id),
			outbox: Outbox::new(),
			bound: None,
			conn_id: NEXT_CONN.with(|n| {
				n.set(n.get() + 1);
				n.get()
			}),
			sm: None,
			ack_requested: false,
			sent_since_request: false,
			inactive: false,
			queue_turn: false,
			csi_held: Default::default(),
			preauth: None,
			device: None,
			closed_as: End::Closed,
			out: Vec::new(),
			opened: now,
			last_read: now,
			last_write: now,
		}
	}

	/// True once another connection resumed this one's session.
	fn taken_over(&self) -> bool {
		self.sm.as_ref().is_some_and(|s| s.borrow().owner != self.conn_id)
	}

	async fn run(&mut self, direct_tls: bool) -> io::Result<End> {
		if direct_tls {
			let cb = self.start_tls().await?;
			self.stream = C2sStream::new_tls(self.server.new_id(), cb);
			self.stream.set_end_point(Some(self.server.tls_end_point.borrow().clone()));
		}
		loop {
			if self.taken_over() {
				return Ok(End::TakenOver);
			}
			let limits = &self.server.config.limits;
			let mut wake_at = self.last_read + limits.idle_timeout;
			if self.bound.is_none() {
				wake_at = wake_at.min(self.opened + limits.negotiation_timeout);
			} else {
				wake_at = wake_at.min(self.last_write + limits.keepalive_interval);
			}
			// Every other turn what is queued goes first: a client that sends
			// without pause still gets what is queued for it (its own room
			// echoes), within `session_queue_bytes`.
			self.queue_turn = !self.queue_turn;
			let io = &mut self.io;
			let rx = &self.outbox;
			let wake = if self.queue_turn && !rx.is_empty() {
				Wake::Queue(rx.try_recv())
			} else {
				async { Wake::Read(read_shared(io).await) }
					.or(async { Wake::Queue(rx.recv().await) })
					.or(async {
						Timer::at(wake_at).await;
						Wake::Timer
					})
					.await
			};
			let actions = match wake {
				Wake::Read(Ok(0)) => return Ok(End::Lost),
				Wake::Read(Ok(n)) => {
					self.last_read = Instant::now();
					READ_BUF.with_borrow(|buf| self.feed(&buf[..n]))
				}
				Wake::Read(Err(e)) => return Err(e),
				Wake::Queue(Some(first)) => Box::pin(self.take_queued(Some(first))).await?,
				Wake::Queue(None) if self.taken_over() => return Ok(End::TakenOver),
				Wake::Queue(None) => {
					let err = StreamError::with_text(StreamCondition::PolicyViolation, "too many stanzas queued for a slow client");
					vec![Action::Close(Some(err))]
				}
				Wake::Timer => self.timer(),
			};
			// Boxed only when there is work, so the idle future stays small.
			if !actions.is_empty() && !Box::pin(self.perform(actions)).await? {
				return Ok(self.closed_as);
			}
			if let (Some(st), Some(h)) = (&self.sm, self.stream.handled()) {
				st.borrow_mut().inbound = h;
			}
			if let Some(st) = &self.sm {
				let l = &self.server.config.limits;
				let too_many = { st.borrow().pending() > l.sm_max_unacked || st.borrow().bytes() > l.sm_max_unacked_bytes };
				if too_many {
					let err = StreamError::with_text(StreamCondition::PolicyViolation, "too many unacknowledged stanzas");
					Box::pin(self.perform(vec![Action::Close(Some(err))])).await?;
					return Ok(End::Closed);
				}
				// Ask for an ack once per round trip (XEP-0198 §4).
				if self.sent_since_request && !self.ack_requested {
					self.out.extend_from_slice(b"<r xmlns='urn:xmpp:sm:3'/>");
					self.ack_requested = true;
					self.sent_since_request = false;
				}
			}
			if !self.out.is_empty() {
				Box::pin(self.flush()).await?;
			}
		}
	}

	fn timer(&mut self) -> Vec<Action> {
		let limits = &self.server.config.limits;
		let now = Instant::now();
		let negotiation_over = self.bound.is_none() && now >= self.opened + limits.negotiation_timeout;
		if negotiation_over || now >= self.last_read + limits.idle_timeout {
			let mut actions = Vec::new();
			let env = Env::new(&self.server, self.peer.ip(), &self.outbox);
			self.stream.fail(StreamError::new(StreamCondition::ConnectionTimeout), &env, &mut actions);
			return actions;
		}
		if self.bound.is_some() && now >= self.last_write + limits.keepalive_interval {
			// RFC 6120 §4.6.1: whitespace keeps NATs open and finds dead peers.
			self.out.push(b' ');
		}
		Vec::new()
	}

	/// Parses a chunk and steps the stream core over it; returns what to do.
	fn feed(&mut self, mut bytes: &[u8]) -> Vec<Action> {
		let mut actions = Vec::new();
		let mut env = Env::new(&self.server, self.peer.ip(), &self.outbox);
		loop {
			let ev = match self.reader.next(&mut bytes) {
				Ok(Some(ev)) => ev,
				Ok(None) => break,
				Err(e) => {
					self.stream.fail(e, &env, &mut actions);
					break;
				}
			};
			let start = actions.len();
			self.stream.event(ev, &mut env, &mut actions);
			match actions[start..]
				.iter()
				.find(|a| matches!(a, Action::Restart | Action::StartTls | Action::Close(_) | Action::Sasl2Success(_)))
			{
				// SASL2 does not restart the stream: the same reader reads on, with a signed-in client's limits.
				Some(Action::Sasl2Success(_)) => self.reader.set_limits(full_limits(&self.server)),
				Some(Action::Restart) => {
					self.stream.restarted(self.server.new_id());
					self.reader = StreamReader::new(if self.stream.is_authenticated() {
						full_limits(&self.server)
					} else {
						pre_auth_limits(&self.server)
					});
				}
				// Bytes after <starttls/> or the end are not ours to read.
				Some(_) => break,
				None => {}
			}
		}
		if let Some((id, jid)) = env.bound.take() {
			self.bound = Some(Bound { id, jid });
		}
		if self.reader.is_between_stanzas() {
			self.reader.release_temporaries();
		}
		actions
	}

	/// Takes what is queued for the client into the write buffer, up to
	/// WRITE_BATCH: the rest waits in the queue, where it is bounded and
	/// counted, rather than in a write buffer that is neither. A `Close` in
	/// the queue comes back as the action to perform.
	async fn take_queued(&mut self, first: Option<Outgoing>) -> io::Result<Vec<Action>> {
		let mut next = first.or_else(|| self.outbox.try_recv());
		while let Some(item) = next {
			match item {
				Outgoing::Stanza(p) => self.deliver(p),
				Outgoing::Close(err) => return Ok(vec![Action::Close(Some(err))]),
				Outgoing::FlushOffline => Box::pin(self.flush_offline()).await?,
			}
			next = if self.out.len() < WRITE_BATCH { self.outbox.try_recv() } else { None };
		}
		Ok(Vec::new())
	}

	/// Performs actions in order; false once the connection should close.
	async fn perform(&mut self, actions: Vec<Action>) -> io::Result<bool> {
		let mut actions = actions.into_iter().peekable();
		while let Some(action) = actions.next() {
			match action {
				Action::Write(s) => self.out.extend_from_slice(s.as_bytes()),
				Action::StartTls => {
					self.flush().await?;
					let cb = self.start_tls().await?;
					self.stream.tls_established(cb, self.server.new_id());
					self.stream.set_end_point(Some(self.server.tls_end_point.borrow().clone()));
					self.reader = StreamReader::new(pre_auth_limits(&self.server));
				}
				Action::Restart => {
					// XMPP over WebSocket: messages as big as stanzas after login.
					if self.stream.is_authenticated()
						&& let Transport::Ws(ws) = &mut self.io
					{
						ws.lift_limits(full_limits(&self.server)).await;
					}
				}
				Action::Bound(jid) => {
					log::info!("{}: bound {jid}", self.peer);
					if let (Some(device), Some(b)) = (self.device.take(), &self.bound)
						&& let Some(s) = self.server.sessions.borrow_mut().get_mut(b.user(), b.id)
					{
						s.device = Some(device.into());
					}
				}
				Action::Sasl2Success(done) => {
					if let Transport::Ws(ws) = &mut self.io {
						ws.lift_limits(full_limits(&self.server)).await;
					}
					Box::pin(self.sasl2_success(done)).await;
				}
				Action::Send(el) => self.send_stanza(el),
				Action::SmEnable { resume } => self.enable_sm(resume),
				Action::SmRequest(h) => {
					if let Some(st) = &self.sm {
						st.borrow_mut().inbound = h;
					}
					self.out.extend_from_slice(format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>").as_bytes());
				}
				Action::SmAck(h) => {
					self.ack_requested = false;
					let acked = self.sm.as_ref().map(|st| st.borrow_mut().ack(h));
					if let Some(Err(e)) = acked {
						let text = format!("handled-count-too-high: h {} but only {} sent", e.h, e.sent);
						let err = StreamError::with_text(StreamCondition::UndefinedCondition, text);
						return Box::pin(self.perform(vec![Action::Close(Some(err))])).await;
					}
				}
				Action::SmResume { user, previd, h } => self.resume(&user, &previd, h),
				Action::PreAuth(el) => {
					let reply = Box::pin(super::register::handle(&self.server, self.peer.ip(), &mut self.preauth, el)).await;
					reply.write_to(&mut self.out, ns::CLIENT);
				}
				Action::Csi(active) => {
					self.inactive = !active;
					if active {
						self.release_held();
					}
				}
				Action::Stanza(stanza) => {
					let Some(b) = &self.bound else { continue };
					let (server, id, jid) = (self.server.clone(), b.id, b.jid.clone());
					// Our own replies are queued to us; send what we have first
					// so the order on the wire matches the order of events. And a
					// client that sends requests without reading the answers
					// waits for them to be written before the next is taken: the
					// answers would otherwise pile up in its queue.
					self.flush().await?;
					while self.outbox.bytes() > WRITE_BATCH {
						let close = Box::pin(self.take_queued(None)).await?;
						if !close.is_empty() {
							return Box::pin(self.perform(close)).await;
						}
						self.flush().await?;
					}
					// XEP-0077 for the account itself (password, removal) waits
					// on key derivation and deletion: answered here, in order.
					if super::register::is_account_request(&stanza, &jid) {
						let reply = Box::pin(super::register::account(&server, &jid, &stanza)).await;
						self.send_stanza(reply);
						continue;
					}
					// XEP-0133 admin commands wait on storage and key derivation too.
					if crate::features::adhoc::is_admin_command(&stanza, &jid) {
						let reply = Box::pin(crate::features::adhoc::execute(&server, &jid, &stanza)).await;
						self.send_stanza(reply);
						continue;
					}
					// The person's own devices (revoking one writes and ends sessions).
					if crate::features::devices::is_command(&stanza, &jid) {
						let reply = Box::pin(crate::features::devices::execute(&server, &jid, &stanza)).await;
						self.send_stanza(reply);
						continue;
					}
					// Consecutive messages share one commit (see router::handle_batch).
					let mut batch = vec![stanza];
					if batch[0].kind() == Kind::Message {
						while let Some(Action::Stanza(next)) =
							actions.next_if(|a| matches!(a, Action::Stanza(s) if s.kind() == Kind::Message))
						{
							batch.push(next);
						}
					}
					// Boxed: routing futures are big and brief.
					Box::pin(crate::router::handle_batch(&server, id, &jid, &batch)).await;
				}
				Action::Close(err) => {
					self.closed_as = match &err {
						Some(e) if e.condition == StreamCondition::ConnectionTimeout => End::Lost,
						_ => End::Closed,
					};
					if let Some(err) = err {
						log::info!("{}: stream error {err}", self.peer);
						self.out.extend_from_slice(err.to_xml().as_bytes());
					}
					self.out.extend_from_slice(b"</stream:stream>");
					self.flush().await?;
					self.io.close_soon().await;
					return Ok(false);
				}
			}
		}
		Ok(true)
	}

	async fn flush(&mut self) -> io::Result<()> {
		if self.out.is_empty() {
			return Ok(());
		}
		let out = std::mem::take(&mut self.out);
		let io = &mut self.io;
		let write = async {
			if let Transport::Ws(ws) = io {
				return ws.write(&out).await;
			}
			if let Transport::Bosh(pipe) = io {
				return pipe.write(&out).await;
			}
			io.write_all(&out).await?;
			io.flush().await
		};
		write
			.or(async {
				Timer::after(WRITE_TIMEOUT).await;
				Err(io::Error::new(io::ErrorKind::TimedOut, "client does not read"))
			})
			.await?;
		self.last_write = Instant::now();
		// `out` was taken: an idle connection keeps no write buffer.
		Ok(())
	}

	async fn start_tls(&mut self) -> io::Result<Option<Vec<u8>>> {
		let Transport::Plain(tcp) = std::mem::replace(&mut self.io, Transport::Gone) else {
			return Err(io::Error::other("TLS is already on"));
		};
		let tcp = *tcp;
		let config = self.server.tls.borrow().clone();
		// Boxed: the handshake state is large and only needed for a moment,
		// so it must not sit in every connection's future.
		let handshake = Box::pin(TlsAcceptor::from(config).accept(tcp));
		let tls = handshake
			.or(async {
				Timer::at(self.opened + self.server.config.limits.negotiation_timeout).await;
				Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))
			})
			.await?;
		let cb = tls::channel_binding(tls.get_ref().1);
		self.stat.tls(crate::stats::Tls::of(tls.get_ref().1.protocol_version()));
		self.io = Transport::ServerTls(Box::new(tls));
		Ok(cb)
	}
}

/// Reads into the shared buffer; the caller consumes it before any await.
async fn read_shared(io: &mut Transport) -> io::Result<usize> {
	if let Transport::Ws(ws) = io {
		// The message waits in `ws` (not in the shared buffer) across the await.
		if !ws.fill().await? {
			return Ok(0);
		}
		return Ok(READ_BUF.with_borrow_mut(|buf| ws.take(buf)));
	}
	if let Transport::Bosh(pipe) = io {
		if !pipe.fill().await? {
			return Ok(0);
		}
		return Ok(READ_BUF.with_borrow_mut(|buf| pipe.take(buf)));
	}
	std::future::poll_fn(|cx| READ_BUF.with_borrow_mut(|buf| Pin::new(&mut *io).poll_read(cx, buf))).await
}

pub(crate) fn pre_auth_limits(server: &Server) -> XmlLimits {
	let l = &server.config.limits;
	XmlLimits {
		max_stanza_bytes: l.max_stanza_bytes.min(PRE_AUTH_STANZA_BYTES),
		max_depth: l.max_depth.min(8),
		max_attrs: l.max_attrs.min(16),
		max_elements: l.max_stanza_elements.min(PRE_AUTH_ELEMENTS),
	}
}

pub(super) fn full_limits(server: &Server) -> XmlLimits {
	let l = &server.config.limits;
	XmlLimits { max_stanza_bytes: l.max_stanza_bytes, max_depth: l.max_depth, max_attrs: l.max_attrs, max_elements: l.max_stanza_elements }
}
