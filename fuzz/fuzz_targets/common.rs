//! Shared by the fuzz targets: chunkings, stream reading and the checks that
//! what we parsed writes back as the same XML.
#![allow(dead_code)]

use xerra::xmpp::element::{Element, Node};
use xerra::xmpp::error::StreamError;
use xerra::xmpp::reader::{StreamEvent, StreamReader, XmlLimits, parse_stored};

/// The limits before login (`net::c2s::pre_auth_limits` at default settings).
pub const PRE_AUTH: XmlLimits = XmlLimits { max_stanza_bytes: 16 * 1024, max_depth: 8, max_attrs: 16, max_elements: 64 };
/// The limits after login at default settings.
pub const FULL: XmlLimits = XmlLimits { max_stanza_bytes: 262_144, max_depth: 32, max_attrs: 64, max_elements: 2048 };
/// Small enough that the fuzzer reaches every limit.
pub const TINY: XmlLimits = XmlLimits { max_stanza_bytes: 600, max_depth: 4, max_attrs: 3, max_elements: 12 };

/// A small deterministic generator (xorshift), seeded by the input.
pub struct Rng(u64);

impl Rng {
	pub fn new(seed: u64) -> Rng {
		Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
	}

	pub fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}

	/// A number in 1..=max.
	pub fn size(&mut self, max: usize) -> usize {
		1 + (self.next() % max as u64) as usize
	}
}

/// Cuts `input` into pieces as a network might deliver it.
pub fn chunks(input: &[u8], seed: u64) -> Vec<&[u8]> {
	let mut rng = Rng::new(seed);
	// Mostly small pieces, sometimes large ones.
	let max = [1, 3, 17, 64, 4096][(rng.next() % 5) as usize];
	let mut out = Vec::new();
	let mut rest = input;
	while !rest.is_empty() {
		let (piece, tail) = rest.split_at(rng.size(max).min(rest.len()));
		out.push(piece);
		rest = tail;
	}
	out
}

/// Everything a reader makes of `pieces`, up to its first error.
pub fn read_all(pieces: &[&[u8]], limits: XmlLimits) -> (Vec<StreamEvent>, Option<StreamError>) {
	let mut r = StreamReader::new(limits);
	let mut events = Vec::new();
	for piece in pieces {
		let mut buf = *piece;
		loop {
			match r.next(&mut buf) {
				Ok(Some(ev)) => {
					let end = ev == StreamEvent::End;
					events.push(ev);
					if end {
						return (events, None);
					}
				}
				Ok(None) => break,
				Err(e) => return (events, Some(e)),
			}
		}
		assert!(buf.is_empty(), "the reader asks for more input only once it used all it had");
		if r.is_between_stanzas() {
			r.release_temporaries();
		}
	}
	(events, None)
}

/// What a stored or forwarded copy of `el` reads back as: our writer's
/// output must be well-formed and mean the same element.
pub fn written_back(el: &Element) -> Element {
	let xml = el.to_xml("");
	match parse_stored(&xml, "", XmlLimits::unlimited()) {
		Some(again) => again,
		None => panic!("our serialisation does not parse back:\n{el:?}\n{xml}"),
	}
}

/// Asserts that `el` writes back as itself.
pub fn round_trip(el: &Element) {
	let again = written_back(el);
	assert!(same(&again, el), "written back differently:\n{}\n{again:?}\n{el:?}", el.to_xml(""));
}

/// Equal as XML: attribute order does not count (a parser sorts them),
/// nor how text is split into nodes.
pub fn same(a: &Element, b: &Element) -> bool {
	fn attrs(e: &Element) -> Vec<(&str, &str)> {
		let mut v: Vec<(&str, &str)> = e.attrs().collect();
		v.sort();
		v
	}
	let (ka, kb) = (content(a), content(b));
	a.name() == b.name()
		&& a.ns() == b.ns()
		&& attrs(a) == attrs(b)
		&& ka.len() == kb.len()
		&& ka.iter().zip(&kb).all(|pair| match pair {
			(Content::Element(x), Content::Element(y)) => same(x, y),
			(Content::Text(x), Content::Text(y)) => x == y,
			_ => false,
		})
}

enum Content<'a> {
	Element(&'a Element),
	Text(String),
}

/// Children with adjacent texts joined and empty ones left out.
fn content(e: &Element) -> Vec<Content<'_>> {
	let mut out = Vec::new();
	for n in e.nodes() {
		match (n, out.last_mut()) {
			(Node::Text(t), _) if t.is_empty() => {}
			(Node::Text(t), Some(Content::Text(last))) => last.push_str(t),
			(Node::Text(t), _) => out.push(Content::Text(t.to_string())),
			(Node::Element(c), _) => out.push(Content::Element(c)),
		}
	}
	out
}

/// Checks that a stream of text we wrote is well-formed: a fresh reader
/// for each stream header, as the peer would have.
pub struct OutputCheck {
	reader: Option<StreamReader>,
}

impl OutputCheck {
	pub fn new() -> OutputCheck {
		OutputCheck { reader: None }
	}

	pub fn write(&mut self, text: &str) {
		if text.starts_with("<?xml") {
			self.reader = Some(StreamReader::new(XmlLimits::unlimited()));
		}
		let Some(r) = &mut self.reader else { panic!("we wrote before our stream header: {text}") };
		let mut buf = text.as_bytes();
		loop {
			match r.next(&mut buf) {
				Ok(Some(_)) => {}
				Ok(None) => break,
				Err(e) => panic!("we wrote XML a client cannot read ({e:?}): {text}"),
			}
		}
	}
}
