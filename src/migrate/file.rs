//! Streams a XEP-0227 file one host-level element (a `<user/>`, Xerra's
//! `<rooms/>`...) at a time, so memory holds one account, never the file.
//! Each element is bounded by `import_max_account_bytes`: its bytes as read
//! plus a share per element for its parse tree (`<a/>` costs more parsed
//! than read). Past it the element is read to its end and dropped.

use std::io::Read;

use rxml::error::EndOrError;
use rxml::{Event, Options, Parse, Parser, WithOptions};

use super::pie::{Archives, COMPACT, PIE, PIE_MAM};
use crate::xmpp::element::{Element, namespace};

/// What a parsed element costs beyond its bytes (tree node, child slot).
const PER_ELEMENT: usize = 128;
/// Bytes read from the file at a time.
const CHUNK: usize = 64 * 1024;

pub enum Item {
	/// A `<host jid=…>` begins.
	Host(String),
	/// A complete element at host level (or the root of an included file),
	/// with the archives read inside it (their elements left empty).
	Element(Element, Archives),
	/// An element past the limit, with its `name` attribute if it had one.
	TooBig(Option<String>),
}

pub struct PieReader<R> {
	src: R,
	parser: Parser,
	buf: Vec<u8>,
	/// Unparsed input is `buf[start..end]`.
	start: usize,
	end: usize,
	eof: bool,
	/// Open `<server-data/>` and `<host/>` elements.
	containers: usize,
	/// The element being collected and its open descendants.
	stack: Vec<Element>,
	cost: usize,
	max: usize,
	/// Depth inside an element being dropped (too big), and its name.
	skipping: Option<(usize, Option<String>)>,
	/// Why the file cannot be read on (found while handling an event).
	refused: Option<String>,
	/// The archives of the element being collected.
	archives: Archives,
}

impl<R: Read> PieReader<R> {
	pub fn new(src: R, max_element_bytes: usize) -> PieReader<R> {
		let mut parser = Parser::with_options(Options { max_token_length: 1 << 20, ..Options::default() });
		// Long text comes in pieces, so the limit is checked as it grows.
		parser.set_text_buffering(false);
		PieReader {
			src,
			parser,
			buf: vec![0; CHUNK],
			start: 0,
			end: 0,
			eof: false,
			containers: 0,
			stack: Vec::new(),
			cost: 0,
			max: max_element_bytes,
			skipping: None,
			refused: None,
			archives: Archives::default(),
		}
	}

	/// The next item; `Ok(None)` at the end of the document.
	pub fn next_item(&mut self) -> Result<Option<Item>, String> {
		loop {
			if self.start == self.end && !self.eof {
				self.end = self.src.read(&mut self.buf).map_err(|e| format!("reading the file: {e}"))?;
				self.start = 0;
				self.eof = self.end == 0;
			}
			let mut input = &self.buf[self.start..self.end];
			let before = input.len();
			let result = self.parser.parse(&mut input, self.eof);
			let used = before - input.len();
			self.start += used;
			if !self.stack.is_empty() || self.skipping.is_some() {
				self.cost = self.cost.saturating_add(used);
			}
			let ev = match result {
				Err(EndOrError::NeedMoreData) if self.eof => return Err("the file ends in the middle of an element".into()),
				Err(EndOrError::NeedMoreData) => continue,
				Err(EndOrError::Error(e)) => return Err(format!("not well-formed XML: {e}")),
				Ok(None) => return Ok(None),
				Ok(Some(ev)) => ev,
			};
			let item = self.event(ev);
			if let Some(why) = self.refused.take() {
				return Err(why);
			}
			if let Some(item) = item {
				return Ok(Some(item));
			}
		}
	}

	/// Past the limit, the element being collected is dropped and the rest
	/// of it skipped.
	fn check_cost(&mut self) {
		if self.cost > self.max {
			let name = self.stack.first().and_then(|e| e.attr("name")).map(str::to_owned);
			self.skipping = Some((self.stack.len(), name));
			self.stack = Vec::new();
		}
	}

	fn event(&mut self, ev: Event) -> Option<Item> {
		match ev {
			Event::XmlDeclaration(..) => None,
			Event::StartElement(_, (ns, name), attrs) => {
				if let Some((depth, _)) = &mut self.skipping {
					*depth += 1;
					return None;
				}
				if self.stack.is_empty() && ns.as_str() == PIE && matches!(name.as_str(), "server-data" | "host") {
					self.containers += 1;
					if name.as_str() == "host" {
						let jid = attrs.iter().find(|((ans, n), _)| ans.is_empty() && n.as_str() == "jid").map(|(_, v)| v.to_string());
						return Some(Item::Host(jid.unwrap_or_default()));
					}
					return None;
				}
				if ns.as_str() == COMPACT {
					self.refused = Some(format!("the namespace {COMPACT} is the importer's own, not a file's"));
					return None;
				}
				if self.stack.is_empty() {
					self.cost = 0;
					self.archives = Archives::default();
				}
				let mut el = Element::new_in(name.as_str(), namespace(ns.as_str()));
				for ((ans, aname), value) in attrs {
					self.cost = self.cost.saturating_add(value.len());
					if ans.is_empty() {
						el.set_attr(aname.as_str(), value);
					} else if ans.as_str() == crate::xmpp::ns::XML {
						el.set_attr(&format!("xml:{}", aname.as_str()), value);
					} else if ans.as_str() == COMPACT {
						self.refused = Some(format!("the namespace {COMPACT} is the importer's own, not a file's"));
						return None;
					} else {
						el.set_attr(&format!("{{{}}}{}", ans.as_str(), aname.as_str()), value);
					}
				}
				// An archive's messages are mapped as they come, not kept as a tree.
				if !self.stack.is_empty() && el.is("archive", PIE_MAM) {
					self.archives.open(&mut el);
				}
				self.cost = self.cost.saturating_add(PER_ELEMENT);
				self.stack.push(el);
				self.check_cost();
				None
			}
			Event::Text(_, text) => {
				if let Some(top) = self.stack.last_mut() {
					top.push_text(&text);
					self.check_cost();
				}
				None
			}
			Event::EndElement(_) => {
				if let Some((depth, name)) = &mut self.skipping {
					*depth -= 1;
					if *depth == 0 {
						let name = name.take();
						self.skipping = None;
						return Some(Item::TooBig(name));
					}
					return None;
				}
				match self.stack.pop() {
					None => {
						self.containers = self.containers.saturating_sub(1);
						None
					}
					Some(el) => match self.stack.last_mut() {
						Some(parent) if parent.is("archive", PIE_MAM) && el.is("result", crate::xmpp::ns::MAM) => {
							self.archives.add(parent, &el);
							None
						}
						Some(parent) => {
							parent.push(el);
							None
						}
						None => Some(Item::Element(el, std::mem::take(&mut self.archives))),
					},
				}
			}
		}
	}
}
