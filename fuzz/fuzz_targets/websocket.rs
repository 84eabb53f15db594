//! XMPP over WebSocket (`net::ws`, RFC 7395): the frames a browser sends
//! through tungstenite with our settings, a client's message turned into
//! stream bytes (`<open/>` and `<close/>`), and our stream cut into
//! messages, each of which must be a well-formed document of its own.
#![no_main]

mod common;

use std::io::{self, Read, Write};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::{Role, WebSocket};
use libfuzzer_sys::fuzz_target;
use xerra::net::ws::{FRAMING, config, inbound, outbound};
use xerra::xmpp::reader::{StreamReader, XmlLimits, parse_stored};

/// The client's bytes to read; what we answer (pongs, closes) is dropped.
struct Wire<'a>(&'a [u8]);

impl Read for Wire<'_> {
	fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
		self.0.read(buf)
	}
}

impl Write for Wire<'_> {
	fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
		Ok(buf.len())
	}
	fn flush(&mut self) -> io::Result<()> {
		Ok(())
	}
}

const LIMITS: XmlLimits = XmlLimits { max_stanza_bytes: 10_000, max_depth: 8, max_attrs: 16, max_elements: 64 };

fuzz_target!(|data: &[u8]| {
	// As frames from a browser.
	let mut ws = WebSocket::from_raw_socket(Wire(data), Role::Server, Some(config(LIMITS)));
	let mut reader = StreamReader::new(LIMITS);
	for _ in 0..64 {
		match ws.read() {
			Ok(Message::Text(t)) => client_message(t.as_str(), &mut reader),
			Ok(_) => {}
			Err(_) => break,
		}
	}
	// As the text of one message.
	if let Ok(text) = std::str::from_utf8(data) {
		client_message(text, &mut StreamReader::new(LIMITS));
		// As our own output, cut into messages.
		let mut ours = StreamReader::new(XmlLimits::unlimited());
		let mut buf = data;
		while let Ok(Some(ev)) = ours.next(&mut buf) {
			let Some(message) = outbound(ev, Some("id'1")) else { continue };
			let doc = parse_stored(&message, FRAMING, XmlLimits::unlimited());
			assert!(doc.is_some(), "a message we send is not well-formed: {message}");
		}
	}
});

/// A client's message goes to the stream reader as plain stream bytes; an
/// `<open/>` must become a header the reader takes.
fn client_message(text: &str, reader: &mut StreamReader) {
	let bytes = inbound(text, LIMITS);
	if bytes != text {
		// An `<open/>` (a `<close/>` is a stream end, for any reader).
		if bytes == "</stream:stream>" {
			return;
		}
		assert!(bytes.starts_with("<?xml"), "{text} -> {bytes}");
		*reader = StreamReader::new(LIMITS);
		let mut buf = bytes.as_bytes();
		assert!(matches!(reader.next(&mut buf), Ok(Some(_))), "{bytes}");
		return;
	}
	let mut buf = bytes.as_bytes();
	while let Ok(Some(_)) = reader.next(&mut buf) {}
}
