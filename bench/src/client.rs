//! An async XMPP client that logs in the way real clients do:
//! TCP, stream, STARTTLS, TLS, stream, SCRAM-SHA-1 (server signature
//! checked), stream, bind, session if the server requires it, initial
//! presence, roster get. Any server with users PREFIXn / PASSWORD will do.

use std::time::Duration;

use async_net::TcpStream;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use futures_rustls::rustls;
use futures_rustls::rustls::pki_types::ServerName;
use ring::{digest, hmac, pbkdf2};
use xerra::xmpp::element::Element;
use xerra::xmpp::reader::{StreamEvent, StreamReader, XmlLimits};

const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

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
				if n == 0 {
					return Err("server closed the connection".to_string());
				}
				let mut bytes = &self.buf[..n];
				loop {
					match self.reader.next(&mut bytes) {
						Ok(Some(StreamEvent::Stanza(el))) => self.queue.push_back(el),
						Ok(Some(StreamEvent::Header(_))) => {}
						Ok(Some(StreamEvent::End)) => return Err("server ended the stream".to_string()),
						Ok(None) => break,
						Err(e) => return Err(format!("bad XML from server: {e}")),
					}
				}
			}
		};
		read.or(async {
			async_io::Timer::after(timeout).await;
			Err("timed out".to_string())
		})
		.await
	}

	async fn open(&mut self, domain: &str) -> Result<Element, Error> {
		self.reader = StreamReader::new(limits());
		self.send(&format!(
			"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
		))
		.await?;
		let f = self.next(Duration::from_secs(60)).await?;
		if f.name() != "features" {
			return Err(format!("expected features, got {}", f.name()));
		}
		Ok(f)
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
		let _ = self.send("</stream:stream>").await;
		if let Io::Tls(s) = &mut self.io {
			let _ = s.close().await;
		}
		self.io = Io::Gone;
	}
}

/// Logs in user `n` and returns the session with the roster result.
pub async fn login(t: &Target, n: usize, tls: &TlsConnector, keys: &std::cell::RefCell<KeyCache>) -> Result<(Session, Element), Error> {
	let tcp = TcpStream::connect((t.host.as_str(), t.port)).await.map_err(|e| format!("connect: {e}"))?;
	let _ = tcp.set_nodelay(true);
	let mut s = Session {
		io: Io::Plain(tcp),
		reader: StreamReader::new(limits()),
		buf: vec![0; 4096],
		queue: Default::default(),
		jid: String::new(),
		next_id: 0,
	};
	s.open(&t.domain).await?;
	s.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
	let p = s.next(Duration::from_secs(60)).await?;
	if p.name() != "proceed" {
		return Err(format!("STARTTLS refused: {}", p.name()));
	}
	let Io::Plain(tcp) = std::mem::replace(&mut s.io, Io::Gone) else { unreachable!("plain before STARTTLS") };
	let name = ServerName::try_from(t.domain.clone()).map_err(|e| e.to_string())?;
	let tls_stream = tls.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
	s.io = Io::Tls(Box::new(tls_stream));
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
	s.send("<presence/>").await?;
	let roster = s.iq("<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'/></iq>", Duration::from_secs(60)).await?;
	Ok((s, roster))
}

async fn scram_sha1(s: &mut Session, user: &str, password: &str, keys: &std::cell::RefCell<KeyCache>) -> Result<(), Error> {
	let mut nonce = [0u8; 18];
	ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce).map_err(|_| "random")?;
	let cnonce = B64.encode(nonce);
	let first_bare = format!("n={user},r={cnonce}");
	s.send(&format!("<auth xmlns='{SASL}' mechanism='SCRAM-SHA-1'>{}</auth>", B64.encode(format!("n,,{first_bare}")))).await?;
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
	s.send(&format!("<response xmlns='{SASL}'>{}</response>", B64.encode(format!("{final_bare},p={}", B64.encode(proof))))).await?;
	let outcome = s.next(Duration::from_secs(60)).await?;
	if outcome.name() != "success" {
		return Err(format!("SASL failed: {}", outcome.to_xml("jabber:client")));
	}
	let v = String::from_utf8(B64.decode(outcome.text().trim()).map_err(|e| e.to_string())?).unwrap_or_default();
	let server_key = hmac::sign(&key, b"Server Key");
	let expect = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, server_key.as_ref()), auth_message.as_bytes());
	if v != format!("v={}", B64.encode(expect.as_ref())) {
		return Err("server signature does not verify".into());
	}
	Ok(())
}
