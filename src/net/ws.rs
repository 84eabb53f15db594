//! RFC 7395 XMPP over WebSocket, for browser clients (Converse.js and the
//! like). async-tungstenite does the WebSocket framing; this file turns the
//! framed protocol into the byte stream the connection code already speaks
//! and back: a client's `<open/>` becomes our stream header, `<close/>` the
//! stream end, and each element we write goes out as one message with its
//! namespaces declared (§3.3). The HTTP upgrade itself is `http::upload`'s.

use std::io;

use async_net::TcpStream;
use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use futures_lite::StreamExt as _;
use futures_rustls::server::TlsStream;

use crate::xmpp::element::{Element, escape_attr};
use crate::xmpp::ns;
use crate::xmpp::reader::{StreamEvent, StreamReader, XmlLimits, parse_stored};

/// RFC 7395 §3.3.1: the framing namespace.
pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";

/// The Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
	let mut input = key.trim().as_bytes().to_vec();
	input.extend_from_slice(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
	let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
	base64::Engine::encode(&base64::engine::general_purpose::STANDARD, digest.as_ref())
}

pub struct Ws {
	/// Always there but while [`Ws::lift_limits`] replaces it.
	stream: Option<WebSocketStream<TlsStream<TcpStream>>>,
	/// Bytes of the last message not yet read.
	pending: Vec<u8>,
	/// Parses what we write, to cut it into messages; new for every stream header.
	out: Option<StreamReader>,
	limits: XmlLimits,
}

impl Ws {
	/// The TLS version under the WebSocket.
	pub fn tls_version(&self) -> Option<futures_rustls::rustls::ProtocolVersion> {
		self.stream.as_ref()?.get_ref().get_ref().1.protocol_version()
	}

	/// Takes over a TLS connection that has answered the upgrade with 101;
	/// `limits` are those before login: a message is one stanza (RFC 7395
	/// §3.3.3), and the library holds a message until it is whole, so before
	/// login it may be no bigger than a stanza before login.
	pub async fn new(tls: TlsStream<TcpStream>, limits: XmlLimits) -> Ws {
		let stream = WebSocketStream::from_raw_socket(tls, Role::Server, Some(config(limits))).await;
		Ws { stream: Some(stream), pending: Vec::new(), out: None, limits }
	}

	/// After login: messages as big as a stanza may be. The library cannot
	/// change a stream's limits, so the connection gets a new WebSocket state;
	/// nothing is lost, since the client waits for our SASL success before it
	/// sends more (RFC 6120 §6.4.6).
	pub async fn lift_limits(&mut self, limits: XmlLimits) {
		self.limits = limits;
		if let Some(old) = self.stream.take() {
			self.stream = Some(WebSocketStream::from_raw_socket(old.into_inner(), Role::Server, Some(config(limits))).await);
		}
	}

	fn stream(&mut self) -> &mut WebSocketStream<TlsStream<TcpStream>> {
		self.stream.as_mut().expect("the stream is back once lift_limits returns")
	}

	/// Waits for the client's next message (as bytes of a plain stream);
	/// false once the WebSocket is closed.
	pub async fn fill(&mut self) -> io::Result<bool> {
		while self.pending.is_empty() {
			match self.stream().next().await {
				None | Some(Ok(Message::Close(_))) => return Ok(false),
				Some(Ok(Message::Text(t))) => self.pending = inbound(t.as_str(), self.limits).into_bytes(),
				Some(Ok(Message::Binary(_))) => {
					return Err(io::Error::new(io::ErrorKind::InvalidData, "binary WebSocket messages are not XMPP"));
				}
				Some(Ok(_)) => {} // pings are answered by tungstenite
				Some(Err(e)) => return Err(io::Error::other(e)),
			}
		}
		Ok(true)
	}

	/// Moves what `fill` got into `buf`.
	pub fn take(&mut self, buf: &mut [u8]) -> usize {
		super::transport::take_pending(&mut self.pending, buf)
	}

	/// Writes our bytes as messages, one per top-level element.
	pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
		if bytes.starts_with(b"<?xml") {
			self.out = Some(StreamReader::new(self.limits));
		}
		let header_id = super::transport::header_id(bytes);
		let mut rest = bytes;
		let mut messages = Vec::new();
		if let Some(reader) = &mut self.out {
			loop {
				match reader.next(&mut rest) {
					Ok(Some(ev)) => messages.push(outbound(ev, header_id.as_deref())),
					Ok(None) => break,
					Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
				}
			}
		}
		for m in messages.into_iter().flatten() {
			self.stream().send(Message::text(m)).await.map_err(io::Error::other)?;
		}
		Ok(())
	}

	pub async fn close(&mut self) {
		let _ = self.stream().close(None).await;
	}
}

/// Small buffers: an idle browser tab should cost little (tungstenite's
/// defaults are 128 KiB each way); a message at most a stanza. Public for
/// the fuzz target `websocket`.
pub fn config(limits: XmlLimits) -> WebSocketConfig {
	WebSocketConfig::default()
		.read_buffer_size(4096)
		.write_buffer_size(0)
		.max_write_buffer_size(limits.max_stanza_bytes.saturating_mul(2))
		.max_message_size(Some(limits.max_stanza_bytes))
		.max_frame_size(Some(limits.max_stanza_bytes))
}

/// A client's message as bytes of a plain stream (RFC 7395 §3.3).
pub fn inbound(text: &str, limits: XmlLimits) -> String {
	let head = text.trim_start();
	if head.starts_with("<open") || head.starts_with("<close") {
		let el = parse_stored(text, FRAMING, XmlLimits { max_stanza_bytes: usize::MAX, ..limits });
		match el {
			Some(el) if el.is("open", FRAMING) => {
				let to = el.attr("to").map(|t| format!(" to='{}'", escape_attr(t))).unwrap_or_default();
				let version = el.attr("version").unwrap_or("1.0");
				return format!(
					"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='{}'{to} version='{}'>",
					ns::STREAM,
					escape_attr(version)
				);
			}
			Some(el) if el.is("close", FRAMING) => return "</stream:stream>".to_owned(),
			_ => {}
		}
	}
	text.to_owned()
}

/// One event of our output as a WebSocket message (None: nothing to send).
pub fn outbound(ev: StreamEvent, id: Option<&str>) -> Option<String> {
	match ev {
		StreamEvent::Header(h) => Some(format!(
			"<open xmlns='{FRAMING}' from='{}' id='{}' version='1.0' xml:lang='en'/>",
			escape_attr(h.from.as_deref().unwrap_or_default()),
			escape_attr(id.unwrap_or_default())
		)),
		StreamEvent::End => Some(format!("<close xmlns='{FRAMING}'/>")),
		StreamEvent::Stanza(el) if el.ns() == ns::STREAM => Some(stream_element(&el)),
		StreamEvent::Stanza(el) => Some(el.to_xml("")),
	}
}

/// `<stream:features/>` and `<stream:error/>` keep their usual prefix, declared
/// (clients look for them by that name).
fn stream_element(el: &Element) -> String {
	let mut s = format!("<stream:{} xmlns:stream='{}'>", el.name(), ns::STREAM);
	for child in el.children() {
		s.push_str(&child.to_xml(""));
	}
	s.push_str(&format!("</stream:{}>", el.name()));
	s
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn rfc_6455_accept_key() {
		assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	}

	#[test]
	fn framing_both_ways() {
		let limits = XmlLimits { max_stanza_bytes: 1 << 16, max_depth: 20, max_attrs: 20, max_elements: 64 };
		let open = inbound("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' version='1.0'/>", limits);
		assert!(open.starts_with("<?xml") && open.contains("to='example.org'"), "{open}");
		assert_eq!(inbound("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>", limits), "</stream:stream>");
		let mut r = StreamReader::new(limits);
		let ours = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='example.org' version='1.0'><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features><message to='a@example.org'><body>hi</body></message></stream:stream>";
		let mut rest = &ours[..];
		let mut got = Vec::new();
		while let Ok(Some(ev)) = r.next(&mut rest) {
			got.extend(outbound(ev, Some("abc")));
		}
		assert!(got[0].starts_with("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.org' id='abc'"), "{got:?}");
		assert!(got[1].starts_with("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns="), "{got:?}");
		assert!(got[2].starts_with("<message xmlns='jabber:client'"), "{got:?}");
		assert_eq!(got[3], "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
	}
}
