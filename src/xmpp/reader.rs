//! Incremental reader of an XML stream (RFC 6120 §4): bytes in, stream
//! header / stanzas / end out, with Xerra's own limits, which rxml does not
//! have (stanza bytes, element depth, attributes per element).
//!
//! A stanza is a depth-1 child of `<stream:stream>`. One reader lives for one
//! stream; on a stream restart (after STARTTLS or SASL) the caller makes a new
//! one. Whitespace between stanzas (keepalives) is accepted and ignored.

use rxml::error::EndOrError;
use rxml::{Event, Options, Parse, Parser, WithOptions};

use super::element::Element;
use super::error::{StreamCondition, StreamError};
use super::ns;

/// Size and shape limits for one stream; see `config::Limits` for defaults.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
	/// Largest stanza in bytes as received (RFC 6120 §13.12 asks for a limit).
	pub max_stanza_bytes: usize,
	/// Deepest element nesting inside a stanza (the stanza itself is depth 1).
	pub max_depth: usize,
	/// Most attributes on one element.
	pub max_attrs: usize,
}

/// Attributes of the stream header the server needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamHeader {
	pub id: Option<String>,
	pub to: Option<String>,
	pub from: Option<String>,
	pub version: Option<String>,
	pub lang: Option<String>,
}

/// What the reader produced.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent {
	Header(StreamHeader),
	Stanza(Element),
	/// `</stream:stream>` from the peer.
	End,
}

pub struct StreamReader {
	parser: Parser,
	limits: XmlLimits,
	/// Elements open inside the current stanza; empty between stanzas.
	stack: Vec<Element>,
	/// True once `<stream:stream>` was read.
	in_stream: bool,
	/// Bytes consumed since the current stanza began (or since the last
	/// boundary), so oversized input is caught before it is all buffered.
	pending: usize,
}

impl StreamReader {
	pub fn new(limits: XmlLimits) -> StreamReader {
		// Bounds names and attribute values; long text is split into chunks.
		let options = Options { max_token_length: 4096, ..Options::default() };
		let mut parser = Parser::with_options(options);
		// Emit text as it arrives, so keepalive whitespace between stanzas is
		// seen (and forgotten) at once instead of being buffered as if it
		// were stanza bytes.
		parser.set_text_buffering(false);
		StreamReader { parser, limits, stack: Vec::new(), in_stream: false, pending: 0 }
	}

	/// Reads the next event from `buf`, advancing it. `Ok(None)` means all of
	/// `buf` was used and more input is needed.
	pub fn next(&mut self, buf: &mut &[u8]) -> Result<Option<StreamEvent>, StreamError> {
		loop {
			let before = buf.len();
			let result = self.parser.parse(buf, false);
			self.pending += before - buf.len();
			let event = match result {
				Err(EndOrError::NeedMoreData) => {
					self.check_pending()?;
					return Ok(None);
				}
				Err(EndOrError::Error(e)) => return Err(map_rxml_error(&e)),
				Ok(None) => return Ok(Some(StreamEvent::End)),
				Ok(Some(ev)) => ev,
			};
			if let Some(out) = self.event(event)? {
				return Ok(Some(out));
			}
			self.check_pending()?;
		}
	}

	/// New limits from the next stanza on (a stream that authenticated
	/// without a restart, XEP-0114).
	pub fn set_limits(&mut self, limits: XmlLimits) {
		self.limits = limits;
	}

	/// True when no stanza is half read.
	pub fn is_between_stanzas(&self) -> bool {
		self.stack.is_empty()
	}

	/// Frees scratch memory (keeping any partial input); worth doing
	/// between stanzas, since most connections are idle most of the time.
	pub fn release_temporaries(&mut self) {
		self.parser.release_temporaries();
		if self.stack.is_empty() {
			self.stack = Vec::new();
		}
	}

	fn check_pending(&self) -> Result<(), StreamError> {
		if self.pending > self.limits.max_stanza_bytes {
			return Err(StreamError::with_text(
				StreamCondition::PolicyViolation,
				format!("stanza larger than {} bytes", self.limits.max_stanza_bytes),
			));
		}
		Ok(())
	}

	fn event(&mut self, event: Event) -> Result<Option<StreamEvent>, StreamError> {
		match event {
			Event::XmlDeclaration(..) => Ok(None),
			Event::StartElement(_, (ns, name), attrs) => {
				if !self.in_stream {
					return self.header(ns.as_str(), name.as_str(), attrs).map(Some);
				}
				if self.stack.len() >= self.limits.max_depth {
					return Err(StreamError::with_text(StreamCondition::PolicyViolation, "elements nested too deep"));
				}
				if attrs.len() > self.limits.max_attrs {
					return Err(StreamError::with_text(StreamCondition::PolicyViolation, "too many attributes"));
				}
				let mut el = Element::new(name.as_str(), ns.as_str());
				for ((ans, aname), value) in attrs {
					if ans.is_empty() {
						el.set_attr(aname.as_str(), value);
					} else if ans.as_str() == ns::XML {
						el.set_attr(&format!("xml:{}", aname.as_str()), value);
					} else {
						el.set_attr(&format!("{{{}}}{}", ans.as_str(), aname.as_str()), value);
					}
				}
				self.stack.push(el);
				Ok(None)
			}
			Event::Text(_, text) => {
				match self.stack.last_mut() {
					Some(top) => top.push_text(&text),
					// Whitespace between stanzas: a keepalive, not stanza bytes.
					None => self.pending = 0,
				}
				Ok(None)
			}
			Event::EndElement(_) => {
				let Some(el) = self.stack.pop() else {
					self.in_stream = false;
					return Ok(Some(StreamEvent::End));
				};
				match self.stack.last_mut() {
					Some(parent) => {
						parent.push(el);
						Ok(None)
					}
					None => {
						self.pending = 0;
						Ok(Some(StreamEvent::Stanza(el)))
					}
				}
			}
		}
	}

	fn header(&mut self, ns: &str, name: &str, attrs: rxml::AttrMap) -> Result<StreamEvent, StreamError> {
		if ns != ns::STREAM {
			return Err(StreamError::with_text(
				StreamCondition::InvalidNamespace,
				"stream namespace must be http://etherx.jabber.org/streams",
			));
		}
		if name != "stream" {
			return Err(StreamError::with_text(StreamCondition::BadFormat, "root element must be stream"));
		}
		let mut header = StreamHeader::default();
		for ((ans, aname), value) in attrs {
			match (ans.as_str(), aname.as_str()) {
				("", "id") => header.id = Some(value),
				("", "to") => header.to = Some(value),
				("", "from") => header.from = Some(value),
				("", "version") => header.version = Some(value),
				(ns::XML, "lang") => header.lang = Some(value),
				_ => {}
			}
		}
		self.in_stream = true;
		self.pending = 0;
		Ok(StreamEvent::Header(header))
	}
}

fn map_rxml_error(e: &rxml::Error) -> StreamError {
	match e {
		rxml::Error::RestrictedXml(what) if what.contains("long") => {
			StreamError::with_text(StreamCondition::PolicyViolation, "name or attribute value too long")
		}
		rxml::Error::RestrictedXml(what) => StreamError::with_text(StreamCondition::RestrictedXml, format!("{what} are not allowed")),
		other => StreamError::with_text(StreamCondition::NotWellFormed, other.to_string()),
	}
}

/// Parses one element as `Element::to_xml(default_ns)` wrote it (stored
/// data read back), through the same reader and limits as the network.
pub fn parse_stored(xml: &str, default_ns: &str, limits: XmlLimits) -> Option<Element> {
	let mut r = StreamReader::new(limits);
	let header = format!("<stream:stream xmlns='{default_ns}' xmlns:stream='http://etherx.jabber.org/streams'>");
	let mut buf = header.as_bytes();
	let Ok(Some(StreamEvent::Header(_))) = r.next(&mut buf) else { return None };
	let mut buf = xml.as_bytes();
	match r.next(&mut buf) {
		Ok(Some(StreamEvent::Stanza(el))) => Some(el),
		_ => None,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const LIMITS: XmlLimits = XmlLimits { max_stanza_bytes: 1000, max_depth: 4, max_attrs: 3 };
	const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
		xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0' xml:lang='en'>";

	fn feed_all(r: &mut StreamReader, input: &[u8], chunk: usize) -> Result<Vec<StreamEvent>, StreamError> {
		let mut out = Vec::new();
		for mut piece in input.chunks(chunk) {
			while let Some(ev) = r.next(&mut piece)? {
				out.push(ev);
			}
		}
		Ok(out)
	}

	#[test]
	fn header_stanzas_and_end_in_any_chunking() {
		let doc = format!(
			"{HEADER} <message to='a@b'><body>hi &amp; bye</body></message>\n<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq></stream:stream>"
		);
		for chunk in [1, 3, 7, 64, 4096] {
			let mut r = StreamReader::new(LIMITS);
			let evs = feed_all(&mut r, doc.as_bytes(), chunk).unwrap();
			assert_eq!(evs.len(), 4, "chunk {chunk}");
			let StreamEvent::Header(h) = &evs[0] else { panic!() };
			assert_eq!(h.to.as_deref(), Some("example.org"));
			assert_eq!(h.lang.as_deref(), Some("en"));
			let StreamEvent::Stanza(m) = &evs[1] else { panic!() };
			assert!(m.is("message", ns::CLIENT));
			assert_eq!(m.child("body", ns::CLIENT).unwrap().text(), "hi & bye");
			let StreamEvent::Stanza(iq) = &evs[2] else { panic!() };
			assert!(iq.child("ping", ns::PING).is_some());
			assert_eq!(evs[3], StreamEvent::End);
		}
	}

	#[test]
	fn oversized_stanza_is_policy_violation_before_it_completes() {
		let mut r = StreamReader::new(LIMITS);
		let doc = format!("{HEADER}<message><body>{}", "x".repeat(2000));
		let err = feed_all(&mut r, doc.as_bytes(), 100).unwrap_err();
		assert_eq!(err.condition, StreamCondition::PolicyViolation);
	}

	#[test]
	fn many_small_stanzas_are_fine() {
		let mut r = StreamReader::new(LIMITS);
		let doc = format!("{HEADER}{}", "<presence/>   ".repeat(500));
		assert_eq!(feed_all(&mut r, doc.as_bytes(), 512).unwrap().len(), 501);
	}

	#[test]
	fn depth_and_attribute_limits() {
		let mut r = StreamReader::new(LIMITS);
		let doc = format!("{HEADER}<a><b><c><d><e/></d></c></b></a>");
		assert_eq!(feed_all(&mut r, doc.as_bytes(), 10).unwrap_err().condition, StreamCondition::PolicyViolation);
		let mut r = StreamReader::new(LIMITS);
		let doc = format!("{HEADER}<a w='1' x='2' y='3' z='4'/>");
		assert_eq!(feed_all(&mut r, doc.as_bytes(), 10).unwrap_err().condition, StreamCondition::PolicyViolation);
	}

	#[test]
	fn bad_input_maps_to_stream_conditions() {
		let cases: [(&str, StreamCondition); 5] = [
			("<stream:stream xmlns:stream='urn:wrong'>", StreamCondition::InvalidNamespace),
			("<stream xmlns='http://etherx.jabber.org/streams'><a></b>", StreamCondition::NotWellFormed),
			("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><!-- c -->", StreamCondition::RestrictedXml),
			// rxml reports a DTD as a syntax error rather than a restriction.
			("<?xml version='1.0'?><!DOCTYPE x>", StreamCondition::NotWellFormed),
			("<stream:foo xmlns:stream='http://etherx.jabber.org/streams'>", StreamCondition::BadFormat),
		];
		for (doc, want) in cases {
			let mut r = StreamReader::new(LIMITS);
			let got = feed_all(&mut r, doc.as_bytes(), 5).unwrap_err().condition;
			assert_eq!(got, want, "{doc}");
		}
	}

	#[test]
	fn keepalive_whitespace_does_not_accumulate() {
		let mut r = StreamReader::new(LIMITS);
		let mut doc = HEADER.to_string();
		doc.push_str(&" ".repeat(5000));
		doc.push_str("<presence/>");
		assert_eq!(feed_all(&mut r, doc.as_bytes(), 200).unwrap().len(), 2);
	}
}
