//! Incremental reader of an XML stream (RFC 6120 §4): bytes in, stream
//! header / stanzas / end out, with Xerra's own limits, which rxml does not
//! have (stanza bytes, element depth, attributes per element, elements per
//! stanza).
//!
//! A stanza is bounded twice by `max_stanza_bytes`: as bytes on the wire and
//! as the memory its parse tree takes (every element's share of its parent's
//! child list, its attribute list, and any name, value, text or namespace
//! too long to be kept inline), because a few bytes of markup (`<a/>`) cost
//! a hundred bytes parsed. That memory is also charged to the server's
//! budget ([`crate::mem`]) while the stanza is being read; past it the stream
//! ends with `resource-constraint`.
//!
//! A stanza is a depth-1 child of `<stream:stream>`. One reader lives for one
//! stream; on a stream restart (after STARTTLS or SASL) the caller makes a new
//! one. Whitespace between stanzas (keepalives) is accepted and ignored.

use rxml::error::EndOrError;
use rxml::{Event, Options, Parse, Parser, WithOptions};

use super::element::{CompactString, Element, Namespace};
use super::error::{StreamCondition, StreamError};
use super::ns;
use crate::mem::{Charge, Class};

/// Size and shape limits for one stream; see `config::Limits` for defaults.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
	/// Largest stanza in bytes as received (RFC 6120 §13.12 asks for a limit).
	pub max_stanza_bytes: usize,
	/// Deepest element nesting inside a stanza (the stanza itself is depth 1).
	pub max_depth: usize,
	/// Most attributes on one element.
	pub max_attrs: usize,
	/// Most elements in one stanza (the stanza itself included).
	pub max_elements: usize,
}

impl XmlLimits {
	/// For data the server wrote itself (stored stanzas read back).
	pub const fn unlimited() -> XmlLimits {
		XmlLimits { max_stanza_bytes: usize::MAX, max_depth: 1000, max_attrs: usize::MAX, max_elements: usize::MAX }
	}
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
	/// Memory the current stanza's tree takes so far (see the module doc).
	heap: usize,
	/// Elements in the current stanza so far.
	elements: usize,
	/// `heap`, counted against the server's memory budget.
	charge: Charge,
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
		StreamReader { parser, limits, stack: Vec::new(), in_stream: false, pending: 0, heap: 0, elements: 0, charge: Charge::none() }
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
			return Err(too_big(self.limits.max_stanza_bytes));
		}
		Ok(())
	}

	/// Counts `more` bytes of parse tree for the current stanza.
	fn grow(&mut self, more: usize) -> Result<(), StreamError> {
		self.heap = self.heap.saturating_add(more);
		if self.heap > self.limits.max_stanza_bytes {
			return Err(too_big(self.limits.max_stanza_bytes));
		}
		self.charge
			.resize(self.heap, Class::Transit)
			.map_err(|_| StreamError::with_text(StreamCondition::ResourceConstraint, "the server is short of memory"))
	}

	/// The stanza is complete (or gone): its bytes are no longer the reader's.
	fn stanza_done(&mut self) {
		self.pending = 0;
		self.heap = 0;
		self.elements = 0;
		let _ = self.charge.resize(0, Class::Transit);
	}

	fn event(&mut self, event: Event) -> Result<Option<StreamEvent>, StreamError> {
		match event {
			Event::XmlDeclaration(..) => Ok(None),
			Event::StartElement(_, (ns, name), attrs) => {
				if !self.in_stream {
					return self.header(ns.as_str(), name.as_str(), attrs).map(Some);
				}
				// The XML namespace has no elements, and no writer can give it
				// one (it may not be a default namespace).
				if ns.as_str() == ns::XML {
					return Err(StreamError::with_text(StreamCondition::BadFormat, "no element may be in the xml namespace"));
				}
				if self.stack.len() >= self.limits.max_depth {
					return Err(StreamError::with_text(StreamCondition::PolicyViolation, "elements nested too deep"));
				}
				if attrs.len() > self.limits.max_attrs {
					return Err(StreamError::with_text(StreamCondition::PolicyViolation, "too many attributes"));
				}
				self.elements += 1;
				if self.elements > self.limits.max_elements {
					return Err(StreamError::with_text(StreamCondition::PolicyViolation, "too many elements in one stanza"));
				}
				// A namespace is one shared string per declaration: count it
				// where it is declared, not where it is inherited.
				let inherited = self.stack.last().is_some_and(|p| p.ns().as_ptr() == ns.as_str().as_ptr());
				let ns = shared(ns);
				let mut cost = if inherited || crate::xmpp::ns::known(ns.as_str()).is_some() { 0 } else { ns.len() + 16 };
				let mut el = Element::new_in(name.as_str(), ns);
				cost += spilled(name.as_str()) + attrs.len() * std::mem::size_of::<(CompactString, CompactString)>();
				for ((ans, aname), value) in attrs {
					if ans.is_empty() {
						cost += spilled(aname.as_str()) + spilled(&value);
						el.set_attr(aname.as_str(), value);
					} else if ans.as_str() == ns::XML {
						cost += spilled(&value);
						el.set_attr(&format!("xml:{}", aname.as_str()), value);
					} else {
						let key = format!("{{{}}}{}", ans.as_str(), aname.as_str());
						cost += spilled(&key) + spilled(&value);
						el.set_attr(&key, value);
					}
				}
				self.grow(cost)?;
				self.stack.push(el);
				Ok(None)
			}
			Event::Text(_, text) => {
				let Some(top) = self.stack.last_mut() else {
					// Whitespace between stanzas: a keepalive, not stanza bytes.
					self.pending = 0;
					return Ok(None);
				};
				let before = heap_of(top);
				top.push_text(&text);
				let after = heap_of(top);
				self.grow(after.saturating_sub(before))?;
				Ok(None)
			}
			Event::EndElement(_) => {
				let Some(el) = self.stack.pop() else {
					self.in_stream = false;
					return Ok(Some(StreamEvent::End));
				};
				match self.stack.last_mut() {
					Some(parent) => {
						let before = heap_of(parent);
						parent.push(el);
						let after = heap_of(parent);
						self.grow(after.saturating_sub(before))?;
						Ok(None)
					}
					None => {
						self.stanza_done();
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

fn too_big(limit: usize) -> StreamError {
	StreamError::with_text(StreamCondition::PolicyViolation, format!("stanza larger than {limit} bytes"))
}

/// Heap bytes of a string kept as a `CompactString`: none when inline.
fn spilled(s: &str) -> usize {
	if s.len() > std::mem::size_of::<CompactString>() { s.len() } else { 0 }
}

/// What grows in an element as children and text are added to it.
fn heap_of(el: &Element) -> usize {
	el.growing_bytes()
}

/// A known namespace as a static string; others as the parser's shared one.
fn shared(ns: rxml::Namespace<'static>) -> Namespace {
	match crate::xmpp::ns::known(ns.as_str()) {
		Some(s) => Namespace::from_str(s),
		None => ns,
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

	const LIMITS: XmlLimits = XmlLimits { max_stanza_bytes: 2000, max_depth: 4, max_attrs: 3, max_elements: 50 };
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
	fn inherited_namespaces_are_shared_and_parsed_memory_is_bounded() {
		let limits = XmlLimits { max_stanza_bytes: 16 * 1024, max_depth: 8, max_attrs: 8, max_elements: 10_000 };
		let long = "n".repeat(4000);
		// Small: a few children share one copy of the long namespace.
		let mut r = StreamReader::new(limits);
		let doc = format!("{HEADER}<iq xmlns='urn:{long}'><a/><a/><b><c/></b></iq>");
		let evs = feed_all(&mut r, doc.as_bytes(), 100).unwrap();
		let StreamEvent::Stanza(iq) = &evs[1] else { panic!() };
		let kids: Vec<&Element> = iq.children().collect();
		assert!(kids.iter().all(|k| k.ns().as_ptr() == iq.ns().as_ptr()));
		assert_eq!(kids[2].children().next().unwrap().ns().as_ptr(), iq.ns().as_ptr());
		// 15.7 KB on the wire, but 2,900 elements parsed: too big (issue 11).
		let mut r = StreamReader::new(limits);
		let doc = format!("{HEADER}<iq xmlns='urn:{long}'>{}", "<a/>".repeat(2900));
		let err = feed_all(&mut r, doc.as_bytes(), 4096).unwrap_err();
		assert_eq!(err.condition, StreamCondition::PolicyViolation);
		// Text counts what it takes, not twice: a body just under the
		// limit is fine in any chunking.
		for chunk in [7, 1000, 4096] {
			let mut r = StreamReader::new(limits);
			let doc = format!("{HEADER}<message><body>{}</body></message>", "x".repeat(15_000));
			let evs = feed_all(&mut r, doc.as_bytes(), chunk).unwrap();
			assert_eq!(evs.len(), 2, "chunk {chunk}");
		}
	}

	#[test]
	fn element_count_limit() {
		let limits = XmlLimits { max_stanza_bytes: 1 << 20, max_depth: 8, max_attrs: 8, max_elements: 10 };
		let mut r = StreamReader::new(limits);
		let doc = format!("{HEADER}<iq>{}</iq><iq>{}</iq>", "<a/>".repeat(9), "<a/>".repeat(10));
		let mut input = doc.as_bytes();
		let mut got = 0;
		let err = loop {
			match r.next(&mut input) {
				Ok(Some(_)) => got += 1,
				Ok(None) => panic!("should fail"),
				Err(e) => break e,
			}
		};
		assert_eq!(got, 2, "header and the first iq (10 elements)");
		assert_eq!(err.condition, StreamCondition::PolicyViolation);
	}

	#[test]
	fn a_stanza_being_read_is_charged_to_the_memory_budget() {
		crate::mem::set_limit(usize::MAX);
		let base = crate::mem::used();
		let limits = XmlLimits { max_stanza_bytes: 1 << 20, max_depth: 8, max_attrs: 8, max_elements: 10_000 };
		let mut r = StreamReader::new(limits);
		let doc = format!("{HEADER}<message><body>{}", "x".repeat(50_000));
		feed_all(&mut r, doc.as_bytes(), 4096).unwrap();
		assert!(crate::mem::used() >= base + 50_000);
		feed_all(&mut r, b"</body></message>", 4096).unwrap();
		assert_eq!(crate::mem::used(), base, "released once the stanza is handed out");
		// With no room left, reading a big stanza ends the stream.
		crate::mem::set_limit(base + 10_000);
		let mut r = StreamReader::new(limits);
		let err = feed_all(&mut r, doc.as_bytes(), 4096).unwrap_err();
		assert_eq!(err.condition, StreamCondition::ResourceConstraint);
		crate::mem::set_limit(usize::MAX);
	}

	#[test]
	fn an_element_in_the_xml_namespace_is_bad_format() {
		// Found by fuzz/websocket: `<xml:x/>` parsed, but no writer may
		// make the XML namespace a default one (Namespaces in XML §3), so
		// every copy we sent on or stored of it was XML no reader takes.
		let mut r = StreamReader::new(LIMITS);
		let doc = format!("{HEADER}<message><body>hi</body><xml:x/></message>");
		assert_eq!(feed_all(&mut r, doc.as_bytes(), 7).unwrap_err().condition, StreamCondition::BadFormat);
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
