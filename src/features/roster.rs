//! RFC 6121 §2: roster get, set and remove, with pushes, and roster
//! versioning (§2.6, XEP-0237). The version is a counter per account; a get
//! with the current version returns no items, any other gets the full roster.

use super::{Cx, Feature, IqRoute, Out, Target, presence};
use crate::proto::subscription::SubKind;
use crate::store::{RosterEntry, StoreError, Tx};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::BareJid;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "roster",
	spec: "RFC 6121 §2, XEP-0237",
	// As Prosody announces it on the server.
	disco: &[ns::ROSTER],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Get, ns: ns::ROSTER, name: "query", target: Target::Account, handler: get },
		IqRoute { ty: IqType::Set, ns: ns::ROSTER, name: "query", target: Target::Account, handler: set },
	],
};

/// Longest item name or group name we keep.
const MAX_NAME_BYTES: usize = 1023;
/// Most groups on one item.
const MAX_GROUPS: usize = 64;

/// `<item/>` as clients see it.
pub fn item_element(contact: &str, e: &RosterEntry) -> Element {
	let mut item = Element::new("item", ns::ROSTER).with_attr("jid", contact);
	if !e.in_roster {
		item.set_attr("subscription", "remove");
		return item;
	}
	if let Some(name) = &e.name {
		item.set_attr("name", name.as_str());
	}
	item.set_attr("subscription", e.state.sub.as_str());
	if e.state.pending_out {
		item.set_attr("ask", "subscribe");
	}
	if e.state.approved {
		item.set_attr("approved", "true");
	}
	for g in &e.groups {
		item.push(Element::new("group", ns::ROSTER).with_text(g.as_str()));
	}
	item
}

fn get(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	// Only one's own roster (RFC 6121 §2.1.3).
	cx.own_account_only(iq)?;
	let user = cx.user().to_owned();
	if let Some(s) = cx.server.sessions.borrow_mut().get_mut(&user, cx.session_id) {
		s.interested = true;
	}
	let snap = cx.server.store.snapshot()?;
	let ver = snap.roster_version(&user)?.to_string();
	// RFC 6121 §2.6.3: same version → empty result, pushes follow as usual.
	if iq.payload().and_then(|q| q.attr("ver")) == Some(ver.as_str()) {
		cx.reply(iq.iq_result());
		return Ok(());
	}
	let mut query = Element::new("query", ns::ROSTER).with_attr("ver", ver);
	for (contact, entry) in snap.roster(&user)? {
		if entry.in_roster {
			query.push(item_element(&contact, &entry));
		}
	}
	cx.reply(iq.iq_result().with_child(query));
	Ok(())
}

/// What a roster set asks for, checked.
struct ItemSet {
	contact: BareJid,
	name: Option<String>,
	groups: Vec<String>,
	remove: bool,
}

fn parse_set(iq: &Stanza) -> Result<ItemSet, StanzaError> {
	let query = iq.payload().ok_or(Condition::BadRequest)?;
	let mut items = query.children().filter(|c| c.is("item", ns::ROSTER));
	let (Some(item), None) = (items.next(), items.next()) else {
		return Err(StanzaError::with_text(Condition::BadRequest, "a roster set carries exactly one item"));
	};
	let jid = item.attr("jid").ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "item without jid"))?;
	let contact = BareJid::parse(jid).map_err(|e| StanzaError::with_text(Condition::JidMalformed, e.to_string()))?;
	let name = item.attr("name").filter(|n| !n.is_empty()).map(str::to_owned);
	if name.as_ref().is_some_and(|n| n.len() > MAX_NAME_BYTES) {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "name too long"));
	}
	let mut groups = Vec::new();
	for g in item.children().filter(|c| c.is("group", ns::ROSTER)) {
		let g = g.text();
		// RFC 6121 §2.3.3: empty group names are not acceptable, duplicates are a bad request.
		if g.is_empty() || g.len() > MAX_NAME_BYTES {
			return Err(StanzaError::with_text(Condition::NotAcceptable, "empty or over-long group name"));
		}
		if groups.contains(&g) {
			return Err(StanzaError::with_text(Condition::BadRequest, "duplicate group"));
		}
		groups.push(g);
	}
	if groups.len() > MAX_GROUPS {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "too many groups"));
	}
	// §2.1.2.5: subscription values other than "remove" are ignored.
	let remove = item.attr("subscription") == Some("remove");
	Ok(ItemSet { contact, name, groups, remove })
}

fn set(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	// Only one's own roster (RFC 6121 §2.1.3).
	cx.own_account_only(iq)?;
	let req = parse_set(iq)?;
	if req.contact == cx.jid.to_bare() {
		return Err(StanzaError::with_text(Condition::NotAllowed, "you cannot add yourself"));
	}
	let user = cx.user().to_owned();
	let domain = cx.domain().to_owned();
	let max = cx.server.config.limits.max_roster_items;
	let result = iq.iq_result();
	let iq = iq.clone();
	cx.write(move |tx| {
		let done = if req.remove { remove(tx, &domain, &user, &req.contact) } else { update(tx, &user, &req, max) };
		Ok(match done? {
			Ok(mut outs) => {
				outs.insert(0, Out::Reply(result));
				outs
			}
			Err(e) => vec![Out::Reply(iq.error_reply(&e))],
		})
	});
	Ok(())
}

type Outcome = Result<Result<Vec<Out>, StanzaError>, StoreError>;

fn update(tx: &Tx<'_>, user: &str, req: &ItemSet, max: usize) -> Outcome {
	let old = tx.roster_entry(user, req.contact.as_str())?.unwrap_or_default();
	if !old.in_roster && tx.roster(user)?.iter().filter(|(_, e)| e.in_roster).count() >= max {
		return Ok(Err(StanzaError::with_text(Condition::NotAllowed, "roster is full")));
	}
	let entry = RosterEntry { in_roster: true, name: req.name.clone(), groups: req.groups.clone(), ..old.clone() };
	let mut outs = Vec::new();
	presence::save(tx, user, req.contact.as_str(), &old, &entry, &mut outs)?;
	Ok(Ok(outs))
}

/// RFC 6121 §2.5.2: removing an item also ends both directions of the
/// subscription, as if the user had sent unsubscribe and unsubscribed.
fn remove(tx: &Tx<'_>, domain: &str, user: &str, contact: &BareJid) -> Outcome {
	let Some(old) = tx.roster_entry(user, contact.as_str())?.filter(|e| e.in_roster) else {
		return Ok(Err(StanzaError::new(Condition::ItemNotFound)));
	};
	let mut outs = Vec::new();
	let from = format!("{user}@{domain}");
	let stanza = |ty: &str| {
		Element::new("presence", ns::CLIENT).with_attr("type", ty).with_attr("from", from.as_str()).with_attr("to", contact.as_str())
	};
	if old.state.sub.has_to() || old.state.pending_out {
		outs.extend(presence::outbound(tx, domain, user, contact, SubKind::Unsubscribe, stanza("unsubscribe"), presence::Caps::NONE)?);
	}
	if old.state.sub.has_from() || old.state.pending_in {
		outs.extend(presence::outbound(tx, domain, user, contact, SubKind::Unsubscribed, stanza("unsubscribed"), presence::Caps::NONE)?);
	}
	let now = tx.roster_entry(user, contact.as_str())?.unwrap_or_default();
	presence::save(tx, user, contact.as_str(), &now, &RosterEntry::default(), &mut outs)?;
	Ok(Ok(outs))
}
