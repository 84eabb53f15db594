//! Federation: server-to-server streams (RFC 6120) authenticated with
//! dialback (XEP-0220) over TLS. Each direction has its own connection:
//! we send to a domain over a link we opened (one task per domain, fed by
//! the router through `remote::Remotes`), and take stanzas from a domain
//! over connections it opened to our port, once we checked with its
//! authoritative server that the key it showed is its own.
//!
//! Certificates are not checked against a PKI: a LAN box has no publicly
//! trusted one, and neither do most of its peers. TLS keeps the streams
//! private; dialback ties them to the DNS names (Prosody's
//! `s2s_secure_auth = false`).

use std::collections::{HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_net::TcpStream;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::{TlsAcceptor, TlsConnector};

use super::guard::Kind;
use super::transport::Transport;
use crate::proto::dialback;
use crate::remote::ServerLink;
use crate::server::Server;
use crate::sessions::{Outbox, Outgoing};
use crate::xmpp::element::{Element, escape_attr};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::ns;
use crate::xmpp::reader::{StreamEvent, StreamHeader, StreamReader};

/// RFC 6120 §4.8.2: content namespace of server-to-server streams.
pub const NS_SERVER: &str = "jabber:server";
/// Longest wait for one TCP connection to another server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A peer that does not take our data for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a link could not be made; logged, and senders get `remote-server-not-found`.
type Failure = String;

/// One server-to-server stream on the wire: bytes in and out, and what the
/// reader made of them.
struct Wire {
	io: Transport,
	reader: StreamReader,
	events: VecDeque<Result<StreamEvent, StreamError>>,
	out: Vec<u8>,
	buf: Vec<u8>,
	tls: bool,
	/// Counted in the connection statistics while it lives.
	stat: crate::stats::Open,
}

impl Wire {
	fn new(tcp: TcpStream, server: &Server, kind: crate::stats::ConnKind) -> Wire {
		Wire {
			stat: crate::stats::Open::new(kind),
			io: Transport::Plain(Box::new(tcp)),
			// Small stanzas only until the peer has proved who it is.
			reader: StreamReader::new(super::c2s::pre_auth_limits(server)),
			events: VecDeque::new(),
			out: Vec::new(),
			buf: vec![0; 16 * 1024],
			tls: false,
		}
	}

	fn write(&mut self, s: &str) {
		self.out.extend_from_slice(s.as_bytes());
	}

	async fn flush(&mut self) -> io::Result<()> {
		if self.out.is_empty() {
			return Ok(());
		}
		let out = std::mem::take(&mut self.out);
		let io = &mut self.io;
		async {
			io.write_all(&out).await?;
			io.flush().await
		}
		.or(async {
			Timer::after(WRITE_TIMEOUT).await;
			Err(io::Error::new(io::ErrorKind::TimedOut, "peer does not read"))
		})
		.await
	}

	/// The next event; `Ok(None)` when the connection closed.
	async fn next(&mut self) -> io::Result<Option<Result<StreamEvent, StreamError>>> {
		loop {
			if let Some(ev) = self.events.pop_front() {
				return Ok(Some(ev));
			}
			let n = self.io.read(&mut self.buf).await?;
			if n == 0 {
				return Ok(None);
			}
			self.parse(n);
		}
	}

	fn parse(&mut self, n: usize) {
		let mut bytes = &self.buf[..n];
		loop {
			match self.reader.next(&mut bytes) {
				Ok(Some(ev)) => self.events.push_back(Ok(ev)),
				Ok(None) => break,
				Err(e) => {
					self.events.push_back(Err(e));
					break;
				}
			}
		}
		if self.reader.is_between_stanzas() {
			self.reader.release_temporaries();
		}
	}

	/// The next stanza-level element, failing on anything else.
	async fn element(&mut self) -> Result<Element, Failure> {
		match self.next().await.map_err(|e| e.to_string())? {
			Some(Ok(StreamEvent::Stanza(el))) => Ok(el),
			Some(Ok(StreamEvent::End)) | None => Err("the peer closed the stream".into()),
			Some(Ok(StreamEvent::Header(_))) => Err("a second stream header".into()),
			Some(Err(e)) => Err(format!("bad XML from the peer: {e}")),
		}
	}

	async fn header(&mut self) -> Result<StreamHeader, Failure> {
		match self.next().await.map_err(|e| e.to_string())? {
			Some(Ok(StreamEvent::Header(h))) => Ok(h),
			Some(Err(e)) => Err(format!("bad stream header: {e}")),
			_ => Err("no stream header".into()),
		}
	}

	/// Ends the stream (with an error, if any) and the connection.
	async fn close(&mut self, err: Option<StreamError>) {
		if let Some(e) = err {
			self.write(&e.to_xml());
		}
		self.write("</stream:stream>");
		let _ = self.flush().await;
		self.io.close_soon().await;
	}

	fn restart(&mut self, io: Transport, server: &Server) {
		let version = match &io {
			Transport::ServerTls(s) => s.get_ref().1.protocol_version(),
			Transport::ClientTls(s) => s.get_ref().1.protocol_version(),
			_ => None,
		};
		self.stat.tls(crate::stats::Tls::of(version));
		self.io = io;
		self.reader = StreamReader::new(super::c2s::pre_auth_limits(server));
		self.events.clear();
		self.tls = true;
	}
}

/// Our stream header on a server-to-server stream.
fn header_xml(from: &str, to: Option<&str>, id: Option<&str>) -> String {
	let to = to.map(|t| format!(" to='{}'", escape_attr(t))).unwrap_or_default();
	let id = id.map(|i| format!(" id='{}'", escape_attr(i))).unwrap_or_default();
	format!(
		"<?xml version='1.0'?><stream:stream xmlns='{NS_SERVER}' xmlns:stream='{}' xmlns:db='{}' from='{}'{to}{id} version='1.0'>",
		ns::STREAM,
		dialback::NS,
		escape_attr(from)
	)
}

fn is_ours(server: &Server, domain: &str) -> bool {
	crate::router::hosted(server, domain)
}

/// A peer's `from` or `to` as a domain we compare and look up: prepared as
/// in JIDs (RFC 7622 §3.2: lowercase, NFC, no trailing dot); None if it is
/// not a bare domain.
fn domain_of(raw: &str) -> Option<String> {
	let jid = crate::xmpp::jid::Jid::parse(raw).ok()?;
	(jid.node().is_none() && jid.resource().is_none()).then(|| jid.domain().to_owned())
}

// --- incoming connections --------------------------------------------------

/// Serves one connection another server opened to us, until it ends.
pub async fn serve(server: Rc<Server>, tcp: TcpStream, peer: SocketAddr) {
	let admitted = server.guard.borrow_mut().connect(Kind::Server, peer.ip(), &server.config.limits);
	if let Err(refusal) = admitted {
		log::info!("{peer}: s2s connection refused ({refusal:?})");
		return refuse(&server, tcp).await;
	}
	let mut wire = Wire::new(tcp, &server, crate::stats::ConnKind::S2sIn);
	let mut link = Inbound { server: server.clone(), authed: HashSet::new(), local: String::new(), stream_id: String::new(), up: None };
	let result = link.run(&mut wire).await;
	match result {
		Ok(()) => {}
		Err(e) => log::info!("{peer}: s2s in: {e}"),
	}
	if !link.authed.is_empty() {
		log::info!("{peer}: stream from {:?} ended", link.authed);
	}
	server.guard.borrow_mut().disconnect(Kind::Server, peer.ip());
}

/// A stream error for a peer over the limits, written without waiting long.
async fn refuse(server: &Server, mut tcp: TcpStream) {
	let err = StreamError::with_text(StreamCondition::PolicyViolation, "too many connections");
	let msg = format!("{}{}</stream:stream>", header_xml(&server.config.domain, None, None), err.to_xml());
	let _ = tcp
		.write_all(msg.as_bytes())
		.or(async {
			Timer::after(Duration::from_secs(5)).await;
			Ok(())
		})
		.await;
}

/// What one turn of an incoming stream came to.
enum Turn {
	Go,
	Over(Result<(), Failure>),
	TimedOut,
}

struct Inbound {
	server: Rc<Server>,
	/// Domains that proved themselves on this stream (dialback).
	authed: HashSet<String>,
	/// Counted as an s2s link once a domain is authenticated.
	up: Option<crate::stats::Link>,
	/// Our domain the peer addressed.
	local: String,
	stream_id: String,
}

impl Inbound {
	async fn run(&mut self, wire: &mut Wire) -> Result<(), Failure> {
		let deadline = Instant::now() + self.server.config.limits.negotiation_timeout;
		loop {
			let turn = if self.authed.is_empty() {
				// Until the peer has proved itself, everything it can make us
				// wait for ends at the negotiation deadline: reading, the TLS
				// handshake (half a ClientHello held such a connection for
				// good, issue 11), the check of its key, our writes.
				async {
					let ev = wire.next().await;
					self.turn(wire, ev).await
				}
				.or(async {
					Timer::at(deadline).await;
					Turn::TimedOut
				})
				.await
			} else {
				let idle = Instant::now() + self.server.config.limits.idle_timeout;
				let ev = async { wire.next().await }
					.or(async {
						Timer::at(idle).await;
						Err(io::ErrorKind::TimedOut.into())
					})
					.await;
				self.turn(wire, ev).await
			};
			match turn {
				Turn::Go => {}
				Turn::Over(result) => return result,
				Turn::TimedOut => {
					// The peer may not read either: a short last word.
					async { wire.close(Some(StreamError::new(StreamCondition::ConnectionTimeout))).await }
						.or(async {
							Timer::after(Duration::from_secs(2)).await;
						})
						.await;
					return Err("timed out".to_owned());
				}
			}
		}
	}

	/// Acts on what the peer sent, and writes our answers.
	async fn turn(&mut self, wire: &mut Wire, ev: io::Result<Option<Result<StreamEvent, StreamError>>>) -> Turn {
		let ev = match ev {
			Ok(Some(ev)) => ev,
			Ok(None) => return Turn::Over(Ok(())),
			Err(e) if e.kind() == io::ErrorKind::TimedOut => return Turn::TimedOut,
			Err(e) => return Turn::Over(Err(e.to_string())),
		};
		let step = match ev {
			Ok(StreamEvent::Header(h)) => self.opened(wire, h),
			Ok(StreamEvent::End) => {
				wire.close(None).await;
				return Turn::Over(Ok(()));
			}
			Ok(StreamEvent::Stanza(el)) => self.element(wire, el).await,
			Err(e) => Err(e),
		};
		if let Err(e) = step {
			let text = e.to_string();
			wire.close(Some(e)).await;
			return Turn::Over(Err(text));
		}
		match wire.flush().await {
			Ok(()) => Turn::Go,
			Err(e) => Turn::Over(Err(e.to_string())),
		}
	}

	fn opened(&mut self, wire: &mut Wire, h: StreamHeader) -> Result<(), StreamError> {
		let to = h.to.as_deref().and_then(domain_of).unwrap_or_default();
		self.stream_id = self.server.new_id();
		let from_us = if to.is_empty() { self.server.config.domain.clone() } else { to.clone() };
		let peer = h.from.as_deref().map(|f| domain_of(f).unwrap_or_else(|| f.to_owned()));
		wire.write(&header_xml(&from_us, peer.as_deref(), Some(&self.stream_id)));
		if !is_ours(&self.server, &to) {
			return Err(StreamError::with_text(StreamCondition::HostUnknown, "this server does not serve that domain"));
		}
		self.local = to;
		let mut features = String::from("<stream:features>");
		if !wire.tls {
			features.push_str("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>");
		}
		features.push_str(&format!("<dialback xmlns='{}'><errors/></dialback></stream:features>", dialback::FEATURE_NS));
		wire.write(&features);
		Ok(())
	}

	async fn element(&mut self, wire: &mut Wire, el: Element) -> Result<(), StreamError> {
		if el.is("starttls", ns::TLS) && !wire.tls {
			wire.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
			wire.flush().await.map_err(|_| StreamError::new(StreamCondition::UndefinedCondition))?;
			let Transport::Plain(tcp) = std::mem::replace(&mut wire.io, Transport::Gone) else {
				return Err(StreamError::new(StreamCondition::UndefinedCondition));
			};
			let tcp = *tcp;
			// The client port's configuration insists on ALPN xmpp-client;
			// peers offer xmpp-server (XEP-0368) or nothing.
			let mut config = self.server.tls.borrow().as_ref().clone();
			config.alpn_protocols.clear();
			let tls = TlsAcceptor::from(Arc::new(config))
				.accept(tcp)
				.await
				.map_err(|e| StreamError::with_text(StreamCondition::UndefinedCondition, format!("TLS handshake failed: {e}")))?;
			wire.restart(Transport::ServerTls(Box::new(tls)), &self.server);
			return Ok(());
		}
		if el.ns() == dialback::NS {
			return self.dialback(wire, el).await;
		}
		if !wire.tls {
			return Err(StreamError::with_text(StreamCondition::PolicyViolation, "TLS first (STARTTLS)"));
		}
		self.stanza(el).await
	}

	async fn dialback(&mut self, wire: &mut Wire, el: Element) -> Result<(), StreamError> {
		let (Some(raw_from), Some(raw_to)) = (el.attr("from"), el.attr("to")) else {
			return Err(StreamError::with_text(StreamCondition::ImproperAddressing, "dialback needs from and to"));
		};
		// Compared and looked up only as normalized domains (issue 11: our
		// own domain in capitals was a stranger, and its lookup went to the DNS).
		let (from, to) = (domain_of(raw_from), domain_of(raw_to));
		match el.name() {
			// XEP-0220 §2.3: we are the authoritative server for a key we made.
			"verify" => {
				let id = el.attr("id").unwrap_or_default();
				let valid = match (&from, &to) {
					(Some(from), Some(to)) => {
						is_ours(&self.server, to) && dialback::key_ok(&self.server.dialback_secret, from, to, id, &el.text())
					}
					_ => false,
				};
				let ty = if valid { "valid" } else { "invalid" };
				let (from, to) = (from.as_deref().unwrap_or(raw_from), to.as_deref().unwrap_or(raw_to));
				wire.write(&dialback::element("verify", to, from, Some(id), Some(ty), None).to_xml(NS_SERVER));
				Ok(())
			}
			// §2.1: someone wants to send as `from`; ask its server.
			"result" if el.attr("type").is_none() => {
				if !wire.tls {
					return Err(StreamError::with_text(StreamCondition::PolicyViolation, "TLS first (STARTTLS)"));
				}
				let Some(to) = to.filter(|t| is_ours(&self.server, t)) else {
					return Err(StreamError::new(StreamCondition::HostUnknown));
				};
				// A domain, and not one of ours (only we speak for those).
				let Some(from) = from.filter(|f| !is_ours(&self.server, f)) else {
					return Err(StreamError::with_text(StreamCondition::InvalidFrom, "not a domain another server may speak for"));
				};
				let valid = match verify(&self.server, &from, &to, &self.stream_id, &el.text()).await {
					Ok(v) => v,
					Err(e) => {
						log::info!("dialback: cannot ask {from} about its key: {e}");
						// §2.4: a dialback error, the stream goes on.
						let error = Element::new("error", dialback::NS)
							.with_attr("type", "cancel")
							.with_child(Element::new("remote-server-not-found", ns::STANZAS));
						let r = dialback::element("result", &to, &from, None, Some("error"), None).with_child(error);
						wire.write(&r.to_xml(NS_SERVER));
						return Ok(());
					}
				};
				let ty = if valid { "valid" } else { "invalid" };
				wire.write(&dialback::element("result", &to, &from, None, Some(ty), None).to_xml(NS_SERVER));
				if !valid {
					return Err(StreamError::with_text(StreamCondition::NotAuthorized, "dialback key not valid"));
				}
				log::info!("s2s: {from} authenticated by dialback");
				self.authed.insert(from);
				self.up.get_or_insert_with(crate::stats::Link::up);
				wire.reader.set_limits(super::c2s::full_limits(&self.server));
				Ok(())
			}
			_ => Ok(()),
		}
	}

	async fn stanza(&mut self, mut el: Element) -> Result<(), StreamError> {
		if !matches!(el.name(), "message" | "presence" | "iq") || el.ns() != NS_SERVER {
			return Err(StreamError::new(StreamCondition::UnsupportedStanzaType));
		}
		let from = el.attr("from").and_then(|f| crate::xmpp::jid::Jid::parse(f).ok());
		let to = el.attr("to").and_then(|t| crate::xmpp::jid::Jid::parse(t).ok());
		let (Some(from), Some(to)) = (from, to) else {
			return Err(StreamError::with_text(StreamCondition::ImproperAddressing, "stanzas need a valid from and to"));
		};
		if self.authed.is_empty() {
			return Err(StreamError::with_text(StreamCondition::NotAuthorized, "authenticate first (dialback)"));
		}
		if !self.authed.contains(from.domain()) {
			return Err(StreamError::with_text(StreamCondition::InvalidFrom, "from a domain this stream did not authenticate"));
		}
		if !is_ours(&self.server, to.domain()) {
			return Err(StreamError::with_text(StreamCondition::HostUnknown, "not a domain of this server"));
		}
		el.rename_ns(NS_SERVER, ns::CLIENT);
		Box::pin(crate::router::from_remote(&self.server, el)).await;
		Ok(())
	}
}

// --- outgoing connections ----------------------------------------------------

/// Starts a task for each link the router asks for.
pub async fn dialer(server: Rc<Server>, ex: Rc<async_executor::LocalExecutor<'static>>) {
	loop {
		let (link, outbox) = std::future::poll_fn(|cx| server.remotes.borrow_mut().poll_dial(cx)).await;
		ex.spawn(outbound(server.clone(), link, outbox)).detach();
	}
}

/// One link to another server: connect, authenticate, then send what the
/// router queues until the link has been idle for `idle_timeout`.
async fn outbound(server: Rc<Server>, link: ServerLink, outbox: Rc<Outbox>) {
	let (local, domain) = (&link.0, &link.1);
	let deadline = server.config.limits.negotiation_timeout;
	let wire = async { connect(&server, local, domain, true).await }
		.or(async {
			Timer::after(deadline).await;
			Err("timed out".to_owned())
		})
		.await;
	let mut wire = match wire {
		Ok(w) => w,
		Err(e) => {
			log::info!("s2s: cannot reach {domain}: {e}");
			return give_up(&server, &link, &outbox, crate::xmpp::error::Condition::RemoteServerNotFound).await;
		}
	};
	log::info!("s2s: link {local} -> {domain} up");
	let _up = crate::stats::Link::up();
	let idle = server.config.limits.idle_timeout;
	let mut last = Instant::now();
	loop {
		let wake = async { Wake::Read(wire.next().await) }
			.or(async { Wake::Queue(outbox.recv().await) })
			.or(async {
				Timer::at(last + idle).await;
				Wake::Idle
			})
			.await;
		match wake {
			Wake::Queue(Some(first)) => {
				let mut next = Some(first);
				while let Some(item) = next {
					// Packed without a namespace of its own: it reads as
					// jabber:server here.
					if let Outgoing::Stanza(p) = item {
						crate::stats::stanza_out_xml(p.xml().as_bytes());
						wire.out.extend_from_slice(p.xml().as_bytes());
					}
					next = outbox.try_recv();
				}
				if wire.flush().await.is_err() {
					break;
				}
				last = Instant::now();
			}
			// What the peer says on our outgoing stream: only the end matters.
			Wake::Read(Ok(Some(Ok(StreamEvent::Stanza(_))))) => {}
			Wake::Read(_) | Wake::Queue(None) => break,
			Wake::Idle => {
				// Take the link out first so new stanzas start a new one.
				server.remotes.borrow_mut().detach_server(&link, &outbox);
				outbox.close();
				wire.close(None).await;
				break;
			}
		}
	}
	log::info!("s2s: link {local} -> {domain} closed");
	give_up(&server, &link, &outbox, crate::xmpp::error::Condition::RemoteServerTimeout).await;
}

enum Wake {
	Read(io::Result<Option<Result<StreamEvent, StreamError>>>),
	Queue(Option<Outgoing>),
	Idle,
}

/// The link is gone: it leaves the table, and whatever still waits in its
/// queue goes back to its senders with `condition` (what was queued to
/// bounce: not presence broadcasts).
async fn give_up(server: &Server, link: &ServerLink, outbox: &Rc<Outbox>, condition: crate::xmpp::error::Condition) {
	server.remotes.borrow_mut().detach_server(link, outbox);
	outbox.close();
	let mut left = Vec::new();
	while let Some(item) = outbox.try_recv() {
		if let Outgoing::Stanza(p) = item
			&& p.bounce
			&& let Some(el) = p.unpack()
		{
			left.push(el);
		}
	}
	crate::router::bounce_all(server, left, condition).await;
}

/// Connects to `domain`'s server, secures the stream with STARTTLS and, if
/// `authenticate`, proves our domain by dialback; the stream is then ready
/// for stanzas (or, without `authenticate`, for a `<db:verify/>`).
async fn connect(server: &Server, ours: &str, domain: &str, authenticate: bool) -> Result<Wire, Failure> {
	let tcp = tcp_to(server, domain).await?;
	let mut wire = Wire::new(tcp, server, crate::stats::ConnKind::S2sOut);
	let mut header = open(&mut wire, ours, domain).await?;
	let mut features = wire.element().await?;
	if features.child("starttls", ns::TLS).is_some() {
		wire.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
		wire.flush().await.map_err(|e| e.to_string())?;
		let answer = wire.element().await?;
		if !answer.is("proceed", ns::TLS) {
			return Err(format!("{domain} refused STARTTLS"));
		}
		let Transport::Plain(tcp) = std::mem::replace(&mut wire.io, Transport::Gone) else { return Err("no TCP stream".into()) };
		let tcp = *tcp;
		let name = ServerName::try_from(domain.to_owned()).map_err(|e| e.to_string())?;
		let tls = TlsConnector::from(client_config()).connect(name, tcp).await.map_err(|e| format!("TLS with {domain}: {e}"))?;
		wire.restart(Transport::ClientTls(Box::new(tls)), server);
		header = open(&mut wire, ours, domain).await?;
		features = wire.element().await?;
	} else if authenticate {
		return Err(format!("{domain} offers no TLS"));
	}
	if !authenticate {
		return Ok(wire);
	}
	if features.child("dialback", dialback::FEATURE_NS).is_none() && header.version.is_some() {
		log::debug!("s2s: {domain} does not announce dialback; trying anyway");
	}
	let id = header.id.take().ok_or_else(|| format!("{domain} sent no stream id"))?;
	let key = dialback::key(&server.dialback_secret, domain, ours, &id);
	wire.write(&dialback::element("result", ours, domain, None, None, Some(&key)).to_xml(NS_SERVER));
	wire.flush().await.map_err(|e| e.to_string())?;
	loop {
		let el = wire.element().await?;
		if !el.is("result", dialback::NS) {
			continue;
		}
		return match el.attr("type") {
			Some("valid") => Ok(wire),
			other => Err(format!("{domain} did not accept our dialback ({})", other.unwrap_or("no type"))),
		};
	}
}

/// Sends our header and reads the peer's.
async fn open(wire: &mut Wire, ours: &str, domain: &str) -> Result<StreamHeader, Failure> {
	wire.write(&header_xml(ours, Some(domain), None));
	wire.flush().await.map_err(|e| e.to_string())?;
	wire.header().await
}

/// A TCP connection to the first address of `domain`'s server that answers.
async fn tcp_to(server: &Server, domain: &str) -> Result<TcpStream, Failure> {
	let targets = super::dns::targets(domain, &server.config.s2s_hosts).await;
	let mut tried = Vec::new();
	for t in &targets {
		for addr in super::dns::addresses(t).await {
			let attempt = async { TcpStream::connect(addr).await.map_err(|e| e.to_string()) }
				.or(async {
					Timer::after(CONNECT_TIMEOUT).await;
					Err("timed out".to_owned())
				})
				.await;
			match attempt {
				Ok(tcp) => {
					let _ = tcp.set_nodelay(true);
					return Ok(tcp);
				}
				Err(e) => tried.push(format!("{addr}: {e}")),
			}
		}
	}
	if tried.is_empty() { Err(format!("no address for {domain}")) } else { Err(tried.join("; ")) }
}

/// XEP-0220 §2.1.2: asks the authoritative server of `originating` whether
/// `key` (shown to us on stream `stream_id`) is one it made.
async fn verify(server: &Server, originating: &str, receiving: &str, stream_id: &str, key: &str) -> Result<bool, Failure> {
	let ask = async {
		let mut wire = connect(server, receiving, originating, false).await?;
		let v = dialback::element("verify", receiving, originating, Some(stream_id), None, Some(key));
		wire.write(&v.to_xml(NS_SERVER));
		wire.flush().await.map_err(|e| e.to_string())?;
		loop {
			let el = wire.element().await?;
			if el.is("verify", dialback::NS) && el.attr("id") == Some(stream_id) {
				wire.close(None).await;
				return Ok(el.attr("type") == Some("valid"));
			}
		}
	};
	ask.or(async {
		Timer::after(server.config.limits.negotiation_timeout).await;
		Err("timed out".to_owned())
	})
	.await
}

fn client_config() -> Arc<futures_rustls::rustls::ClientConfig> {
	thread_local! {
		static CONFIG: Arc<futures_rustls::rustls::ClientConfig> =
			super::tls::any_cert_client_config(&[&futures_rustls::rustls::version::TLS13, &futures_rustls::rustls::version::TLS12], None);
	}
	CONFIG.with(Arc::clone)
}
