//! A stanza kept for later as its serialised bytes, not as a tree: what
//! waits in a session's queue, for an acknowledgement (XEP-0198), for an
//! inactive client (XEP-0352), for another server or component, or in a
//! room's history. A parse tree costs many times its size on the wire; the
//! bytes are what is written anyway, so packing costs no extra work.
//!
//! The element is written without an `xmlns` of its own (descendants in the
//! same namespace without one either), so the same bytes read right in a
//! `jabber:client`, `jabber:server` or component stream: the stream's
//! default namespace is the stanza's. A forwarded stanza inside keeps its
//! explicit `jabber:client` (XEP-0297).
//!
//! Every packed stanza is counted against the memory budget ([`crate::mem`])
//! until it is dropped.

use std::borrow::Cow;

use super::element::Element;
use super::ns;
use super::reader::{XmlLimits, parse_stored};
use crate::mem::{Charge, Class, Exhausted};

/// What a packed stanza costs besides its bytes (the box and the queue slot).
const OVERHEAD: usize = 64;

#[derive(Debug)]
pub struct Packed {
	xml: Box<str>,
	/// Must reach an inactive client at once (XEP-0352, `net::csi::urgent`).
	pub urgent: bool,
	/// Queued for another domain: goes back to its sender with an error if
	/// the link fails (see `router::to_remote`).
	pub bounce: bool,
	charge: Charge,
}

/// A copy is counted too, whatever the budget says (copies are brief:
/// the state of a room as an occupant leaves).
impl Clone for Packed {
	fn clone(&self) -> Packed {
		Packed { xml: self.xml.clone(), urgent: self.urgent, bounce: self.bounce, charge: Charge::force(self.charge.bytes()) }
	}
}

impl Packed {
	/// Packs `el` if the memory budget has room for it in `class`.
	pub fn new(el: &Element, class: Class) -> Result<Packed, Exhausted> {
		Packed::from_xml(serialise(el), class)
	}

	/// Packs `el` whatever the budget says (see [`Charge::force`]).
	pub fn forced(el: &Element) -> Packed {
		let xml = serialise(el).into_boxed_str();
		let charge = Charge::force(Packed::cost_of(xml.len()));
		Packed { xml, urgent: true, bounce: false, charge }
	}

	/// [`Packed::from_xml`] whatever the budget says.
	pub fn forced_xml(xml: String) -> Packed {
		let charge = Charge::force(Packed::cost_of(xml.len()));
		Packed { xml: xml.into_boxed_str(), urgent: true, bounce: false, charge }
	}

	/// Bytes the server wrote itself as [`Element::to_xml_unqualified`]
	/// would (an offline message or archived room message read back).
	pub fn from_xml(xml: String, class: Class) -> Result<Packed, Exhausted> {
		let charge = Charge::try_new(Packed::cost_of(xml.len()), class)?;
		Ok(Packed { xml: xml.into_boxed_str(), urgent: true, bounce: false, charge })
	}

	/// What a packed stanza of `len` bytes costs.
	pub const fn cost_of(len: usize) -> usize {
		len + OVERHEAD
	}

	pub fn xml(&self) -> &str {
		&self.xml
	}

	/// What it costs, as counted against the budget and the holders' bounds.
	pub fn cost(&self) -> usize {
		self.charge.bytes()
	}

	/// The element name (`message`, `presence`, `iq`).
	pub fn name(&self) -> &str {
		let tag = &self.xml[1..];
		let end = tag.find([' ', '>', '/']).unwrap_or(tag.len());
		&tag[..end]
	}

	/// An attribute of the stanza itself (`from`, `to`, `type`, `id`),
	/// read from the start tag as our own writer wrote it.
	pub fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
		// Our writer escapes every quote in a value, so ` name='` starts
		// that attribute and nothing else (`a1:name` is another one).
		let head = start_tag(&self.xml);
		let needle = format!(" {name}='");
		let rest = &head[head.find(&needle)? + needle.len()..];
		let value = &rest[..rest.find('\'')?];
		Some(if value.contains('&') { Cow::Owned(unescape(value)) } else { Cow::Borrowed(value) })
	}

	/// The tree again (a rare path: storing, bouncing or notifying).
	pub fn unpack(&self) -> Option<Element> {
		parse_stored(&self.xml, ns::CLIENT, XmlLimits::unlimited())
	}
}

/// A stanza without its namespace (any stream's content namespace is
/// right for it); anything else keeps its own, as a `jabber:client` stream
/// would carry it.
fn serialise(el: &Element) -> String {
	match el.ns() {
		ns::CLIENT | ns::SERVER | ns::COMPONENT => el.to_xml_unqualified(),
		_ => el.to_xml(ns::CLIENT),
	}
}

/// The start tag of XML as our writer writes it, which escapes `>` in
/// values: the first `>` ends the tag.
fn start_tag(xml: &str) -> &str {
	&xml[..xml.find('>').unwrap_or(xml.len())]
}

fn unescape(v: &str) -> String {
	let mut out = String::with_capacity(v.len());
	let mut rest = v;
	while let Some(i) = rest.find('&') {
		out.push_str(&rest[..i]);
		rest = &rest[i..];
		let Some(end) = rest.find(';') else { break };
		let entity = &rest[1..end];
		let c = match entity {
			"amp" => Some('&'),
			"lt" => Some('<'),
			"gt" => Some('>'),
			"apos" => Some('\''),
			"quot" => Some('"'),
			_ => entity.strip_prefix('#').and_then(|n| n.parse::<u32>().ok()).and_then(char::from_u32),
		};
		match c {
			Some(c) => out.push(c),
			None => out.push_str(&rest[..=end]),
		}
		rest = &rest[end + 1..];
	}
	out.push_str(rest);
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	fn message() -> Element {
		Element::new("message", ns::CLIENT)
			.with_attr("from", "a'b@example.org/r")
			.with_attr("to", "c@example.org")
			.with_attr("{urn:x}to", "not this")
			.with_child(Element::new("body", ns::CLIENT).with_text("hi <there>"))
			.with_child(Element::new("forwarded", "urn:xmpp:forward:0").with_child(Element::new("message", ns::CLIENT)))
	}

	#[test]
	fn packs_without_its_own_namespace_and_reads_back() {
		let p = Packed::new(&message(), Class::Transit).unwrap();
		assert!(p.xml().starts_with("<message from="), "{}", p.xml());
		assert!(p.xml().contains("<message xmlns='jabber:client'/>"), "forwarded keeps its namespace");
		assert_eq!(p.name(), "message");
		assert_eq!(p.attr("from").as_deref(), Some("a'b@example.org/r"));
		assert_eq!(p.attr("to").as_deref(), Some("c@example.org"));
		assert_eq!(p.attr("type"), None);
		assert_eq!(p.unpack(), Some(message()));
		// The same bytes in a server-to-server stream read as jabber:server.
		let s2s = parse_stored(p.xml(), "jabber:server", XmlLimits::unlimited()).unwrap();
		assert_eq!(s2s.ns(), "jabber:server");
		assert_eq!(s2s.child("body", "jabber:server").unwrap().text(), "hi <there>");
	}

	#[test]
	fn counts_against_the_budget() {
		crate::mem::set_limit(usize::MAX);
		let before = crate::mem::used();
		let p = Packed::new(&message(), Class::Transit).unwrap();
		assert_eq!(crate::mem::used(), before + p.xml().len() + OVERHEAD);
		drop(p);
		assert_eq!(crate::mem::used(), before);
		crate::mem::set_limit(before + 10);
		assert!(Packed::new(&message(), Class::Transit).is_err());
		let forced = Packed::forced(&message());
		assert!(crate::mem::used() > before + 10);
		drop(forced);
		crate::mem::set_limit(usize::MAX);
	}
}
