//! One client connection: moves bytes between the socket and the sans-IO
//! stream core, and stanzas between the core, the router and the session's
//! outbound queue. Owns the connection's timers.
//!
//! Reads land in one buffer shared by all connections (the executor is
//! single-threaded and a chunk is parsed before the next await), so an idle
//! connection holds no read buffer of its own.

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;
use async_net::TcpStream;
use futures_lite::{AsyncRead, AsyncWrite, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::TlsAcceptor;
use futures_rustls::server::TlsStream;

use crate::features::presence;
use crate::net::tls;
use crate::proto::sasl::{Authenticated, SaslEnv};
use crate::proto::stream::{self, Action, BindError, C2sStream, StreamEnv};
use crate::server::Server;
use crate::sessions::{Outbox, Outgoing};
use crate::store::Account;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::FullJid;
use crate::xmpp::ns;
use crate::xmpp::reader::{StreamReader, XmlLimits};
use crate::xmpp::stanza::Kind;

/// Size of the shared read buffer: one TLS record's worth of plaintext.
const READ_CHUNK: usize = 16 * 1024;
/// Largest stanza accepted before authentication; SASL needs little.
const PRE_AUTH_STANZA_BYTES: usize = 16 * 1024;
/// A client that does not take our data for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

thread_local! {
	static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// Serves one accepted connection until it ends.
pub async fn serve(server: Rc<Server>, tcp: TcpStream, peer: SocketAddr, direct_tls: bool) {
	let limits = &server.config.limits;
	let admitted = server.guard.borrow_mut().connect(peer.ip(), limits.max_connections, limits.max_connections_per_ip);
	if let Err(refusal) = admitted {
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
		return;
	}
	let mut conn = Conn::new(server.clone(), tcp, peer);
	let outcome = conn.run(direct_tls).await;
	if let Err(e) = &outcome {
		log::debug!("{peer}: {e}");
	}
	conn.end();
	server.guard.borrow_mut().disconnect(peer.ip());
}

enum Transport {
	Plain(TcpStream),
	Tls(Box<TlsStream<TcpStream>>),
	/// Between taking the TCP stream for the TLS handshake and getting it back.
	Gone,
}

impl AsyncRead for Transport {
	fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
			Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
			Transport::Gone => Poll::Ready(Ok(0)),
		}
	}
}

impl AsyncWrite for Transport {
	fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
			Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
			Transport::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
		}
	}

	fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s).poll_flush(cx),
			Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
			Transport::Gone => Poll::Ready(Ok(())),
		}
	}

	fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		match self.get_mut() {
			Transport::Plain(s) => Pin::new(s).poll_close(cx),
			Transport::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
			Transport::Gone => Poll::Ready(Ok(())),
		}
	}
}

/// The bound session of this connection.
struct Bound {
	user: String,
	id: u64,
	jid: FullJid,
}

struct Conn {
	server: Rc<Server>,
	peer: SocketAddr,
	io: Transport,
	stream: C2sStream,
	reader: StreamReader,
	outbox: Rc<Outbox>,
	bound: Option<Bound>,
	/// Bytes to write at the next flush.
	out: Vec<u8>,
	opened: Instant,
	last_read: Instant,
	last_write: Instant,
}

/// How the main loop woke up.
enum Wake {
	Read(io::Result<usize>),
	/// `None`: the outbox was closed because the client does not keep up.
	Queue(Option<Outgoing>),
	Timer,
}

impl Conn {
	fn new(server: Rc<Server>, tcp: TcpStream, peer: SocketAddr) -> Conn {
		let id = server.new_id();
		let now = Instant::now();
		Conn {
			reader: StreamReader::new(pre_auth_limits(&server)),
			server,
			peer,
			io: Transport::Plain(tcp),
			stream: C2sStream::new_plain(id),
			outbox: Outbox::new(),
			bound: None,
			out: Vec::new(),
			opened: now,
			last_read: now,
			last_write: now,
		}
	}

	async fn run(&mut self, direct_tls: bool) -> io::Result<()> {
		if direct_tls {
			let cb = self.start_tls().await?;
			self.stream = C2sStream::new_tls(self.server.new_id(), cb);
		}
		loop {
			let limits = &self.server.config.limits;
			let mut wake_at = self.last_read + limits.idle_timeout;
			if self.bound.is_none() {
				wake_at = wake_at.min(self.opened + limits.negotiation_timeout);
			} else {
				wake_at = wake_at.min(self.last_write + limits.keepalive_interval);
			}
			let io = &mut self.io;
			let rx = &self.outbox;
			let wake = async { Wake::Read(read_shared(io).await) }
				.or(async { Wake::Queue(rx.recv().await) })
				.or(async {
					Timer::at(wake_at).await;
					Wake::Timer
				})
				.await;
			let actions = match wake {
				Wake::Read(Ok(0)) => return Ok(()),
				Wake::Read(Ok(n)) => {
					self.last_read = Instant::now();
					READ_BUF.with_borrow(|buf| self.feed(&buf[..n]))
				}
				Wake::Read(Err(e)) => return Err(e),
				Wake::Queue(Some(first)) => {
					let mut next = Some(first);
					let mut actions = Vec::new();
					// Drain what is queued into one write.
					while let Some(item) = next {
						match item {
							Outgoing::Stanza(el) => el.write_to(&mut self.out, ns::CLIENT),
							Outgoing::Close(err) => {
								actions.push(Action::Close(Some(err)));
								break;
							}
							Outgoing::FlushOffline => {
								Box::pin(self.flush_offline()).await?;
							}
						}
						next = self.outbox.try_recv();
					}
					actions
				}
				Wake::Queue(None) => {
					let err = StreamError::with_text(StreamCondition::PolicyViolation, "too many stanzas queued for a slow client");
					vec![Action::Close(Some(err))]
				}
				Wake::Timer => self.timer(),
			};
			// Boxed only when there is work, so the idle future stays small.
			if !actions.is_empty() && !Box::pin(self.perform(actions)).await? {
				return Ok(());
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
			match actions[start..].iter().find(|a| matches!(a, Action::Restart | Action::StartTls | Action::Close(_))) {
				Some(Action::Restart) => {
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
		if let Some((user, id, jid)) = env.bound.take() {
			self.bound = Some(Bound { user, id, jid });
		}
		if self.reader.is_between_stanzas() {
			self.reader.release_temporaries();
		}
		actions
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
					self.reader = StreamReader::new(pre_auth_limits(&self.server));
				}
				Action::Restart => {}
				Action::Bound(jid) => log::info!("{}: bound {jid}", self.peer),
				Action::Stanza(stanza) => {
					let Some(b) = &self.bound else { continue };
					let (server, id, jid) = (self.server.clone(), b.id, b.jid.clone());
					// Our own replies are queued to us; send what we have first
					// so the order on the wire matches the order of events.
					self.flush().await?;
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
					if let Some(err) = err {
						log::info!("{}: stream error {err}", self.peer);
						self.out.extend_from_slice(err.to_xml().as_bytes());
					}
					self.out.extend_from_slice(b"</stream:stream>");
					self.flush().await?;
					let io = &mut self.io;
					let _ = io
						.close()
						.or(async {
							Timer::after(Duration::from_secs(2)).await;
							Ok(())
						})
						.await;
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

	/// XEP-0160 delivery: batch by batch from storage straight to the
	/// socket; a batch is deleted only after it was written, so a connection
	/// that dies half-way loses nothing (the client may see a batch twice).
	async fn flush_offline(&mut self) -> io::Result<()> {
		let Some(user) = self.bound.as_ref().map(|b| b.user.clone()) else { return Ok(()) };
		let mut delivered = None;
		loop {
			let batch = match crate::features::offline::next_batch(&self.server.store, &user, delivered).await {
				Ok(b) => b,
				Err(e) => {
					log::error!("{}: offline messages: {e}", self.peer);
					return Ok(());
				}
			};
			let Some(&(last, _)) = batch.last() else { return Ok(()) };
			for (_, xml) in &batch {
				self.out.extend_from_slice(xml);
			}
			self.flush().await?;
			delivered = Some(last);
		}
	}

	async fn start_tls(&mut self) -> io::Result<Option<Vec<u8>>> {
		let Transport::Plain(tcp) = std::mem::replace(&mut self.io, Transport::Gone) else {
			return Err(io::Error::other("TLS is already on"));
		};
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
		self.io = Transport::Tls(Box::new(tls));
		Ok(cb)
	}

	/// Unregisters the session and tells everyone who saw it.
	fn end(&mut self) {
		let Some(b) = self.bound.take() else { return };
		let removed = self.server.sessions.borrow_mut().remove(&b.user, b.id);
		if let Some(session) = removed {
			presence::session_ended(&self.server, session);
		}
		log::info!("{}: {} gone", self.peer, b.jid);
	}
}

/// Reads into the shared buffer; the caller consumes it before any await.
async fn read_shared(io: &mut Transport) -> io::Result<usize> {
	std::future::poll_fn(|cx| READ_BUF.with_borrow_mut(|buf| Pin::new(&mut *io).poll_read(cx, buf))).await
}

fn pre_auth_limits(server: &Server) -> XmlLimits {
	let l = &server.config.limits;
	XmlLimits {
		max_stanza_bytes: l.max_stanza_bytes.min(PRE_AUTH_STANZA_BYTES),
		max_depth: l.max_depth.min(8),
		max_attrs: l.max_attrs.min(16),
	}
}

fn full_limits(server: &Server) -> XmlLimits {
	let l = &server.config.limits;
	XmlLimits { max_stanza_bytes: l.max_stanza_bytes, max_depth: l.max_depth, max_attrs: l.max_attrs }
}

/// The stream core's view of the server, for one connection.
struct Env<'a> {
	server: &'a Server,
	ip: IpAddr,
	queue: &'a Rc<Outbox>,
	bound: Option<(String, u64, FullJid)>,
}

impl<'a> Env<'a> {
	fn new(server: &'a Server, ip: IpAddr, queue: &'a Rc<Outbox>) -> Env<'a> {
		Env { server, ip, queue, bound: None }
	}
}

impl SaslEnv for Env<'_> {
	fn account(&mut self, user: &str) -> Option<Account> {
		match self.server.store.snapshot().and_then(|s| s.account(user)) {
			Ok(a) => a,
			Err(e) => {
				log::error!("account lookup: {e}");
				None
			}
		}
	}

	fn attempt_allowed(&mut self, user: &str) -> bool {
		let l = &self.server.config.limits;
		let ok = self.server.guard.borrow_mut().login_allowed(
			self.ip,
			user,
			Instant::now(),
			l.auth_failure_window,
			l.auth_failures_per_ip,
			l.auth_failures_per_account,
		);
		if !ok {
			log::warn!("{}: login for {user} throttled", self.ip);
		}
		ok
	}

	fn random(&mut self, buf: &mut [u8]) {
		self.server.random(buf);
	}

	fn fake_secret(&self) -> &[u8] {
		self.server.fake_secret()
	}

	fn scram_iterations(&self) -> u32 {
		self.server.config.scram_iterations
	}
}

impl StreamEnv for Env<'_> {
	fn domain(&self) -> &str {
		&self.server.config.domain
	}

	fn bind(&mut self, auth: &Authenticated, resource: Option<&str>) -> Result<FullJid, BindError> {
		let server = self.server;
		let (id, jid, replaced) = server.sessions.borrow_mut().bind(
			auth.user(),
			&server.config.domain,
			resource,
			self.queue.clone(),
			(server.config.limits.max_resources_per_account, server.config.limits.session_queue_len),
			&mut |b| server.random(b),
		)?;
		if let Some(old) = replaced {
			log::info!("{jid}: replaces an older session");
			old.close(StreamError::with_text(StreamCondition::Conflict, "replaced by a new session"));
			presence::session_ended(server, old);
		}
		self.bound = Some((auth.user().to_owned(), id, jid.clone()));
		Ok(jid)
	}

	fn auth_failed(&mut self, user: Option<&str>) {
		log::info!("{}: authentication failed{}", self.ip, user.map(|u| format!(" for {u}")).unwrap_or_default());
		let window = self.server.config.limits.auth_failure_window;
		self.server.guard.borrow_mut().login_failed(self.ip, user, Instant::now(), window);
	}

	fn auth_retries(&self) -> u32 {
		self.server.config.limits.auth_retries_per_connection
	}
}
