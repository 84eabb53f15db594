//! Stanza envelopes (RFC 6120 §8): the three kinds, their types, and the
//! addressing parsed once at the edge.

use super::element::{Element, Node};
use super::error::{Condition, StanzaError};
use super::jid::Jid;
use super::ns;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
	Message,
	Presence,
	Iq,
}

/// RFC 6120 §8.2.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IqType {
	Get,
	Set,
	Result,
	Error,
}

/// RFC 6121 §5.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
	Normal,
	Chat,
	Groupchat,
	Headline,
	Error,
}

/// RFC 6121 §4.7.1 and §3 (subscriptions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceType {
	Available,
	Unavailable,
	Subscribe,
	Subscribed,
	Unsubscribe,
	Unsubscribed,
	Probe,
	Error,
}

impl PresenceType {
	pub fn as_str(self) -> Option<&'static str> {
		Some(match self {
			Self::Available => return None,
			Self::Unavailable => "unavailable",
			Self::Subscribe => "subscribe",
			Self::Subscribed => "subscribed",
			Self::Unsubscribe => "unsubscribe",
			Self::Unsubscribed => "unsubscribed",
			Self::Probe => "probe",
			Self::Error => "error",
		})
	}

	pub fn is_subscription(self) -> bool {
		matches!(self, Self::Subscribe | Self::Subscribed | Self::Unsubscribe | Self::Unsubscribed)
	}
}

/// The type of a stanza, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StanzaType {
	Message(MessageType),
	Presence(PresenceType),
	Iq(IqType),
}

/// A stanza whose kind, type and addresses have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
	pub el: Element,
	pub ty: StanzaType,
	pub to: Option<Jid>,
	pub from: Option<Jid>,
}

/// Why an element is not a stanza at all (a stream-level problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAStanza {
	/// Not message/presence/iq in jabber:client (RFC 6120 §4.9.3.22
	/// unsupported-stanza-type).
	UnknownName,
	/// message/presence/iq in another content namespace (§4.9.3.10
	/// invalid-namespace).
	WrongNamespace,
}

impl Stanza {
	/// Checks an element read from a c2s stream. A malformed address or type is
	/// a stanza error (`Err(Ok(..))`, the stream goes on); an element that is
	/// no stanza is `Err(Err(..))`.
	#[allow(clippy::result_large_err)]
	pub fn parse(el: Element) -> Result<Stanza, Result<(Element, StanzaError), NotAStanza>> {
		if el.ns() != ns::CLIENT {
			let is_stanza_name = matches!(el.name(), "message" | "presence" | "iq");
			return Err(Err(if is_stanza_name { NotAStanza::WrongNamespace } else { NotAStanza::UnknownName }));
		}
		let ty = match el.name() {
			"message" => match message_type(el.attr("type")) {
				Some(t) => StanzaType::Message(t),
				None => return Err(Ok((el, StanzaError::with_text(Condition::BadRequest, "unknown message type")))),
			},
			"presence" => match presence_type(el.attr("type")) {
				Some(t) => StanzaType::Presence(t),
				None => return Err(Ok((el, StanzaError::with_text(Condition::BadRequest, "unknown presence type")))),
			},
			"iq" => match iq_type(el.attr("type")) {
				Some(t) => StanzaType::Iq(t),
				None => return Err(Ok((el, StanzaError::with_text(Condition::BadRequest, "iq needs a type")))),
			},
			_ => return Err(Err(NotAStanza::UnknownName)),
		};
		let to = match el.attr("to").map(Jid::parse).transpose() {
			Ok(to) => to,
			Err(e) => return Err(Ok((el, StanzaError::with_text(Condition::JidMalformed, format!("to: {e}"))))),
		};
		let from = match el.attr("from").map(Jid::parse).transpose() {
			Ok(from) => from,
			Err(e) => return Err(Ok((el, StanzaError::with_text(Condition::JidMalformed, format!("from: {e}"))))),
		};
		if let StanzaType::Iq(t) = ty {
			// RFC 6120 §8.2.3: an id is required; get/set carry exactly one payload.
			if el.attr("id").is_none_or(str::is_empty) {
				return Err(Ok((el, StanzaError::with_text(Condition::BadRequest, "iq needs an id"))));
			}
			if matches!(t, IqType::Get | IqType::Set) && el.children().count() != 1 {
				return Err(Ok((el, StanzaError::with_text(Condition::BadRequest, "iq get/set needs exactly one child"))));
			}
		}
		Ok(Stanza { el, ty, to, from })
	}

	pub fn kind(&self) -> Kind {
		match self.ty {
			StanzaType::Message(_) => Kind::Message,
			StanzaType::Presence(_) => Kind::Presence,
			StanzaType::Iq(_) => Kind::Iq,
		}
	}

	pub fn id(&self) -> Option<&str> {
		self.el.attr("id")
	}

	/// The payload of an iq get/set (its only child).
	pub fn payload(&self) -> Option<&Element> {
		self.el.children().next()
	}

	/// Sets `from`, in the element and the parsed field.
	pub fn set_from(&mut self, from: Jid) {
		self.el.set_attr("from", from.as_str());
		self.from = Some(from);
	}

	pub fn set_to(&mut self, to: Jid) {
		self.el.set_attr("to", to.as_str());
		self.to = Some(to);
	}

	/// True if no error reply may be sent for this stanza (RFC 6120 §8.3.1:
	/// never answer an error with an error; iq results are not answered).
	pub fn is_error_or_result(&self) -> bool {
		matches!(
			self.ty,
			StanzaType::Iq(IqType::Result | IqType::Error)
				| StanzaType::Message(MessageType::Error)
				| StanzaType::Presence(PresenceType::Error)
		)
	}

	/// The error reply to this stanza (addresses swapped).
	pub fn error_reply(&self, err: &StanzaError) -> Element {
		error_reply(&self.el, err)
	}

	/// An error reply made before it is known to be needed (ahead of a
	/// storage job that decides): logged only if it is sent.
	pub fn error_reply_later(&self, err: &StanzaError) -> LaterError {
		LaterError { line: format!("refused {}: {err}", Summary(&self.el)), reply: unlogged_error_reply(&self.el, err) }
	}

	/// An empty iq result with the addresses swapped.
	pub fn iq_result(&self) -> Element {
		let mut el = Element::new("iq", ns::CLIENT).with_attr("type", "result");
		if let Some(id) = self.id() {
			el.set_attr("id", id);
		}
		swap_addresses(&self.el, &mut el);
		el
	}
}

/// Error reply to any element that looks like a stanza, even one that failed
/// to parse. Keeps the original payload (RFC 6120 §8.3.1 allows it) except
/// for messages' bodies, which need not travel back.
pub fn error_reply(orig: &Element, err: &StanzaError) -> Element {
	// Every stanza error the server sends is made here (or by
	// `error_reply_later`): the one place to tell the admin what was
	// refused and why (never a body: see Summary).
	log::info!("refused {}: {err}", Summary(orig));
	unlogged_error_reply(orig, err)
}

/// See [`Stanza::error_reply_later`].
pub struct LaterError {
	line: String,
	reply: Element,
}

impl LaterError {
	/// The reply, now that it is sent (the log line is written here).
	pub fn send(self) -> Element {
		log::info!("{}", self.line);
		self.reply
	}
}

fn unlogged_error_reply(orig: &Element, err: &StanzaError) -> Element {
	let mut el = orig.shallow_clone();
	el.remove_attr("to");
	el.remove_attr("from");
	swap_addresses(orig, &mut el);
	el.set_attr("type", "error");
	if orig.name() == "iq" {
		for node in orig.nodes() {
			if let Node::Element(child) = node {
				el.push(child.clone());
			}
		}
	}
	el.push(err.to_element());
	el
}

/// A stanza for a log line: kind, type, payload namespace and addresses,
/// e.g. `iq get (urn:xmpp:mam:2) from a@b/c to b`. Nothing of its content
/// (bodies, passwords in registrations) is shown. Formatted only when the
/// line is logged.
pub struct Summary<'a>(pub &'a Element);

impl std::fmt::Display for Summary<'_> {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		let el = self.0;
		f.write_str(el.name())?;
		if let Some(t) = el.attr("type") {
			f.write_str(" ")?;
			loggable(f, t)?;
		}
		// An iq's payload is its child; a message's or presence's, the first
		// extension (chat state, MUC, carbons...), if any.
		let payload = if el.name() == "iq" { el.children().next() } else { el.children().find(|c| c.ns() != ns::CLIENT) };
		if let Some(p) = payload {
			f.write_str(" (")?;
			loggable(f, p.ns())?;
			f.write_str(")")?;
		}
		for (word, attr) in [(" from ", "from"), (" to ", "to")] {
			if let Some(v) = el.attr(attr) {
				f.write_str(word)?;
				loggable(f, v)?;
			}
		}
		Ok(())
	}
}

/// A peer's text in a log line: unparsed stanzas are refused too, so it may
/// be anything. Control characters (a newline would forge a line) are
/// escaped, and it is cut after 128 characters.
fn loggable(f: &mut std::fmt::Formatter<'_>, text: &str) -> std::fmt::Result {
	const MAX: usize = 128;
	for (i, c) in text.chars().enumerate() {
		if i == MAX {
			return f.write_str("...");
		}
		if c.is_control() {
			write!(f, "{}", c.escape_default())?;
		} else {
			write!(f, "{c}")?;
		}
	}
	Ok(())
}

fn swap_addresses(orig: &Element, reply: &mut Element) {
	if let Some(from) = orig.attr("from") {
		reply.set_attr("to", from);
	}
	if let Some(to) = orig.attr("to") {
		reply.set_attr("from", to);
	}
}

fn message_type(t: Option<&str>) -> Option<MessageType> {
	Some(match t {
		None | Some("normal") => MessageType::Normal,
		Some("chat") => MessageType::Chat,
		Some("groupchat") => MessageType::Groupchat,
		Some("headline") => MessageType::Headline,
		Some("error") => MessageType::Error,
		// RFC 6121 §5.2.2: an unknown type is treated as normal.
		Some(_) => MessageType::Normal,
	})
}

fn presence_type(t: Option<&str>) -> Option<PresenceType> {
	Some(match t {
		None => PresenceType::Available,
		Some("unavailable") => PresenceType::Unavailable,
		Some("subscribe") => PresenceType::Subscribe,
		Some("subscribed") => PresenceType::Subscribed,
		Some("unsubscribe") => PresenceType::Unsubscribe,
		Some("unsubscribed") => PresenceType::Unsubscribed,
		Some("probe") => PresenceType::Probe,
		Some("error") => PresenceType::Error,
		Some(_) => return None,
	})
}

fn iq_type(t: Option<&str>) -> Option<IqType> {
	Some(match t? {
		"get" => IqType::Get,
		"set" => IqType::Set,
		"result" => IqType::Result,
		"error" => IqType::Error,
		_ => return None,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	fn el(name: &str) -> Element {
		Element::new(name, ns::CLIENT)
	}

	#[test]
	fn parses_types_and_addresses() {
		let s = Stanza::parse(el("message").with_attr("to", "Bob@Example.org").with_attr("type", "chat")).unwrap();
		assert_eq!(s.ty, StanzaType::Message(MessageType::Chat));
		assert_eq!(s.to.unwrap().as_str(), "bob@example.org");
		let p = Stanza::parse(el("presence")).unwrap();
		assert_eq!(p.ty, StanzaType::Presence(PresenceType::Available));
	}

	#[test]
	fn rejects_bad_stanzas() {
		let Err(Ok((_, e))) = Stanza::parse(el("presence").with_attr("type", "bogus")) else { panic!() };
		assert_eq!(e.condition, Condition::BadRequest);
		let Err(Ok((_, e))) = Stanza::parse(el("message").with_attr("to", "@x")) else { panic!() };
		assert_eq!(e.condition, Condition::JidMalformed);
		let Err(Ok((_, e))) = Stanza::parse(el("iq").with_attr("type", "get").with_attr("id", "1")) else { panic!() };
		assert_eq!(e.condition, Condition::BadRequest);
		assert_eq!(Stanza::parse(el("foo")).unwrap_err().unwrap_err(), NotAStanza::UnknownName);
		assert_eq!(Stanza::parse(Element::new("iq", "urn:x")).unwrap_err().unwrap_err(), NotAStanza::WrongNamespace);
	}

	#[test]
	fn summaries_show_kind_payload_and_addresses_and_nothing_forged() {
		let el = Element::new("iq", ns::CLIENT)
			.with_attr("type", "get")
			.with_attr("from", "a@b/c")
			.with_attr("to", "b\n2026-12-07T00:00:00.000Z INFO  [xerra] forged")
			.with_child(Element::new("query", "urn:xmpp:mam:2"));
		let line = Summary(&el).to_string();
		assert_eq!(line, "iq get (urn:xmpp:mam:2) from a@b/c to b\\n2026-12-07T00:00:00.000Z INFO  [xerra] forged");
		let long = Element::new("message", ns::CLIENT).with_attr("to", "x".repeat(1000)).with_child(Element::new("body", ns::CLIENT));
		assert_eq!(Summary(&long).to_string(), format!("message to {}...", "x".repeat(128)));
	}

	#[test]
	fn error_reply_swaps_addresses() {
		let s = Stanza::parse(
			el("iq")
				.with_attr("type", "get")
				.with_attr("id", "7")
				.with_attr("to", "x.org")
				.with_attr("from", "a@b/c")
				.with_child(Element::new("query", "urn:q")),
		)
		.unwrap();
		let r = s.error_reply(&StanzaError::new(Condition::ServiceUnavailable));
		assert_eq!(
			r.to_xml(ns::CLIENT),
			"<iq type='error' id='7' to='a@b/c' from='x.org'><query xmlns='urn:q'/><error type='cancel'>\
			 <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
		);
	}
}
