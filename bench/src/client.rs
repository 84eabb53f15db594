//! An async XMPP client that logs in the way real clients do:
//! TCP, stream, STARTTLS, TLS, stream, SCRAM-SHA-1 (server signature
//! checked), stream, bind, session if the server requires it, initial
//! presence, roster get. Any server with users PREFIXn / PASSWORD will do.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_net::TcpStream;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_lite::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use futures_rustls::rustls;
use futures_rustls::rustls::pki_types::ServerName;
use ring::{digest, hmac, pbkdf2};
use xerra::xmpp::element::Element;
use xerra::xmpp::ns;
use xerra::xmpp::reader::{StreamEvent, StreamReader, XmlLimits};

const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub const SASL2: &str = "urn:xmpp:sasl:2";

/// Where and as whom to log in.
#[derive(Clone, Debug)]
pub struct Target {
	pub host: String,
	pub port: u16,
	pub domain: String,
	pub prefix: String,
	pub password: String,
}

impl Target {
	pub fn jid(&self, n: usize) -> String {
		format!("{}{n}@{}", self.prefix, self.domain)
	}
}

/// Any failure, as text: a benchmark reports it and counts it.
pub type Error = String;

pub fn tls_connector() -> TlsConnector {
	TlsConnector::from(crate::insecure_tls::client_config(&[&rustls::version::TLS13], None))
}

/// The SCRAM key derivation is the client's most expensive step; a run
/// logs the same users in again and again, so cache it per (salt, count).
#[derive(Default)]
pub struct KeyCache {
	keys: std::collections::HashMap<(Vec<u8>, u32), Vec<u8>>,
}

enum Io {
	Plain(TcpStream),
	Tls(Box<TlsStream<TcpStream>>),
	Gone,
}

/// One logged-in (or logging-in) connection.
pub struct Session {
	io: Io,
	reader: StreamReader,
	buf: Vec<u8>,
	/// Parsed but not yet consumed stanzas.
	queue: std::collections::VecDeque<Element>,
	pub jid: String,
	next_id: u32,
	/// The stream features after authentication (what the session may use).
	pub features: Option<Element>,
	/// The condition of a stream error the server sent, if any.
	pub stream_error: Option<String>,
}

fn limits() -> XmlLimits {
	XmlLimits { max_stanza_bytes: 1 << 22, max_depth: 64, max_attrs: 64, max_elements: usize::MAX }
}

impl Session {
	async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
		let r = match &mut self.io {
			Io::Plain(s) => s.write_all(data).await,
			Io::Tls(s) => match s.write_all(data).await {
				Ok(()) => s.flush().await,
				Err(e) => Err(e),
			},
			Io::Gone => return Err("connection gone".into()),
		};
		r.map_err(|e| format!("write: {e}"))
	}

	pub async fn send(&mut self, xml: &str) -> Result<(), Error> {
		self.write(xml.as_bytes()).await
	}

	/// The next stanza (or nonza); `Err` on close or after `timeout`.
	pub async fn next(&mut self, timeout: Duration) -> Result<Element, Error> {
		let read = async {
			loop {
				if let Some(el) = self.queue.pop_front() {
					return Ok(el);
				}
				let n = match &mut self.io {
					Io::Plain(s) => s.read(&mut self.buf).await,
					Io::Tls(s) => s.read(&mut self.buf).await,
					Io::Gone => return Err("connection gone".to_string()),
				}
				.map_err(|e| format!("read: {e}"))?;
				parse(&mut self.reader, &self.buf[..n], &mut self.queue, &mut self.stream_error)?;
			}
		};
		read.or(async {
			async_io::Timer::after(timeout).await;
			Err("timed out".to_string())
		})
		.await
	}

	/// Writes `data` while reading (and queueing) whatever the server sends
	/// meanwhile, so neither side can block the other with full buffers;
	/// `Err` when the server closes or `timeout` passes first.
	pub async fn send_reading(&mut self, data: &[u8], timeout: Duration) -> Result<(), Error> {
		let Session { io, reader, buf, queue, stream_error, .. } = self;
		let mut written = 0;
		let work = std::future::poll_fn(|cx| {
			loop {
				let r = match io {
					Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
					Io::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
					Io::Gone => return Poll::Ready(Err("connection gone".to_string())),
				};
				match r {
					Poll::Ready(Ok(n)) => {
						if let Err(e) = parse(reader, &buf[..n], queue, stream_error) {
							return Poll::Ready(Err(e));
						}
					}
					Poll::Ready(Err(e)) => return Poll::Ready(Err(format!("read: {e}"))),
					Poll::Pending => break,
				}
			}
			while written < data.len() {
				let r = match io {
					Io::Plain(s) => Pin::new(s).poll_write(cx, &data[written..]),
					Io::Tls(s) => Pin::new(&mut **s).poll_write(cx, &data[written..]),
					Io::Gone => return Poll::Ready(Err("connection gone".to_string())),
				};
				match r {
					Poll::Ready(Ok(0)) => return Poll::Ready(Err("write: connection closed".to_string())),
					Poll::Ready(Ok(n)) => written += n,
					Poll::Ready(Err(e)) => return Poll::Ready(Err(format!("write: {e}"))),
					Poll::Pending => return Poll::Pending,
				}
			}
			let r = match io {
				Io::Plain(s) => Pin::new(s).poll_flush(cx),
				Io::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
				Io::Gone => return Poll::Ready(Err("connection gone".to_string())),
			};
			r.map_err(|e| format!("write: {e}"))
		});
		work.or(async {
			async_io::Timer::after(timeout).await;
			Err("timed out".to_string())
		})
		.await
	}

	/// Takes what is queued or arrives within `wait` and drops it, counting
	/// (messages, other elements); `Err` once the server closed the stream.
	pub async fn drain(&mut self, wait: Duration) -> Result<(u64, u64), Error> {
		let deadline = Instant::now() + wait;
		let mut counts = (0, 0);
		loop {
			let left = deadline.saturating_duration_since(Instant::now());
			match self.next(left).await {
				Ok(el) if el.name() == "message" => counts.0 += 1,
				Ok(_) => counts.1 += 1,
				Err(e) if e == "timed out" => return Ok(counts),
				Err(e) => return Err(e),
			}
		}
	}

	/// Opens a stream with `header` and returns the server's features.
	pub async fn open_with(&mut self, header: &str) -> Result<Element, Error> {
		self.reader = StreamReader::new(limits());
		self.send(header).await?;
		let f = self.next(Duration::from_secs(60)).await?;
		if f.name() != "features" {
			return Err(format!("expected features, got {}", f.name()));
		}
		Ok(f)
	}

	/// STARTTLS (the features offered it) and the TLS handshake.
	pub async fn starttls(&mut self, tls: &TlsConnector, domain: &str) -> Result<(), Error> {
		self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
		let p = self.next(Duration::from_secs(60)).await?;
		if p.name() != "proceed" {
			return Err(format!("STARTTLS refused: {}", p.name()));
		}
		let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Gone) else { return Err("STARTTLS twice".into()) };
		let name = ServerName::try_from(domain.to_owned()).map_err(|e| e.to_string())?;
		let tls_stream = tls.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
		self.io = Io::Tls(Box::new(tls_stream));
		Ok(())
	}

	pub async fn open(&mut self, domain: &str) -> Result<Element, Error> {
		self.open_with(&client_header(domain)).await
	}

	pub fn id(&mut self) -> String {
		self.next_id += 1;
		format!("b{}", self.next_id)
	}

	/// Sends an iq (with `{id}` in place of the id) and waits for its answer,
	/// keeping other stanzas queued.
	pub async fn iq(&mut self, xml: &str, timeout: Duration) -> Result<Element, Error> {
		let id = self.id();
		self.send(&xml.replace("{id}", &id)).await?;
		let deadline = std::time::Instant::now() + timeout;
		let mut skipped = Vec::new();
		let answer = loop {
			let left = deadline.saturating_duration_since(std::time::Instant::now());
			let el = self.next(left).await?;
			if el.name() == "iq" && el.attr("id") == Some(id.as_str()) {
				break el;
			}
			skipped.push(el);
		};
		for el in skipped.into_iter().rev() {
			self.queue.push_front(el);
		}
		if answer.attr("type") != Some("result") {
			return Err(format!("iq error: {}", answer.to_xml("jabber:client")));
		}
		Ok(answer)
	}

	/// Closes the stream politely (for "memory returned after leave").
	pub async fn close(mut self) {
		let polite = async {
			let _ = self.send("</stream:stream>").await;
			if let Io::Tls(s) = &mut self.io {
				let _ = s.close().await;
			}
		};
		// A server that does not read any more must not hold us up.
		polite
			.or(async {
				async_io::Timer::after(Duration::from_secs(2)).await;
			})
			.await;
		self.io = Io::Gone;
	}
}

/// Feeds `bytes` to the reader; stanzas go to `queue`, a stream error's
/// condition to `stream_error`; `Err` when the server ended the stream.
fn parse(
	reader: &mut StreamReader,
	mut bytes: &[u8],
	queue: &mut std::collections::VecDeque<Element>,
	stream_error: &mut Option<String>,
) -> Result<(), Error> {
	let closed = |stream_error: &Option<String>| match stream_error {
		Some(c) => format!("stream error {c}"),
		None => "server closed the connection".to_string(),
	};
	if bytes.is_empty() {
		return Err(closed(stream_error));
	}
	loop {
		match reader.next(&mut bytes) {
			Ok(Some(StreamEvent::Stanza(el))) => {
				if el.is("error", ns::STREAM) {
					*stream_error =
						Some(el.children().find(|c| c.ns() == ns::STREAMS && c.name() != "text").map_or("?".into(), |c| c.name().into()));
				}
				queue.push_back(el);
			}
			Ok(Some(StreamEvent::Header(_))) => {}
			Ok(Some(StreamEvent::End)) => return Err(closed(stream_error)),
			Ok(None) => return Ok(()),
			Err(e) => return Err(format!("bad XML from server: {e}")),
		}
	}
}

/// A client stream header.
pub fn client_header(domain: &str) -> String {
	format!(
		"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
	)
}

/// A TCP connection to the target, from `source` (an address of this host)
/// when given: the abuse scenario's normal clients come from 127.0.0.2 so
/// they are not the attacking host.
pub async fn connect(t: &Target, source: Option<IpAddr>) -> Result<Session, Error> {
	let dst: SocketAddr = format!("{}:{}", t.host, t.port).parse().map_err(|e| format!("target address: {e}"))?;
	let tcp = match source {
		None => TcpStream::connect(dst).await,
		Some(src) => connect_from(src, dst).await,
	}
	.map_err(|e| format!("connect: {e}"))?;
	let _ = tcp.set_nodelay(true);
	Ok(Session {
		io: Io::Plain(tcp),
		reader: StreamReader::new(limits()),
		buf: vec![0; 4096],
		queue: Default::default(),
		jid: String::new(),
		next_id: 0,
		features: None,
		stream_error: None,
	})
}

/// A non-blocking connect from a chosen local address (std cannot bind first).
async fn connect_from(src: IpAddr, dst: SocketAddr) -> std::io::Result<TcpStream> {
	use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrStorage, bind, connect, socket};
	use std::os::fd::AsRawFd as _;
	let family = if dst.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
	let fd = socket(family, SockType::Stream, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None)?;
	bind(fd.as_raw_fd(), &SockaddrStorage::from(SocketAddr::new(src, 0)))?;
	match connect(fd.as_raw_fd(), &SockaddrStorage::from(dst)) {
		Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
		Err(e) => return Err(e.into()),
	}
	let stream = async_io::Async::new(std::net::TcpStream::from(fd))?;
	stream.writable().await?;
	if let Some(e) = stream.get_ref().take_error()? {
		return Err(e);
	}
	Ok(TcpStream::from(stream))
}

/// Logs in user `n` and returns the session with the roster result.
pub async fn login(t: &Target, n: usize, tls: &TlsConnector, keys: &std::cell::RefCell<KeyCache>) -> Result<(Session, Element), Error> {
	login_from(t, n, tls, keys, None).await
}

/// `login` from a chosen local address.
pub async fn login_from(
	t: &Target,
	n: usize,
	tls: &TlsConnector,
	keys: &std::cell::RefCell<KeyCache>,
	source: Option<IpAddr>,
) -> Result<(Session, Element), Error> {
	let mut s = connect(t, source).await?;
	s.open(&t.domain).await?;
	s.starttls(tls, &t.domain).await?;
	s.open(&t.domain).await?;
	scram_sha1(&mut s, &format!("{}{n}", t.prefix), &t.password, keys).await?;
	let features = s.open(&t.domain).await?;
	let bind = s.iq("<iq type='set' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", Duration::from_secs(60)).await?;
	s.jid = bind.children().next().and_then(|b| b.children().next()).map(|j| j.text()).ok_or("no bound JID")?;
	// Only a mandatory legacy session is established (RFC 6121 drafts).
	if let Some(sess) = features.child("session", "urn:ietf:params:xml:ns:xmpp-session")
		&& sess.child("optional", "urn:ietf:params:xml:ns:xmpp-session").is_none()
	{
		s.iq("<iq type='set' id='{id}'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>", Duration::from_secs(60)).await?;
	}
	s.features = Some(features);
	s.send("<presence/>").await?;
	let roster = s.iq("<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'/></iq>", Duration::from_secs(60)).await?;
	Ok((s, roster))
}

async fn scram_sha1(s: &mut Session, user: &str, password: &str, keys: &std::cell::RefCell<KeyCache>) -> Result<(), Error> {
	scram_sha1_with(s, user, password, keys, None).await.map(|_| ())
}

/// SCRAM-SHA-1 over RFC 6120 SASL, or (`sasl2` = the inline elements) over
/// XEP-0388 SASL2; returns the `<success/>`.
pub async fn scram_sha1_with(
	s: &mut Session,
	user: &str,
	password: &str,
	keys: &std::cell::RefCell<KeyCache>,
	sasl2: Option<&str>,
) -> Result<Element, Error> {
	let ns = if sasl2.is_some() { SASL2 } else { SASL };
	let mut nonce = [0u8; 18];
	ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce).map_err(|_| "random")?;
	let cnonce = B64.encode(nonce);
	let first_bare = format!("n={user},r={cnonce}");
	let first = B64.encode(format!("n,,{first_bare}"));
	match sasl2 {
		None => s.send(&format!("<auth xmlns='{SASL}' mechanism='SCRAM-SHA-1'>{first}</auth>")).await?,
		Some(inline) => {
			s.send(&format!(
				"<authenticate xmlns='{SASL2}' mechanism='SCRAM-SHA-1'><initial-response>{first}</initial-response>{inline}</authenticate>"
			))
			.await?
		}
	}
	let ch = s.next(Duration::from_secs(60)).await?;
	if ch.name() != "challenge" {
		return Err(format!("SASL: {}", ch.to_xml("jabber:client")));
	}
	let server_first = String::from_utf8(B64.decode(ch.text().trim()).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
	let mut r = None;
	let mut salt = None;
	let mut iters = None;
	for part in server_first.split(',') {
		match part.split_at_checked(2) {
			Some(("r=", v)) => r = Some(v.to_string()),
			Some(("s=", v)) => salt = B64.decode(v).ok(),
			Some(("i=", v)) => iters = v.parse::<u32>().ok(),
			_ => {}
		}
	}
	let (Some(r), Some(salt), Some(iters)) = (r, salt, iters) else { return Err(format!("bad server-first {server_first}")) };
	if !r.starts_with(&cnonce) {
		return Err("server nonce does not extend ours".into());
	}
	let salted = {
		let mut cache = keys.borrow_mut();
		cache
			.keys
			.entry((salt.clone(), iters))
			.or_insert_with(|| {
				let mut out = vec![0u8; 20];
				let count = std::num::NonZeroU32::new(iters.max(1)).expect("max(1) is non-zero");
				pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA1, count, &salt, password.as_bytes(), &mut out);
				out
			})
			.clone()
	};
	let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salted);
	let client_key = hmac::sign(&key, b"Client Key");
	let stored = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, client_key.as_ref());
	let final_bare = format!("c=biws,r={r}");
	let auth_message = format!("{first_bare},{server_first},{final_bare}");
	let sig = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, stored.as_ref()), auth_message.as_bytes());
	let proof: Vec<u8> = client_key.as_ref().iter().zip(sig.as_ref()).map(|(a, b)| a ^ b).collect();
	s.send(&format!("<response xmlns='{ns}'>{}</response>", B64.encode(format!("{final_bare},p={}", B64.encode(proof))))).await?;
	let outcome = s.next(Duration::from_secs(60)).await?;
	if outcome.name() != "success" {
		return Err(format!("SASL failed: {}", outcome.to_xml("jabber:client")));
	}
	let data = match sasl2 {
		None => outcome.text(),
		Some(_) => outcome.child("additional-data", SASL2).map(|d| d.text()).unwrap_or_default(),
	};
	let v = String::from_utf8(B64.decode(data.trim()).map_err(|e| e.to_string())?).unwrap_or_default();
	let server_key = hmac::sign(&key, b"Server Key");
	let expect = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, server_key.as_ref()), auth_message.as_bytes());
	if v != format!("v={}", B64.encode(expect.as_ref())) {
		return Err("server signature does not verify".into());
	}
	Ok(outcome)
}
