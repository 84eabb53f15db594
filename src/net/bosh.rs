//! BOSH (XEP-0124/XEP-0206) at `/http-bind` on the HTTPS port: the shell
//! around `proto::bosh`. A session is a client connection like any other
//! (`c2s::serve_bosh` runs the same session code as TCP and WebSocket, and
//! it counts against `max_connections` and `max_connections_per_ip`): its
//! transport is a [`Pipe`], which reads the stanzas of the requests' bodies
//! in `rid` order and puts what the core writes, element by element, where
//! the held requests take it.
//!
//! Each request is one HTTPS connection (`Connection: close`); the one that
//! made a session also runs it, and watches its inactivity.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::server::TlsStream;

use crate::net::per_ip::Held;
use crate::proto::bosh::{self, Body, Bounds, Condition, Input, Outbound, Request, Session};
use crate::server::Server;
use crate::xmpp::reader::{StreamReader, XmlLimits};

type Tls = TlsStream<TcpStream>;

/// One session as the requests and the core's pipe share it.
struct Shared {
	state: RefCell<Session>,
	/// Wakes a held request (by rid) to look again; the number tells a
	/// request from a later copy of it that took its place.
	wakers: RefCell<HashMap<u64, (u64, async_channel::Sender<()>)>>,
	copies: std::cell::Cell<u64>,
	/// The responses kept for repeats, charged to the memory budget.
	kept: RefCell<crate::mem::Charge>,
	/// Bodies' stanzas, in rid order, for the core.
	inbound: async_channel::Sender<Vec<u8>>,
	/// Wakes the core's write waiting for room.
	room: (async_channel::Sender<()>, async_channel::Receiver<()>),
	/// The stream id, once the core has sent its header (the response's authid).
	authid: RefCell<Option<String>>,
	max_out: usize,
}

impl Shared {
	fn wake(&self, ticket: Option<u64>) {
		if let Some(t) = ticket
			&& let Some((_, w)) = self.wakers.borrow().get(&t)
		{
			let _ = w.try_send(());
		}
	}

	fn wake_all(&self) {
		for (_, w) in self.wakers.borrow().values() {
			let _ = w.try_send(());
		}
	}

	/// Ends the session: every held request answers, the core reads the end.
	fn end(&self, condition: Option<Condition>) {
		let mut st = self.state.borrow_mut();
		if st.ended.is_none() {
			st.ended = Some(condition);
		}
		let sid = st.sid.clone();
		drop(st);
		SESSIONS.with_borrow_mut(|m| m.remove(&sid));
		self.inbound.close();
		self.wake_all();
		let _ = self.room.0.try_send(());
	}

	fn feed(&self, input: Vec<Input>, domain: &str) -> Result<(), Condition> {
		for i in input {
			let bytes = match i {
				Input::Bytes(s) => s.into_bytes(),
				Input::Restart => bosh::stream_header(domain).into_bytes(),
				Input::End => b"</stream:stream>".to_vec(),
			};
			// The core reads as fast as it can; a full queue is a client
			// sending faster than the window allows.
			self.inbound.try_send(bytes).map_err(|_| Condition::PolicyViolation)?;
		}
		Ok(())
	}
}

thread_local! {
	/// The sessions by sid (the executor is single-threaded).
	static SESSIONS: RefCell<HashMap<String, Rc<Shared>>> = RefCell::new(HashMap::new());
}

/// The core's transport: reads what the requests brought, writes where
/// the held requests take it.
pub struct Pipe {
	shared: Rc<Shared>,
	inbound: async_channel::Receiver<Vec<u8>>,
	pending: Vec<u8>,
	out: StreamReader,
}

impl Pipe {
	/// Waits for the next bodies' bytes; false once the session has ended.
	pub async fn fill(&mut self) -> io::Result<bool> {
		while self.pending.is_empty() {
			match self.inbound.recv().await {
				Ok(b) => self.pending = b,
				Err(_) => return Ok(false),
			}
		}
		Ok(true)
	}

	pub fn take(&mut self, buf: &mut [u8]) -> usize {
		super::transport::take_pending(&mut self.pending, buf)
	}

	/// Cuts the core's bytes into elements for the held requests; waits
	/// while more than `bosh_max_body_bytes` wait for the client.
	pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
		if bytes.starts_with(b"<?xml") {
			self.out = StreamReader::new(XmlLimits::unlimited());
			*self.shared.authid.borrow_mut() = super::transport::header_id(bytes);
		}
		let mut rest = bytes;
		loop {
			let ev = match self.out.next(&mut rest) {
				Ok(Some(ev)) => ev,
				Ok(None) => break,
				Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
			};
			let mut st = self.shared.state.borrow_mut();
			match bosh::outbound(ev) {
				Outbound::Nothing => {}
				Outbound::Element(e) => st.push_out(e),
				Outbound::Error(e) => {
					st.push_out(e);
					st.ended.get_or_insert(Some(Condition::RemoteStreamError));
				}
				Outbound::End => {
					st.ended.get_or_insert(None);
				}
			}
		}
		let (first, ended) = {
			let st = self.shared.state.borrow();
			(st.first_held(), st.ended.is_some())
		};
		if ended {
			let condition = self.shared.state.borrow().ended.flatten();
			self.shared.end(condition);
			return Ok(());
		}
		self.shared.wake(first);
		while self.shared.state.borrow().out_bytes() > self.shared.max_out && self.shared.state.borrow().ended.is_none() {
			let _ = self.shared.room.1.recv().await;
		}
		Ok(())
	}

	pub fn close(&mut self) {
		let condition = self.shared.state.borrow().ended.flatten();
		self.shared.end(condition);
	}
}

fn limits(server: &Server) -> XmlLimits {
	let l = &server.config.limits;
	XmlLimits {
		max_stanza_bytes: l.bosh_max_body_bytes,
		max_depth: l.max_depth.saturating_add(1),
		max_attrs: l.max_attrs,
		max_elements: l.max_stanza_elements.saturating_mul(4),
	}
}

fn http(status: u16, body: &str) -> String {
	let reason = match status {
		200 => "OK",
		400 => "Bad Request",
		405 => "Method Not Allowed",
		408 => "Request Timeout",
		411 => "Length Required",
		413 => "Content Too Large",
		_ => "",
	};
	let ty = if status == 200 { "text/xml; charset=utf-8" } else { "text/plain; charset=utf-8" };
	format!(
		"HTTP/1.1 {status} {reason}\r\nContent-Type: {ty}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
		 X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n{body}",
		body.len()
	)
}

async fn send(server: &Server, tls: &mut Tls, text: String) -> io::Result<()> {
	let t = server.config.limits.http_timeout;
	let write = async {
		tls.write_all(text.as_bytes()).await?;
		tls.flush().await
	};
	write
		.or(async {
			async_io::Timer::after(t).await;
			Err(io::ErrorKind::TimedOut.into())
		})
		.await?;
	let _ = tls.close().await;
	Ok(())
}

/// A request to `/http-bind` whose head is read (`buf` holds it and what
/// came after it, `head_len` its length, `length` the body's); `held` is
/// its place among the HTTPS port's connections, left once it made a session.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
	server: Rc<Server>,
	mut tls: Tls,
	method: &str,
	buf: Vec<u8>,
	head_len: usize,
	length: Option<u64>,
	peer: SocketAddr,
	held: Held,
	deadline: Instant,
) -> io::Result<()> {
	if method != "POST" {
		return send(&server, &mut tls, http(405, "BOSH takes POST\n")).await;
	}
	let max = server.config.limits.bosh_max_body_bytes;
	let Some(length) = length else { return send(&server, &mut tls, http(411, "a Content-Length is needed\n")).await };
	let Some(length) = usize::try_from(length).ok().filter(|n| *n <= max) else {
		return send(&server, &mut tls, http(413, "body too large\n")).await;
	};
	let mut body = buf[head_len..].to_vec();
	body.truncate(length);
	let mut chunk = [0u8; 4096];
	while body.len() < length {
		let read = tls.read(&mut chunk).or(async {
			async_io::Timer::at(deadline).await;
			Err(io::ErrorKind::TimedOut.into())
		});
		match read.await {
			Ok(0) => return Ok(()),
			Ok(n) => body.extend_from_slice(&chunk[..n.min(length - body.len())]),
			Err(e) if e.kind() == io::ErrorKind::TimedOut => return send(&server, &mut tls, http(408, "too slow\n")).await,
			Err(e) => return Err(e),
		}
	}
	let parsed = std::str::from_utf8(&body).map_err(|_| Condition::BadRequest).and_then(|t| bosh::parse(t, limits(&server)));
	let body = match parsed {
		Ok(b) => b,
		Err(c) => return send(&server, &mut tls, http(200, &bosh::terminate(c))).await,
	};
	match body.sid.clone() {
		None => create(server, tls, body, peer, held).await,
		Some(sid) => {
			drop(held);
			let shared = SESSIONS.with_borrow(|m| m.get(&sid).cloned());
			let Some(shared) = shared else {
				return send(&server, &mut tls, http(200, &bosh::terminate(Condition::ItemNotFound))).await;
			};
			let empty = body.payload.is_empty() && !body.restart && !body.terminate;
			let request = shared.state.borrow_mut().request(body);
			let taken = match request {
				Ok(Request::Taken(t)) => Ok(t),
				// The client's connection broke before it read this (§14.3).
				Ok(Request::Resend(text)) => return send(&server, &mut tls, http(200, &text)).await,
				Ok(Request::Supersede(rid)) => {
					let text = answer(&server, &shared, rid, false).await;
					return send(&server, &mut tls, http(200, &text)).await;
				}
				Err(c) => Err(c),
			};
			// An empty request is the client's keepalive: the core sees it
			// as whitespace (the idle timeout counts from it).
			let taken = taken.map(|mut t| {
				if empty {
					t.input.push(Input::Bytes(" ".into()));
				}
				t
			});
			let taken = match taken
				.and_then(|t| shared.feed(std::mem::take(&mut { t.input }), &server.config.domain).map(|()| (t.ticket, t.released)))
			{
				Ok(t) => t,
				Err(c) => {
					log::info!("{peer}: BOSH session ended ({})", c.as_str());
					shared.end(Some(c));
					return send(&server, &mut tls, http(200, &bosh::terminate(c))).await;
				}
			};
			let (ticket, released) = taken;
			shared.wake(released);
			let text = answer(&server, &shared, ticket, false).await;
			send(&server, &mut tls, http(200, &text)).await
		}
	}
}

/// Holds request `ticket` until there is data for it, it is released, the
/// session ends or `wait` passes; the response body.
async fn answer(server: &Server, shared: &Rc<Shared>, ticket: u64, creation: bool) -> String {
	let (tx, rx) = async_channel::bounded(1);
	let copy = shared.copies.get() + 1;
	shared.copies.set(copy);
	// A later copy of a request takes its place; the earlier one answers at once.
	if let Some((_, earlier)) = shared.wakers.borrow_mut().insert(ticket, (copy, tx)) {
		let _ = earlier.try_send(());
	}
	let until = Instant::now() + shared.state.borrow().wait;
	loop {
		if shared.wakers.borrow().get(&ticket).map(|(c, _)| *c) != Some(copy) {
			return bosh::recoverable();
		}
		let ready = {
			let st = shared.state.borrow();
			// The creation response carries the stream id (authid), even with hold 0.
			let header_in = !creation || shared.authid.borrow().is_some();
			let data = st.first_held() == Some(ticket) && st.out_bytes() > 0;
			st.ended.is_some() || Instant::now() >= until || (header_in && (!st.is_held(ticket) || data))
		};
		if ready {
			break;
		}
		let _ = rx
			.recv()
			.or(async {
				async_io::Timer::at(until).await;
				Ok(())
			})
			.await;
	}
	shared.wakers.borrow_mut().remove(&ticket);
	let mut st = shared.state.borrow_mut();
	let elements = st.take_out();
	st.answered(ticket, Instant::now());
	let authid = shared.authid.borrow().clone().unwrap_or_default();
	let created = creation.then(|| bosh::Created { domain: &server.config.domain, authid: &authid });
	let text = bosh::response(&st, created, &elements, st.ended);
	// Kept for a repeat of this rid while the budget takes it; if it does
	// not, a repeat ends the session (item-not-found) instead.
	st.remember(ticket, text.clone());
	if shared.kept.borrow_mut().resize(st.sent_bytes(), crate::mem::Class::Transit).is_err() {
		st.forget_sent();
		let _ = shared.kept.borrow_mut().resize(0, crate::mem::Class::Transit);
	}
	drop(st);
	let _ = shared.room.0.try_send(());
	text
}

fn new_sid(server: &Server) -> String {
	let mut b = [0u8; 16];
	server.random(&mut b);
	b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Session creation (XEP-0124 §7.1): admitted as a client connection, the
/// core started on a pipe, and this request answered with the features.
async fn create(server: Rc<Server>, mut tls: Tls, body: Body, peer: SocketAddr, held: Held) -> io::Result<()> {
	if body.to.as_deref() != Some(server.config.domain.as_str()) {
		return send(&server, &mut tls, http(200, &bosh::terminate(Condition::HostUnknown))).await;
	}
	let admitted = server.guard.borrow_mut().connect(crate::net::guard::Kind::Client, peer.ip(), &server.config.limits);
	if let Err(refusal) = admitted {
		log::info!("{peer}: BOSH session refused ({refusal:?})");
		return send(&server, &mut tls, http(200, &bosh::terminate(Condition::PolicyViolation))).await;
	}
	// A client session from here on, counted as one; not an HTTP connection.
	drop(held);
	let l = &server.config.limits;
	let bounds = Bounds { max_wait: l.bosh_max_wait, max_hold: l.bosh_max_hold, inactivity: l.bosh_inactivity };
	let (state, ticket) = Session::new(new_sid(&server), &body, bounds);
	let sid = state.sid.clone();
	let (tx, rx) = async_channel::bounded(8);
	let shared = Rc::new(Shared {
		state: RefCell::new(state),
		wakers: RefCell::new(HashMap::new()),
		copies: std::cell::Cell::new(0),
		kept: RefCell::new(crate::mem::Charge::default()),
		inbound: tx,
		room: async_channel::bounded(1),
		authid: RefCell::new(None),
		max_out: l.bosh_max_body_bytes,
	});
	SESSIONS.with_borrow_mut(|m| m.insert(sid.clone(), shared.clone()));
	let _ = shared.feed(vec![Input::Restart], &server.config.domain);
	if !body.payload.is_empty() {
		let _ = shared.feed(vec![Input::Bytes(body.payload.clone())], &server.config.domain);
	}
	log::info!("{peer}: BOSH session {sid}");
	let pipe = Pipe { shared: shared.clone(), inbound: rx, pending: Vec::new(), out: StreamReader::new(XmlLimits::unlimited()) };
	let core = async {
		crate::net::c2s::serve_bosh(server.clone(), pipe, peer).await;
		let condition = shared.state.borrow().ended.flatten();
		shared.end(condition);
	};
	let first = async {
		let text = answer(&server, &shared, ticket, true).await;
		let _ = send(&server, &mut tls, http(200, &text)).await;
		drop(tls);
		watch_inactivity(&shared).await;
	};
	// Both run to their end: the core's ends the session, and the watch
	// ends the core's (it reads the end of its input).
	futures_lite::future::zip(core, first).await;
	Ok(())
}

/// Ends the session once it has gone `inactivity` without a request held;
/// returns when the session has ended, however.
async fn watch_inactivity(shared: &Rc<Shared>) {
	loop {
		if shared.state.borrow().ended.is_some() {
			return;
		}
		let at = shared.state.borrow().inactive_at();
		let now = Instant::now();
		match at {
			Some(t) if now >= t => {
				log::info!("BOSH session {} inactive: ended", shared.state.borrow().sid);
				shared.end(None);
			}
			// Looked at every second at least, to see an end soon.
			Some(t) => {
				async_io::Timer::at(t.min(now + Duration::from_secs(1))).await;
			}
			None => {
				async_io::Timer::after(Duration::from_secs(1)).await;
			}
		}
	}
}
