//! XEP-0114 external components, the parts without I/O: the handshake
//! proof and the checks on what a component may send.

use crate::xmpp::element::Element;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// Our stream header for a component (XEP-0114 §3): no version, no features.
pub fn header_xml(id: &str, domain: &str) -> String {
	use crate::xmpp::element::escape_attr;
	format!(
		"<?xml version='1.0'?><stream:stream xmlns='{}' xmlns:stream='{}' id='{}' from='{}'>",
		ns::COMPONENT,
		ns::STREAM,
		escape_attr(id),
		escape_attr(domain)
	)
}

/// The handshake a component that knows `secret` sends on stream `id`:
/// hex SHA-1 of the id followed by the secret (§3).
pub fn handshake_digest(id: &str, secret: &str) -> String {
	let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, format!("{id}{secret}").as_bytes());
	d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// True if `given` (a `<handshake/>`'s text) proves knowledge of `secret`.
pub fn handshake_ok(id: &str, secret: &str, given: &str) -> bool {
	let want = handshake_digest(id, secret);
	crate::proto::sasl::scram::ct_eq(want.as_bytes(), given.trim().to_ascii_lowercase().as_bytes())
}

/// Checks a stanza from the component serving `domain` and moves it to
/// `jabber:client`, the namespace the router speaks. A component must say
/// whom a stanza is from (a JID of its own domain) and to.
pub fn inbound(mut el: Element, domain: &str) -> Result<Element, StreamError> {
	if el.ns() != ns::COMPONENT || !matches!(el.name(), "message" | "presence" | "iq") {
		return Err(StreamError::with_text(StreamCondition::UnsupportedStanzaType, "only message, presence and iq"));
	}
	let from = el.attr("from").map(Jid::parse);
	match from {
		None => return Err(StreamError::with_text(StreamCondition::ImproperAddressing, "a component's stanzas need a from")),
		Some(Err(_)) => return Err(StreamError::with_text(StreamCondition::InvalidFrom, "from is not a JID")),
		Some(Ok(f)) if f.domain() != domain => {
			return Err(StreamError::with_text(StreamCondition::InvalidFrom, format!("from must be a JID of {domain}")));
		}
		Some(Ok(_)) => {}
	}
	if el.attr("to").is_none() {
		return Err(StreamError::with_text(StreamCondition::ImproperAddressing, "a component's stanzas need a to"));
	}
	el.rename_ns(ns::COMPONENT, ns::CLIENT);
	Ok(el)
}

/// A stanza for the component, in its stream's namespace.
pub fn outbound(mut el: Element) -> Element {
	el.rename_ns(ns::CLIENT, ns::COMPONENT);
	el
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn handshake_is_hex_sha1_of_id_and_secret() {
		// Stream id 3BF96D32, secret "secret" (value from Python hashlib).
		assert_eq!(handshake_digest("3BF96D32", "secret"), "b09ea9b3b7f586be8a08d0a3dd7466f110aeb136");
		let d = handshake_digest("id1", "s3cret");
		assert!(handshake_ok("id1", "s3cret", &d));
		assert!(handshake_ok("id1", "s3cret", &d.to_uppercase()), "hex case does not matter");
		assert!(!handshake_ok("id1", "other", &d));
		assert!(!handshake_ok("id2", "s3cret", &d));
		assert!(!handshake_ok("id1", "s3cret", ""));
	}

	#[test]
	fn stanzas_need_from_of_the_domain_and_to() {
		let el = |attrs: &[(&str, &str)]| {
			let mut e = Element::new("message", ns::COMPONENT).with_child(Element::new("body", ns::COMPONENT).with_text("hi"));
			for (k, v) in attrs {
				e.set_attr(k, *v);
			}
			e
		};
		let ok = inbound(el(&[("from", "bot@gw.example"), ("to", "a@b")]), "gw.example").unwrap();
		assert!(ok.is("message", ns::CLIENT));
		assert!(ok.child("body", ns::CLIENT).is_some(), "children move too");
		let cond = |e: Result<Element, StreamError>| e.unwrap_err().condition;
		assert_eq!(cond(inbound(el(&[("to", "a@b")]), "gw.example")), StreamCondition::ImproperAddressing);
		assert_eq!(cond(inbound(el(&[("from", "x@other.example"), ("to", "a@b")]), "gw.example")), StreamCondition::InvalidFrom);
		assert_eq!(cond(inbound(el(&[("from", "gw.example")]), "gw.example")), StreamCondition::ImproperAddressing);
		assert_eq!(cond(inbound(Element::new("handshake", ns::COMPONENT), "gw.example")), StreamCondition::UnsupportedStanzaType);
		let back = outbound(Element::new("message", ns::CLIENT).with_child(Element::new("body", ns::CLIENT)));
		assert_eq!(back.to_xml(ns::COMPONENT), "<message><body/></message>");
	}
}
