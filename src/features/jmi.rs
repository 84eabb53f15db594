//! XEP-0353: Jingle Message Initiation, the call invitations of
//! Conversations, Monal, Dino, Gajim and Movim: `<propose/>`, `<retract/>`,
//! `<accept/>`, `<reject/>`, `<proceed/>`, `<ringing/>`, `<finish/>` in chat
//! messages with a `<store/>` hint, in `urn:xmpp:jingle-message:0` (and
//! `:1`, which some clients send). The server's part is routing: a call to
//! the bare JID rings every available device (the router), archives and
//! offline storage keep them (`mam::worth_keeping`, `offline`), carbons copy
//! them (chat messages), and a proposal wakes a phone with a push
//! notification marked as a call (`push`).

use super::Feature;
use crate::xmpp::element::Element;
use crate::xmpp::ns;

pub const FEATURE: Feature = Feature { name: "jmi", spec: "XEP-0353 0.6.0", disco: &[], account: &[], iq: &[] };

/// What a JMI message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
	Propose,
	Retract,
	Accept,
	Reject,
	Proceed,
	Ringing,
	Finish,
}

/// The JMI action a message carries, if any.
pub fn action(el: &Element) -> Option<Action> {
	el.children().filter(|c| matches!(c.ns(), ns::JINGLE_MESSAGE | ns::JINGLE_MESSAGE_1)).find_map(|c| {
		Some(match c.name() {
			"propose" => Action::Propose,
			"retract" => Action::Retract,
			"accept" => Action::Accept,
			"reject" => Action::Reject,
			"proceed" => Action::Proceed,
			"ringing" => Action::Ringing,
			"finish" => Action::Finish,
			_ => return None,
		})
	})
}

/// An incoming call: every device of the callee should ring.
pub fn is_call(el: &Element) -> bool {
	action(el) == Some(Action::Propose)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn msg(name: &str, ns: &str) -> Element {
		Element::new("message", ns::CLIENT).with_attr("type", "chat").with_child(Element::new(name, ns).with_attr("id", "c1"))
	}

	#[test]
	fn actions_in_both_namespaces() {
		assert_eq!(action(&msg("propose", ns::JINGLE_MESSAGE)), Some(Action::Propose));
		assert_eq!(action(&msg("ringing", ns::JINGLE_MESSAGE_1)), Some(Action::Ringing));
		assert_eq!(action(&msg("finish", ns::JINGLE_MESSAGE)), Some(Action::Finish));
		assert_eq!(action(&msg("propose", "urn:xmpp:jingle:1")), None);
		assert_eq!(action(&msg("body", ns::CLIENT)), None);
		assert!(is_call(&msg("propose", ns::JINGLE_MESSAGE_1)));
		assert!(!is_call(&msg("retract", ns::JINGLE_MESSAGE)));
	}
}
