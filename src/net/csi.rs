//! XEP-0352 Client State Indication: while a client says it is inactive
//! (a phone in a pocket), what it does not need at once waits, so the radio
//! can sleep: presence updates (only the newest per sender), chat states
//! and PEP notifications. Anything else (a message with content, an iq, a
//! subscription request, an error) first releases what waits, then goes,
//! so order is kept. At most `csi_max_held` stanzas or
//! `csi_max_held_bytes` bytes wait; then they all go.

use crate::xmpp::element::Element;
use crate::xmpp::ns;
use crate::xmpp::packed::Packed;

/// Must this stanza reach an inactive client now?
pub fn urgent(el: &Element) -> bool {
	match el.name() {
		"presence" => !matches!(el.attr("type"), None | Some("unavailable")),
		"message" => {
			el.attr("type") == Some("error")
				|| el.children().any(|c| c.ns() != ns::CHATSTATES && c.ns() != ns::PUBSUB_EVENT && c.ns() != ns::DELAY)
		}
		_ => true,
	}
}

/// What waits for an inactive client.
#[derive(Debug, Default)]
pub struct Held {
	items: Vec<Packed>,
	bytes: usize,
}

impl Held {
	/// Keeps `p`; a presence replaces an earlier one from the same sender.
	pub fn push(&mut self, p: Packed) {
		if p.name() == "presence" {
			let from = p.attr("from");
			let mut freed = 0;
			self.items.retain(|h| {
				let same = h.name() == "presence" && h.attr("from") == from;
				if same {
					freed += h.cost();
				}
				!same
			});
			self.bytes -= freed;
		}
		self.bytes += p.cost();
		self.items.push(p);
	}

	pub fn len(&self) -> usize {
		self.items.len()
	}

	pub fn bytes(&self) -> usize {
		self.bytes
	}

	pub fn is_empty(&self) -> bool {
		self.items.is_empty()
	}

	/// Everything, in the order it came; nothing is held afterwards.
	pub fn take(&mut self) -> Vec<Packed> {
		self.bytes = 0;
		std::mem::take(&mut self.items)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::xmpp::reader::{XmlLimits, parse_stored};

	fn el(xml: &str) -> Element {
		parse_stored(xml, ns::CLIENT, XmlLimits { max_stanza_bytes: usize::MAX, max_depth: 10, max_attrs: 10, max_elements: usize::MAX })
			.unwrap()
	}

	#[test]
	fn what_can_wait() {
		assert!(!urgent(&el("<presence from='a@x/r'><show>away</show></presence>")));
		assert!(!urgent(&el("<presence from='a@x/r' type='unavailable'/>")));
		assert!(urgent(&el("<presence from='a@x' type='subscribe'/>")));
		assert!(!urgent(&el("<message from='a@x/r'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")));
		assert!(!urgent(&el("<message from='a@x' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'/></message>")));
		assert!(urgent(&el("<message from='a@x/r'><body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>")));
		assert!(urgent(&el("<message from='a@x/r'><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>")));
		assert!(urgent(&el("<iq type='get' id='1'/>")));
	}

	#[test]
	fn newest_presence_per_sender() {
		let mut h = Held::default();
		let pack = |xml| Packed::forced(&el(xml));
		h.push(pack("<presence from='a@x/r'><show>away</show></presence>"));
		h.push(pack("<presence from='b@x/r'/>"));
		let two = h.bytes();
		h.push(pack("<presence from='a@x/r'><show>xa</show></presence>"));
		assert_eq!(h.bytes(), two - "<show>away</show>".len() + "<show>xa</show>".len());
		let got = h.take();
		assert_eq!(got.len(), 2);
		assert_eq!(got[1].unpack().unwrap().child("show", ns::CLIENT).unwrap().text(), "xa");
		assert!(h.is_empty());
		assert_eq!(h.bytes(), 0);
	}
}
