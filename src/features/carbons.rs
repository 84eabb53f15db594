//! XEP-0280: Message Carbons. A resource that enables carbons gets a copy
//! of the chat its account's other resources send (`<sent/>`) and receive
//! (`<received/>`), so every device of a person shows the whole
//! conversation. Eligible (§6): chat messages, and normal ones with a body;
//! never those marked `<private/>` or with a no-copy hint.

use super::{Cx, Feature, IqRoute, Target};
use crate::xmpp::element::Element;
use crate::xmpp::error::StanzaError;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "carbons",
	spec: "XEP-0280 1.0.1",
	disco: &[ns::CARBONS],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Set, ns: ns::CARBONS, name: "enable", target: Target::Account, handler: enable },
		IqRoute { ty: IqType::Set, ns: ns::CARBONS, name: "disable", target: Target::Account, handler: disable },
	],
};

fn enable(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	switch(iq, cx, true)
}

fn disable(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	switch(iq, cx, false)
}

fn switch(iq: &Stanza, cx: &mut Cx, on: bool) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let user = cx.user().to_owned();
	if let Some(s) = cx.server.sessions.borrow_mut().get_mut(&user, cx.session_id) {
		s.carbons = on;
	}
	cx.reply(iq.iq_result());
	Ok(())
}

/// Whether a message (as routed, with full `from` and `to`) gets carbons.
pub fn eligible(el: &Element) -> bool {
	let kind_ok = match el.attr("type") {
		Some("chat") => true,
		None | Some("normal") => el.child("body", ns::CLIENT).is_some(),
		_ => false,
	};
	kind_ok
		&& el.child("private", ns::CARBONS).is_none()
		&& el.child("no-copy", ns::HINTS).is_none()
		&& el.child("received", ns::CARBONS).is_none()
		&& el.child("sent", ns::CARBONS).is_none()
}

/// Copies `el` as `<sent/>` (from `user`'s session `except`) or `<received/>`
/// to `user`'s carbon-enabled resources other than `except`.
pub fn copy(el: &Element, user: &str, except: &[u64], sent: bool, cx: &Cx) {
	let sessions = cx.server.sessions.borrow();
	let mut targets = sessions.of(user).iter().filter(|s| s.carbons && !except.contains(&s.id)).peekable();
	if targets.peek().is_none() {
		return;
	}
	let bare = format!("{user}@{}", cx.domain());
	let wrapper = Element::new(if sent { "sent" } else { "received" }, ns::CARBONS)
		.with_child(Element::new("forwarded", ns::FORWARD).with_child(el.clone()));
	for s in targets {
		let mut m = Element::new("message", ns::CLIENT).with_attr("from", bare.as_str()).with_attr("to", s.jid.as_str());
		if let Some(t) = el.attr("type") {
			m.set_attr("type", t);
		}
		m.push(wrapper.clone());
		s.send(m);
	}
}
