//! XEP-0191: Blocking Command. An account keeps a list of JIDs (full, bare,
//! a domain, or domain/resource) it wants nothing from and sends nothing to:
//! their messages and requests are answered `service-unavailable`, their
//! presence is not shown (they appear offline), and what the account tries
//! to send them is refused with `not-acceptable` + `<blocked/>`. Changes are
//! pushed to the account's resources that asked for the list. The lists are
//! kept in memory too (loaded at start, updated once a change is durable),
//! so routing never reads storage for them. Limit: `max_blocklist_items`.

use std::collections::{BTreeSet, HashMap};

use super::{Cx, Deferred, Feature, IqRoute, Out, Target};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::{BareJid, Jid};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "blocking",
	spec: "XEP-0191 1.3",
	disco: &[ns::BLOCKING],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Get, ns: ns::BLOCKING, name: "blocklist", target: Target::Account, handler: get },
		IqRoute { ty: IqType::Set, ns: ns::BLOCKING, name: "block", target: Target::Account, handler: block },
		IqRoute { ty: IqType::Set, ns: ns::BLOCKING, name: "unblock", target: Target::Account, handler: unblock },
	],
};

/// Every account's block list, in memory.
#[derive(Debug, Default)]
pub struct Blocklists {
	by_user: HashMap<String, BTreeSet<String>>,
}

impl Blocklists {
	pub fn load(rows: Vec<(String, String)>) -> Blocklists {
		let mut b = Blocklists::default();
		for (user, jid) in rows {
			b.by_user.entry(user).or_default().insert(jid);
		}
		b
	}

	/// Does `user` block `jid`? As in XEP-0016 §2.1, an item matches that
	/// very JID (full, or domain/resource), any JID with that bare JID, or
	/// any JID of that domain.
	pub fn blocks(&self, user: &str, jid: &Jid) -> bool {
		let Some(set) = self.by_user.get(user) else { return false };
		set.contains(jid.as_str()) || set.contains(jid.to_bare().as_str()) || set.contains(jid.domain())
	}

	/// A deleted account's list (its stored one is deleted with it).
	pub fn forget(&mut self, user: &str) {
		self.by_user.remove(user);
	}

	fn list(&self, user: &str) -> impl Iterator<Item = &String> {
		self.by_user.get(user).into_iter().flatten()
	}
}

/// The error for sending to someone you block (§3.5).
pub fn blocked_error() -> StanzaError {
	StanzaError::with_app(Condition::NotAcceptable, Element::new("blocked", ns::BLOCKING_ERRORS))
}

fn items(el: &Element) -> Result<Vec<String>, StanzaError> {
	el.children()
		.filter(|c| c.is("item", ns::BLOCKING))
		.map(|i| {
			let jid = i.attr("jid").ok_or(Condition::BadRequest)?;
			Jid::parse(jid).map(|j| j.as_str().to_owned()).map_err(|_| StanzaError::new(Condition::JidMalformed))
		})
		.collect()
}

fn with_items(name: &str, jids: &[String]) -> Element {
	let mut el = Element::new(name, ns::BLOCKING);
	for j in jids {
		el.push(Element::new("item", ns::BLOCKING).with_attr("jid", j.as_str()));
	}
	el
}

fn get(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let user = cx.user().to_owned();
	if let Some(s) = cx.server.sessions.borrow_mut().get_mut(&user, cx.session_id) {
		s.blocklist_wanted = true;
	}
	let jids: Vec<String> = cx.server.blocklists.borrow().list(&user).cloned().collect();
	cx.reply(iq.iq_result().with_child(with_items("blocklist", &jids)));
	Ok(())
}

fn block(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let jids = items(iq.payload().ok_or(Condition::BadRequest)?)?;
	if jids.is_empty() {
		return Err(StanzaError::with_text(Condition::BadRequest, "block at least one JID"));
	}
	let (user, max) = (cx.user().to_owned(), cx.server.config.limits.max_blocklist_items);
	let (ok, full) =
		(iq.iq_result(), iq.error_reply_later(&StanzaError::with_text(Condition::ResourceConstraint, "the block list is full")));
	cx.write(move |tx| {
		if !tx.block(&user, &jids, max)? {
			return Ok(vec![Out::Reply(full.send())]);
		}
		Ok(vec![Out::Reply(ok), Out::Then(Deferred(Box::new(move |cx: &mut Cx| blocked(&user, jids, cx))))])
	});
	Ok(())
}

/// Once a block is durable: remember it, tell the account's resources, and
/// make each side look offline to the other.
fn blocked(user: &str, jids: Vec<String>, cx: &mut Cx) {
	let mut lists = cx.server.blocklists.borrow_mut();
	lists.by_user.entry(user.to_owned()).or_default().extend(jids.iter().cloned());
	drop(lists);
	push(user, with_items("block", &jids), cx);
	for j in &jids {
		if let Ok(contact) = BareJid::parse(j)
			&& let Some(other) = cx.local_user(contact.as_jid()).map(str::to_owned)
		{
			let me = BareJid::new(Some(user), cx.domain()).expect("a bound account's JID");
			super::presence::send_presence_of(user, &contact, true, cx);
			super::presence::send_presence_of(&other, &me, true, cx);
		}
	}
}

fn unblock(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let jids = items(iq.payload().ok_or(Condition::BadRequest)?)?;
	let user = cx.user().to_owned();
	let ok = iq.iq_result();
	cx.write(move |tx| {
		let all = jids.is_empty();
		let removed = tx.unblock(&user, (!all).then_some(jids.as_slice()))?;
		Ok(vec![Out::Reply(ok), Out::Then(Deferred(Box::new(move |cx: &mut Cx| unblocked(&user, removed, all, cx))))])
	});
	Ok(())
}

/// Once an unblock is durable: forget it, tell the resources, and show
/// presence again where subscriptions allow.
fn unblocked(user: &str, removed: Vec<String>, all: bool, cx: &mut Cx) {
	if let Some(set) = cx.server.blocklists.borrow_mut().by_user.get_mut(user) {
		for j in &removed {
			set.remove(j);
		}
	}
	// An <unblock/> without items means all (§3.4); pushed the same way.
	push(user, with_items("unblock", if all { &[] } else { &removed }), cx);
	let Ok(snap) = cx.server.store.snapshot() else { return };
	let me = BareJid::new(Some(user), cx.domain()).expect("a bound account's JID");
	for j in &removed {
		let Ok(contact) = BareJid::parse(j) else { continue };
		let Some(other) = cx.local_user(contact.as_jid()).map(str::to_owned) else { continue };
		if let Ok(Some(e)) = snap.roster_entry(user, contact.as_str()) {
			if e.state.sub.has_from() {
				super::presence::send_presence_of(user, &contact, false, cx);
			}
			if e.state.sub.has_to() {
				super::presence::send_presence_of(&other, &me, false, cx);
			}
		}
	}
}

/// A block list push (§3.3, §3.4) to the resources that asked for the list.
fn push(user: &str, change: Element, cx: &mut Cx) {
	for s in cx.server.sessions.borrow().of(user).iter().filter(|s| s.blocklist_wanted) {
		let mut iq = Element::new("iq", ns::CLIENT).with_attr("type", "set").with_attr("to", s.jid.as_str());
		let mut id = [0u8; 6];
		cx.server.random(&mut id);
		iq.set_attr("id", format!("block{}", id.iter().map(|b| format!("{b:02x}")).collect::<String>()));
		iq.push(change.clone());
		s.send(iq);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn matching_rules() {
		let rows = ["spam@evil.example", "evil.test", "other.example/bot", "full@x.example/phone"];
		let b = Blocklists::load(rows.iter().map(|j| ("alice".to_owned(), j.to_string())).collect());
		let j = |s: &str| Jid::parse(s).unwrap();
		assert!(b.blocks("alice", &j("spam@evil.example/any")));
		assert!(b.blocks("alice", &j("anyone@evil.test")) && b.blocks("alice", &j("evil.test")));
		assert!(b.blocks("alice", &j("other.example/bot")) && !b.blocks("alice", &j("someone@other.example/bot")));
		assert!(b.blocks("alice", &j("full@x.example/phone")) && !b.blocks("alice", &j("full@x.example/desk")));
		assert!(!b.blocks("alice", &j("friend@evil.example")));
		assert!(!b.blocks("bob", &j("spam@evil.example")));
	}
}
