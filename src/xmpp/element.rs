//! A small owned XML element: what a stanza is once the stream parser has
//! collected it, and what features build to answer.
//!
//! Attributes in no namespace are stored by local name; `xml:lang` as
//! `"xml:lang"`; any other namespaced attribute as `"{namespace}name"`, so it
//! survives forwarding. Serialisation picks its own prefixes (RFC 6120 §11.2:
//! receivers must not depend on the sender's prefixes).
//!
//! Memory: short names, attribute values and texts are kept inline
//! (`CompactString`, up to 24 bytes without an allocation), and namespaces
//! are shared: the ones Xerra knows are static strings, any other is one
//! reference-counted string per declaration, shared by every element that
//! inherits it. (Each element once had a copy of its own: a namespace of
//! 4000 characters declared once and inherited by 2,900 children cost
//! 11 MiB for 15 KB on the wire.)

use std::fmt::Write as _;

pub use rxml::strings::CompactString;

/// A namespace name; cloning it never copies the string.
pub type Namespace = rxml::Namespace<'static>;

/// One child of an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
	Element(Element),
	Text(CompactString),
}

/// An XML element with its namespace resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
	name: CompactString,
	ns: Namespace,
	attrs: Vec<(CompactString, CompactString)>,
	children: Vec<Node>,
}

/// The namespace for `ns`: a known one without allocating.
pub fn namespace(ns: &str) -> Namespace {
	match super::ns::known(ns) {
		Some(s) => Namespace::from_str(s),
		None => Namespace::from(ns.to_owned()),
	}
}

impl Element {
	/// A new empty element `name` in namespace `ns`.
	pub fn new(name: &str, ns: &str) -> Element {
		Element::new_in(name, namespace(ns))
	}

	/// A new empty element in a namespace the caller already holds (shared,
	/// not copied).
	pub fn new_in(name: &str, ns: Namespace) -> Element {
		Element { name: CompactString::new(name), ns, attrs: Vec::new(), children: Vec::new() }
	}

	/// Builder form of [`Element::set_attr`].
	pub fn with_attr(mut self, name: &str, value: impl Into<CompactString>) -> Element {
		self.set_attr(name, value);
		self
	}

	/// Builder form of [`Element::push`].
	pub fn with_child(mut self, child: Element) -> Element {
		self.children.push(Node::Element(child));
		self
	}

	/// Appends a text node.
	pub fn with_text(mut self, text: impl Into<CompactString>) -> Element {
		self.children.push(Node::Text(text.into()));
		self
	}

	pub fn name(&self) -> &str {
		&self.name
	}

	pub fn ns(&self) -> &str {
		self.ns.as_str()
	}

	/// The namespace, to share with another element.
	pub fn namespace(&self) -> &Namespace {
		&self.ns
	}

	/// True if this element is `name` in namespace `ns`.
	pub fn is(&self, name: &str, ns: &str) -> bool {
		self.name == name && self.ns.as_str() == ns
	}

	pub fn attr(&self, name: &str) -> Option<&str> {
		self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
	}

	pub fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
		self.attrs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
	}

	pub fn attr_count(&self) -> usize {
		self.attrs.len()
	}

	/// Sets or replaces an attribute.
	pub fn set_attr(&mut self, name: &str, value: impl Into<CompactString>) {
		let value = value.into();
		match self.attrs.iter_mut().find(|(k, _)| k == name) {
			Some(slot) => slot.1 = value,
			None => self.attrs.push((CompactString::new(name), value)),
		}
	}

	pub fn remove_attr(&mut self, name: &str) -> Option<String> {
		let at = self.attrs.iter().position(|(k, _)| k == name)?;
		Some(self.attrs.remove(at).1.into_string())
	}

	pub fn push(&mut self, child: Element) {
		self.children.push(Node::Element(child));
	}

	pub fn push_text(&mut self, text: &str) {
		if let Some(Node::Text(last)) = self.children.last_mut() {
			let want = last.len() + text.len();
			if last.capacity() >= want {
				last.push_str(text);
			} else {
				// Exactly what it needs: text arrives in pieces, and growing
				// by doubling would keep up to twice the stanza's size.
				let mut grown = String::with_capacity(want);
				grown.push_str(last);
				grown.push_str(text);
				*last = CompactString::from_string_buffer(grown);
			}
			return;
		}
		self.children.push(Node::Text(CompactString::new(text)));
	}

	pub fn nodes(&self) -> &[Node] {
		&self.children
	}

	/// Heap bytes that grow as children and text are appended: the child
	/// list and the last text node (the stream reader's accounting).
	pub(crate) fn growing_bytes(&self) -> usize {
		let list = self.children.capacity() * std::mem::size_of::<Node>();
		match self.children.last() {
			Some(Node::Text(t)) if t.is_heap_allocated() => list + t.capacity(),
			_ => list,
		}
	}

	/// Child elements, skipping text.
	pub fn children(&self) -> impl Iterator<Item = &Element> {
		self.children.iter().filter_map(|n| match n {
			Node::Element(e) => Some(e),
			Node::Text(_) => None,
		})
	}

	/// The first child `name` in namespace `ns`.
	pub fn child(&self, name: &str, ns: &str) -> Option<&Element> {
		self.children().find(|c| c.is(name, ns))
	}

	/// Removes every child element for which `keep` is false.
	pub fn retain_children(&mut self, mut keep: impl FnMut(&Element) -> bool) {
		self.children.retain(|n| match n {
			Node::Element(e) => keep(e),
			Node::Text(_) => true,
		});
	}

	/// The concatenated direct text content.
	pub fn text(&self) -> String {
		let mut out = String::new();
		for n in &self.children {
			if let Node::Text(t) = n {
				out.push_str(t);
			}
		}
		out
	}

	/// A copy without children (the envelope of a stanza).
	pub fn shallow_clone(&self) -> Element {
		Element { name: self.name.clone(), ns: self.ns.clone(), attrs: self.attrs.clone(), children: Vec::new() }
	}

	/// Moves this element and every descendant in namespace `from` to `to`
	/// (a stanza crossing between stream types: `jabber:client` and
	/// `jabber:component:accept` carry the same stanzas).
	pub fn rename_ns(&mut self, from: &str, to: &str) {
		let to = namespace(to);
		self.rename_ns_to(from, &to);
	}

	fn rename_ns_to(&mut self, from: &str, to: &Namespace) {
		if self.ns.as_str() == from {
			self.ns = to.clone();
		}
		for n in &mut self.children {
			if let Node::Element(e) = n {
				e.rename_ns_to(from, to);
			}
		}
	}

	/// Serialises as it appears inside a stream whose default namespace is
	/// `parent_ns`; an `xmlns` is written only where the namespace changes.
	pub fn write_to(&self, out: &mut Vec<u8>, parent_ns: &str) {
		let mut s = String::new();
		self.write_str(&mut s, parent_ns);
		out.extend_from_slice(s.as_bytes());
	}

	/// Serialises into a string (see [`Element::write_to`]).
	pub fn to_xml(&self, parent_ns: &str) -> String {
		let mut s = String::new();
		self.write_str(&mut s, parent_ns);
		s
	}

	/// Serialises as it reads in any stream of its own kind: no `xmlns` on
	/// the element itself (what `Packed` keeps).
	pub fn to_xml_unqualified(&self) -> String {
		self.to_xml(self.ns.as_str())
	}

	fn write_str(&self, out: &mut String, parent_ns: &str) {
		out.push('<');
		out.push_str(&self.name);
		if self.ns.as_str() != parent_ns {
			out.push_str(" xmlns='");
			escape_attr_into(out, &self.ns);
			out.push('\'');
		}
		let mut prefixes = 0;
		for (k, v) in &self.attrs {
			out.push(' ');
			if let Some(rest) = k.strip_prefix('{') {
				// `{ns}local`: declare a prefix of our own for it. A namespace
				// may hold a '}', a local name cannot: split at the last one.
				let (ns, local) = rest.rsplit_once('}').unwrap_or(("", rest));
				prefixes += 1;
				let _ = write!(out, "xmlns:a{prefixes}='");
				escape_attr_into(out, ns);
				let _ = write!(out, "' a{prefixes}:{local}='");
			} else {
				out.push_str(k);
				out.push_str("='");
			}
			escape_attr_into(out, v);
			out.push('\'');
		}
		if self.children.is_empty() {
			out.push_str("/>");
			return;
		}
		out.push('>');
		for n in &self.children {
			match n {
				Node::Element(e) => e.write_str(out, &self.ns),
				Node::Text(t) => escape_into(out, t),
			}
		}
		out.push_str("</");
		out.push_str(&self.name);
		out.push('>');
	}
}

/// XML-escapes text. CR is written as a character reference: a parser
/// turns a literal CR (or CRLF) into LF (XML 1.0 §2.11), so the text would
/// change at every relay.
pub fn escape_into(out: &mut String, s: &str) {
	for c in s.chars() {
		match c {
			'&' => out.push_str("&amp;"),
			'<' => out.push_str("&lt;"),
			'>' => out.push_str("&gt;"),
			'\'' => out.push_str("&apos;"),
			'"' => out.push_str("&quot;"),
			'\r' => out.push_str("&#13;"),
			_ => out.push(c),
		}
	}
}

/// XML-escapes an attribute value (both quote kinds, so either may delimit
/// it). TAB, LF and CR as character references: a parser turns literal ones
/// into spaces (XML 1.0 §3.3.3).
pub fn escape_attr_into(out: &mut String, s: &str) {
	for c in s.chars() {
		match c {
			'\t' => out.push_str("&#9;"),
			'\n' => out.push_str("&#10;"),
			'\r' => out.push_str("&#13;"),
			_ => escape_into(out, c.encode_utf8(&mut [0; 4])),
		}
	}
}

/// Escaped copy of `s` as text.
pub fn escape(s: &str) -> String {
	let mut out = String::with_capacity(s.len());
	escape_into(&mut out, s);
	out
}

/// Escaped copy of `s` as an attribute value.
pub fn escape_attr(s: &str) -> String {
	let mut out = String::with_capacity(s.len());
	escape_attr_into(&mut out, s);
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn serialises_with_namespace_changes_only() {
		let el = Element::new("iq", "jabber:client")
			.with_attr("type", "result")
			.with_attr("id", "a'b")
			.with_child(Element::new("query", "jabber:iq:roster").with_child(Element::new("item", "jabber:iq:roster")));
		assert_eq!(el.to_xml("jabber:client"), "<iq type='result' id='a&apos;b'><query xmlns='jabber:iq:roster'><item/></query></iq>");
	}

	#[test]
	fn escapes_text_and_keeps_order() {
		let el = Element::new("body", "jabber:client").with_text("a < b & c");
		assert_eq!(el.to_xml("jabber:client"), "<body>a &lt; b &amp; c</body>");
	}

	#[test]
	fn namespaced_attribute_gets_own_prefix() {
		let el = Element::new("x", "urn:x").with_attr("{urn:y}z", "1").with_attr("xml:lang", "en");
		assert_eq!(el.to_xml("urn:x"), "<x xmlns:a1='urn:y' a1:z='1' xml:lang='en'/>");
	}

	#[test]
	fn attribute_namespace_with_a_brace_stays_well_formed() {
		// Found by fuzz/reader: a client's `xmlns:p='urn:}a' p:hint='1'` was
		// relayed and stored as `a1:a}hint`, XML that no reader takes.
		let xml = "<x xmlns:p='urn:}a' p:hint='keep'/>";
		let limits = crate::xmpp::reader::XmlLimits::unlimited();
		let el = crate::xmpp::reader::parse_stored(xml, "urn:x", limits).unwrap();
		assert_eq!(el.to_xml("urn:x"), "<x xmlns:a1='urn:}a' a1:hint='keep'/>");
		assert_eq!(crate::xmpp::reader::parse_stored(&el.to_xml("urn:x"), "urn:x", limits), Some(el));
	}

	#[test]
	fn whitespace_that_a_parser_would_change_is_escaped() {
		let el = Element::new("m", "n").with_attr("a", "x\ty\nz\r").with_text("l1\r\nl2");
		let xml = el.to_xml("n");
		assert_eq!(xml, "<m a='x&#9;y&#10;z&#13;'>l1&#13;\nl2</m>");
		// Read back, it is the same element: relays do not change values.
		let limits = crate::xmpp::reader::XmlLimits::unlimited();
		assert_eq!(crate::xmpp::reader::parse_stored(&xml, "n", limits), Some(el));
	}

	#[test]
	fn known_namespaces_are_not_allocated_and_others_are_shared() {
		let a = Element::new("a", "jabber:client");
		assert_eq!(a.ns(), "jabber:client");
		let long = namespace(&"urn:".repeat(1000));
		let b = Element::new_in("b", long.clone());
		let c = Element::new_in("c", b.namespace().clone());
		assert_eq!(b.ns().as_ptr(), c.ns().as_ptr(), "one string for both");
		assert_eq!(c.ns(), long.as_str());
	}

	#[test]
	fn attribute_helpers() {
		let mut el = Element::new("a", "n").with_attr("k", "1");
		el.set_attr("k", "2");
		assert_eq!(el.attr("k"), Some("2"));
		assert_eq!(el.remove_attr("k").as_deref(), Some("2"));
		assert_eq!(el.attr("k"), None);
	}
}
