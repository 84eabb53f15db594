//! A deliberately small, blocking XMPP client for tests: it writes raw XML
//! (so tests can send anything, malformed included) and reads with Xerra's
//! own stream reader. Real-client coverage comes from slixmpp.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConfig, ClientConnection, StreamOwned};
use ring::{digest, hmac, pbkdf2};
use xerra::xmpp::element::Element;
use xerra::xmpp::reader::{StreamEvent, StreamReader, XmlLimits};

use super::DOMAIN;

/// How long a test waits for something that should arrive.
pub const WAIT: Duration = Duration::from_secs(10);

const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const STREAMS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

enum Io {
	Plain(TcpStream),
	Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Io {
	fn tcp(&self) -> &TcpStream {
		match self {
			Io::Plain(s) => s,
			Io::Tls(s) => s.get_ref(),
		}
	}
}

/// What came from the server.
#[derive(Debug)]
pub enum Got {
	Header,
	Stanza(Element),
	/// `</stream:stream>`
	End,
	/// The TCP connection closed.
	Closed,
}

pub struct Client {
	io: Option<Io>,
	reader: StreamReader,
	events: VecDeque<Got>,
	/// Stanzas skipped by `wait_for`, returned by later calls.
	backlog: VecDeque<Element>,
	/// The bound JID, once bound.
	pub jid: String,
	/// Last `<stream:features/>`.
	pub features: Option<Element>,
	/// tls-exporter keying material (TLS 1.3).
	exporter: Option<Vec<u8>>,
	next_id: u32,
	/// The id of the server's last stream header.
	pub stream_id: Option<String>,
	/// The domain the client asks for in its stream headers.
	pub domain: String,
}

fn limits() -> XmlLimits {
	XmlLimits { max_stanza_bytes: 1 << 24, max_depth: 1000, max_attrs: 1000, max_elements: usize::MAX }
}

#[path = "../../bench/src/insecure_tls.rs"]
mod insecure_tls;

pub fn tls_config(versions: &[&'static rustls::SupportedProtocolVersion], alpn: Option<&[u8]>) -> Arc<ClientConfig> {
	insecure_tls::client_config(versions, alpn)
}

impl Client {
	/// A plain TCP connection to the STARTTLS port; nothing sent yet.
	pub fn connect(port: u16) -> Client {
		Client::connect_with(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
	}

	fn connect_with(tcp: TcpStream) -> Client {
		tcp.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
		Client {
			io: Some(Io::Plain(tcp)),
			reader: StreamReader::new(limits()),
			events: VecDeque::new(),
			backlog: VecDeque::new(),
			jid: String::new(),
			features: None,
			exporter: None,
			next_id: 0,
			stream_id: None,
			domain: DOMAIN.to_owned(),
		}
	}

	/// A connection to the direct-TLS port (XEP-0368), TLS done.
	pub fn connect_tls(port: u16) -> Client {
		let mut c = Client::connect(port);
		c.tls_handshake(&[&rustls::version::TLS13], Some(b"xmpp-client"));
		c
	}

	/// Full login: STARTTLS, SCRAM-SHA-256, bind. Panics on failure.
	pub fn login(port: u16, user: &str, password: &str) -> Client {
		Client::login_at(port, DOMAIN, user, password)
	}

	/// [`Client::login`] to a server of another domain.
	pub fn login_at(port: u16, domain: &str, user: &str, password: &str) -> Client {
		let mut c = Client::connect(port);
		c.domain = domain.to_owned();
		c.open();
		c.starttls();
		c.open();
		c.scram(user, password, "SCRAM-SHA-256").expect("authentication");
		c.open();
		c.bind(None).expect("bind");
		c
	}

	pub fn send(&mut self, xml: &str) {
		let io = self.io.as_mut().expect("connection");
		let r = match io {
			Io::Plain(s) => s.write_all(xml.as_bytes()).and_then(|()| s.flush()),
			Io::Tls(s) => s.write_all(xml.as_bytes()).and_then(|()| s.flush()),
		};
		r.expect("write to server");
	}

	/// Tries to send; false if the connection is gone.
	pub fn try_send(&mut self, xml: &str) -> bool {
		let Some(io) = self.io.as_mut() else { return false };
		let r = match io {
			Io::Plain(s) => s.write_all(xml.as_bytes()).and_then(|()| s.flush()),
			Io::Tls(s) => s.write_all(xml.as_bytes()).and_then(|()| s.flush()),
		};
		r.is_ok()
	}

	/// Sends a stream header and reads the server's header and features.
	pub fn open(&mut self) -> Element {
		let domain = self.domain.clone();
		self.open_with(&format!(
			"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
		))
	}

	pub fn open_with(&mut self, header: &str) -> Element {
		self.reader = StreamReader::new(limits());
		self.send(header);
		match self.next(WAIT) {
			Some(Got::Header) => {}
			other => panic!("expected a stream header, got {other:?}"),
		}
		let features = self.stanza();
		assert_eq!(features.name(), "features", "{features:?}");
		self.features = Some(features.clone());
		features
	}

	/// Reads one event, waiting at most `timeout`.
	pub fn next(&mut self, timeout: Duration) -> Option<Got> {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(ev) = self.events.pop_front() {
				return Some(ev);
			}
			if self.io.is_none() {
				return Some(Got::Closed);
			}
			if Instant::now() >= deadline {
				return None;
			}
			let mut buf = [0u8; 8192];
			let io = self.io.as_mut().unwrap();
			let wait = deadline.saturating_duration_since(Instant::now()).clamp(Duration::from_millis(1), Duration::from_millis(100));
			let _ = io.tcp().set_read_timeout(Some(wait));
			let n = match io {
				Io::Plain(s) => s.read(&mut buf),
				Io::Tls(s) => s.read(&mut buf),
			};
			match n {
				Ok(0) => {
					self.io = None;
				}
				Ok(n) => self.parse(&buf[..n]),
				Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
				Err(_) => self.io = None,
			}
		}
	}

	fn parse(&mut self, mut bytes: &[u8]) {
		loop {
			match self.reader.next(&mut bytes) {
				Ok(Some(StreamEvent::Header(h))) => {
					self.stream_id = h.id;
					self.events.push_back(Got::Header);
				}
				Ok(Some(StreamEvent::Stanza(el))) => self.events.push_back(Got::Stanza(el)),
				Ok(Some(StreamEvent::End)) => self.events.push_back(Got::End),
				Ok(None) => return,
				Err(e) => panic!("server sent bad XML: {e}"),
			}
		}
	}

	/// The next stanza (or nonza), failing the test if something else comes.
	pub fn stanza(&mut self) -> Element {
		if let Some(el) = self.backlog.pop_front() {
			return el;
		}
		match self.next(WAIT) {
			Some(Got::Stanza(el)) => el,
			other => panic!("expected a stanza, got {other:?}"),
		}
	}

	/// Waits for a stanza matching `pred`; others are kept for later.
	pub fn wait_for(&mut self, pred: impl Fn(&Element) -> bool) -> Element {
		if let Some(i) = self.backlog.iter().position(&pred) {
			return self.backlog.remove(i).unwrap();
		}
		let deadline = Instant::now() + WAIT;
		loop {
			let left = deadline.saturating_duration_since(Instant::now());
			match self.next(left) {
				Some(Got::Stanza(el)) if pred(&el) => return el,
				Some(Got::Stanza(el)) => self.backlog.push_back(el),
				other => panic!("waiting for a stanza, got {other:?}; skipped: {:?}", self.backlog),
			}
		}
	}

	/// Like `wait_for`, but gives up after `d` with `None`.
	pub fn wait_within(&mut self, d: Duration, pred: impl Fn(&Element) -> bool) -> Option<Element> {
		if let Some(i) = self.backlog.iter().position(&pred) {
			return self.backlog.remove(i);
		}
		let deadline = Instant::now() + d;
		while let Some(ev) = self.next(deadline.saturating_duration_since(Instant::now())) {
			match ev {
				Got::Stanza(el) if pred(&el) => return Some(el),
				Got::Stanza(el) => self.backlog.push_back(el),
				other => panic!("waiting for a stanza, got {other:?}"),
			}
		}
		None
	}

	/// Asserts nothing matching `pred` arrives within `d` (others are kept).
	pub fn expect_none(&mut self, d: Duration, pred: impl Fn(&Element) -> bool) {
		assert!(!self.backlog.iter().any(&pred), "unexpected: {:?}", self.backlog);
		let deadline = Instant::now() + d;
		while let Some(ev) = self.next(deadline.saturating_duration_since(Instant::now())) {
			match ev {
				Got::Stanza(el) if pred(&el) => panic!("unexpected stanza {}", el.to_xml("jabber:client")),
				Got::Stanza(el) => self.backlog.push_back(el),
				other => panic!("unexpected {other:?}"),
			}
		}
	}

	/// Stanzas received so far and not consumed.
	pub fn drain(&mut self, d: Duration) -> Vec<Element> {
		let deadline = Instant::now() + d;
		while let Some(ev) = self.next(deadline.saturating_duration_since(Instant::now())) {
			match ev {
				Got::Stanza(el) => self.backlog.push_back(el),
				Got::Closed => break,
				Got::Header | Got::End => {}
			}
		}
		self.backlog.drain(..).collect()
	}

	/// Expects `<stream:error>` with `condition`, then the end of the stream.
	pub fn expect_stream_error(&mut self, condition: &str) {
		let deadline = Instant::now() + WAIT;
		loop {
			match self.next(deadline.saturating_duration_since(Instant::now())) {
				Some(Got::Header) => continue,
				Some(Got::Stanza(el)) if el.name() == "error" => {
					assert!(
						el.child(condition, STREAMS).is_some(),
						"expected stream error {condition}, got {}",
						el.to_xml("jabber:client")
					);
					break;
				}
				// Stanzas queued before the error may still arrive first.
				Some(Got::Stanza(el)) if matches!(el.name(), "features" | "message" | "presence" | "iq") => continue,
				// So may XEP-0198 ack requests.
				Some(Got::Stanza(el)) if el.ns() == "urn:xmpp:sm:3" => continue,
				other => panic!("expected stream error {condition}, got {other:?}"),
			}
		}
		self.expect_closed();
	}

	/// Expects `</stream:stream>` and/or the connection to close.
	pub fn expect_closed(&mut self) {
		loop {
			match self.next(WAIT) {
				Some(Got::End) => continue,
				Some(Got::Closed) => return,
				other => panic!("expected the stream to close, got {other:?}"),
			}
		}
	}

	/// A fresh iq id.
	pub fn id(&mut self) -> String {
		self.next_id += 1;
		format!("t{}", self.next_id)
	}

	/// Sends an iq (given without id; `{id}` is replaced) and returns the answer.
	pub fn iq(&mut self, xml: &str) -> Element {
		let id = self.id();
		self.send(&xml.replacen("<iq ", &format!("<iq id='{id}' "), 1));
		self.wait_for(|s| s.name() == "iq" && s.attr("id") == Some(id.as_str()) && matches!(s.attr("type"), Some("result" | "error")))
	}

	pub fn starttls(&mut self) {
		self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
		let p = self.stanza();
		assert_eq!(p.name(), "proceed");
		self.tls_handshake(&[&rustls::version::TLS13, &rustls::version::TLS12], None);
	}

	pub fn tls_handshake(&mut self, versions: &[&'static rustls::SupportedProtocolVersion], alpn: Option<&[u8]>) {
		let Some(Io::Plain(tcp)) = self.io.take() else { panic!("not a plain connection") };
		tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
		let name = ServerName::try_from(self.domain.clone()).unwrap();
		let conn = ClientConnection::new(tls_config(versions, alpn), name).unwrap();
		let mut tls = StreamOwned::new(conn, tcp);
		while tls.conn.is_handshaking() {
			tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
		}
		if tls.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3) {
			self.exporter = tls.conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None).ok().map(|k| k.to_vec());
		}
		tls.sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
		self.io = Some(Io::Tls(Box::new(tls)));
		self.reader = StreamReader::new(limits());
	}

	/// The server's end-entity certificate (DER), once TLS is up.
	pub fn peer_cert(&self) -> Vec<u8> {
		match &self.io {
			Some(Io::Tls(t)) => t.conn.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default(),
			_ => Vec::new(),
		}
	}

	/// An external component (XEP-0114) for `domain`: header, then the
	/// handshake with `secret`. Err: the stream error the server sent.
	pub fn component(addr: std::net::SocketAddr, domain: &str, secret: &str) -> Result<Client, String> {
		let mut c = Client::connect_addr(addr);
		c.send(&format!("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}'>"));
		match c.next(WAIT) {
			Some(Got::Header) => {}
			other => panic!("expected a stream header, got {other:?}"),
		}
		let id = c.stream_id.clone().unwrap_or_default();
		let proof = xerra::proto::component::handshake_digest(&id, secret);
		c.send(&format!("<handshake>{proof}</handshake>"));
		let answer = c.stanza();
		match answer.name() {
			"handshake" => Ok(c),
			_ => Err(error_condition_of_stream(&answer)),
		}
	}

	/// A plain connection to the STARTTLS port from another loopback
	/// address (say 127.0.0.2): another host, as per-address limits see it.
	pub fn connect_from(src: std::net::IpAddr, port: u16) -> Client {
		use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
		let fd = socket::socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
		let std::net::IpAddr::V4(v4) = src else { panic!("IPv4 only") };
		socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(std::net::SocketAddrV4::new(v4, 0))).expect("bind");
		let to = SockaddrIn::from(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port));
		socket::connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &to).expect("connect");
		Client::connect_with(TcpStream::from(fd))
	}

	/// [`Client::login`] from another loopback address.
	pub fn login_from(src: std::net::IpAddr, port: u16, user: &str, password: &str) -> Client {
		let mut c = Client::connect_from(src, port);
		c.open();
		c.starttls();
		c.open();
		c.scram(user, password, "SCRAM-SHA-256").expect("authentication");
		c.open();
		c.bind(None).expect("bind");
		c
	}

	/// Connects to `addr` (any host, e.g. `[::1]:5222`).
	pub fn connect_addr(addr: std::net::SocketAddr) -> Client {
		let tcp = TcpStream::connect(addr).expect("connect");
		Client::connect_with(tcp)
	}

	/// tls-exporter keying material of this connection (TLS 1.3).
	pub fn exporter(&self) -> Option<Vec<u8>> {
		self.exporter.clone()
	}

	pub fn tls_version(&self) -> Option<rustls::ProtocolVersion> {
		match &self.io {
			Some(Io::Tls(t)) => t.conn.protocol_version(),
			_ => None,
		}
	}

	/// Offered SASL mechanisms from the last features.
	pub fn mechanisms(&self) -> Vec<String> {
		let f = self.features.as_ref().expect("features");
		f.child("mechanisms", SASL).map(|m| m.children().map(|c| c.text()).collect()).unwrap_or_default()
	}

	pub fn plain(&mut self, user: &str, password: &str) -> Result<(), String> {
		let data = B64.encode(format!("\0{user}\0{password}"));
		self.send(&format!("<auth xmlns='{SASL}' mechanism='PLAIN'>{data}</auth>"));
		self.sasl_outcome()
	}

	fn sasl_outcome(&mut self) -> Result<(), String> {
		let r = self.stanza();
		match r.name() {
			"success" => Ok(()),
			"failure" => Err(r.children().next().map(|c| c.name().to_string()).unwrap_or_default()),
			other => panic!("unexpected {other}"),
		}
	}

	/// SCRAM with `mech` (SCRAM-SHA-1, -256 and their -PLUS forms); the gs2
	/// header is chosen like a careful client would.
	pub fn scram(&mut self, user: &str, password: &str, mech: &str) -> Result<(), String> {
		let gs2 = if mech.ends_with("-PLUS") { "p=tls-exporter,,".to_string() } else { "n,,".to_string() };
		self.scram_with(user, password, mech, &gs2, None)
	}

	/// SCRAM with an explicit gs2 header and (optionally) forged binding data.
	pub fn scram_with(&mut self, user: &str, password: &str, mech: &str, gs2: &str, cb_override: Option<&[u8]>) -> Result<(), String> {
		let sha256 = mech.starts_with("SCRAM-SHA-256");
		let nonce = "rOprNGfwEbeRWgbNEkqO";
		let first_bare = format!("n={user},r={nonce}");
		self.send(&format!("<auth xmlns='{SASL}' mechanism='{mech}'>{}</auth>", B64.encode(format!("{gs2}{first_bare}"))));
		let ch = self.stanza();
		if ch.name() == "failure" {
			return Err(ch.children().next().map(|c| c.name().to_string()).unwrap_or_default());
		}
		let server_first = String::from_utf8(B64.decode(ch.text()).unwrap()).unwrap();
		assert!(server_first.starts_with(&format!("r={nonce}")));
		let cb_data: Vec<u8> = match cb_override {
			Some(d) => d.to_vec(),
			None if gs2.starts_with("p=") => self.exporter.clone().unwrap_or_default(),
			None => Vec::new(),
		};
		let (client_final, server_final) = scram_client(sha256, password, gs2, &first_bare, &server_first, &cb_data);
		self.send(&format!("<response xmlns='{SASL}'>{}</response>", B64.encode(client_final)));
		let outcome = self.stanza();
		match outcome.name() {
			"success" => {
				// Check the server's signature: it proves the server knew our keys.
				let v = String::from_utf8(B64.decode(outcome.text()).unwrap()).unwrap();
				assert_eq!(v, server_final, "server signature");
				Ok(())
			}
			"failure" => Err(outcome.children().next().map(|c| c.name().to_string()).unwrap_or_default()),
			other => panic!("unexpected {other}"),
		}
	}

	/// Binds a resource; Ok(full JID) or Err(error condition).
	pub fn bind(&mut self, resource: Option<&str>) -> Result<String, String> {
		let res = resource.map(|r| format!("<resource>{r}</resource>")).unwrap_or_default();
		let r = self.iq(&format!("<iq type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>{res}</bind></iq>"));
		if r.attr("type") == Some("error") {
			return Err(error_condition(&r));
		}
		let jid = r
			.child("bind", "urn:ietf:params:xml:ns:xmpp-bind")
			.and_then(|b| b.child("jid", "urn:ietf:params:xml:ns:xmpp-bind"))
			.map(|j| j.text())
			.unwrap();
		self.jid = jid.clone();
		Ok(jid)
	}

	/// Bare JID of this client.
	pub fn bare(&self) -> String {
		self.jid.split('/').next().unwrap().to_string()
	}

	/// True once the server closed the TCP connection.
	pub fn is_closed(&mut self) -> bool {
		matches!(self.next(Duration::from_millis(300)), Some(Got::Closed))
	}
}

/// The defined condition of a stanza error.
pub fn error_condition(el: &Element) -> String {
	el.child("error", "jabber:client")
		.and_then(|e| e.children().find(|c| c.ns() == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name() != "text"))
		.map(|c| c.name().to_string())
		.unwrap_or_else(|| panic!("no stanza error in {}", el.to_xml("jabber:client")))
}

/// The condition of a `<stream:error/>`.
pub fn error_condition_of_stream(el: &Element) -> String {
	assert_eq!(el.name(), "error", "{el:?}");
	el.children().find(|c| c.ns() == STREAMS).map(|c| c.name().to_owned()).unwrap_or_default()
}

/// The client's side of SCRAM (RFC 5802) after the server-first-message:
/// the client-final-message, and the server-final-message (`v=...`) the
/// server must answer with.
pub fn scram_client(sha256: bool, password: &str, gs2: &str, first_bare: &str, server_first: &str, cb_data: &[u8]) -> (String, String) {
	let mut parts = server_first.split(',');
	let r = parts.next().unwrap().strip_prefix("r=").unwrap().to_string();
	let salt = B64.decode(parts.next().unwrap().strip_prefix("s=").unwrap()).unwrap();
	let iters: u32 = parts.next().unwrap().strip_prefix("i=").unwrap().parse().unwrap();
	let (alg, hmac_alg, dig, len) = if sha256 {
		(pbkdf2::PBKDF2_HMAC_SHA256, hmac::HMAC_SHA256, &digest::SHA256, 32)
	} else {
		(pbkdf2::PBKDF2_HMAC_SHA1, hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &digest::SHA1_FOR_LEGACY_USE_ONLY, 20)
	};
	let mut salted = vec![0u8; len];
	pbkdf2::derive(alg, std::num::NonZeroU32::new(iters).unwrap(), &salt, password.as_bytes(), &mut salted);
	let key = hmac::Key::new(hmac_alg, &salted);
	let client_key = hmac::sign(&key, b"Client Key");
	let stored = digest::digest(dig, client_key.as_ref());
	let final_bare = format!("c={},r={r}", B64.encode([gs2.as_bytes(), cb_data].concat()));
	let auth_message = format!("{first_bare},{server_first},{final_bare}");
	let sig = hmac::sign(&hmac::Key::new(hmac_alg, stored.as_ref()), auth_message.as_bytes());
	let proof: Vec<u8> = client_key.as_ref().iter().zip(sig.as_ref()).map(|(a, b)| a ^ b).collect();
	let server_key = hmac::sign(&key, b"Server Key");
	let expect = hmac::sign(&hmac::Key::new(hmac_alg, server_key.as_ref()), auth_message.as_bytes());
	(format!("{final_bare},p={}", B64.encode(proof)), format!("v={}", B64.encode(expect.as_ref())))
}
