//! Department groups (shared roster groups): the admin puts accounts into
//! named groups (first-boot wizard, `xerra group`), and every two members of
//! a group become each other's contacts with subscription "both" and the
//! group as roster group, without a subscription handshake. The roster rows
//! are written for real (like any other contact), so clients need no
//! support for this and presence works through the usual RFC 6121 rules.
//! A contact a group brings is named as its vCard names the account (the
//! wizard writes the full name it was given there), unless the user had
//! named it already.

use std::collections::BTreeMap;

use crate::features::Out;
use crate::proto::subscription::Sub;
use crate::store::{RosterEntry, Snapshot, StoreError, Tx};
use crate::xmpp::element::Element;
use crate::xmpp::jid::BareJid;
use crate::xmpp::ns;
use crate::xmpp::reader::{XmlLimits, parse_stored};

/// Longest roster name taken from a vCard (bytes; as a client may set).
const MAX_NAME_BYTES: usize = 1023;

/// Longest group name.
pub const MAX_GROUP_CHARS: usize = 64;

pub fn check_name(group: &str) -> Result<&str, String> {
	let g = group.trim();
	if g.is_empty() || g.chars().count() > MAX_GROUP_CHARS || g.chars().any(char::is_control) {
		return Err(format!("a group name has 1 to {MAX_GROUP_CHARS} characters, no control characters"));
	}
	Ok(g)
}

/// Adds `member` to `group` and links them with every other member. False
/// if they were in it already.
pub fn join(tx: &Tx<'_>, domain: &str, group: &str, member: &str, outs: &mut Vec<Out>) -> Result<bool, StoreError> {
	let others: Vec<String> = tx.members(group)?.into_iter().filter(|m| m != member).collect();
	if !tx.add_group_member(group, member)? {
		return Ok(false);
	}
	for other in &others {
		let newly = link(tx, domain, member, other, group, outs)?;
		link(tx, domain, other, member, group, outs)?;
		if newly {
			// Now subscribed both ways: each sees the other's current presence.
			outs.push(Out::PresenceOf { of: other.clone(), to: jid(member, domain) });
			outs.push(Out::PresenceOf { of: member.to_owned(), to: jid(other, domain) });
		}
	}
	Ok(true)
}

/// `a` and `b` become mutual contacts (an accepted invitation, XEP-0401).
pub fn befriend(tx: &Tx<'_>, domain: &str, a: &str, b: &str, outs: &mut Vec<Out>) -> Result<(), StoreError> {
	link(tx, domain, a, b, "", outs)?;
	link(tx, domain, b, a, "", outs)?;
	Ok(())
}

/// `user` gets `contact` in its roster with subscription both and `group`
/// (if not empty) among its groups. True if the subscription was not both before.
fn link(tx: &Tx<'_>, domain: &str, user: &str, contact: &str, group: &str, outs: &mut Vec<Out>) -> Result<bool, StoreError> {
	let contact_jid = jid(contact, domain);
	let old = tx.roster_entry(user, contact_jid.as_str())?.unwrap_or_default();
	let mut entry = RosterEntry { in_roster: true, ..old.clone() };
	entry.state.sub = Sub::Both;
	entry.state.pending_out = false;
	entry.state.pending_in = false;
	entry.request_status = None;
	if !group.is_empty() && !entry.groups.iter().any(|g| g == group) {
		entry.groups.push(group.to_owned());
	}
	// Clients show the roster name, else the bare address (Dino, Converse).
	if entry.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
		entry.name = display_name(tx, contact)?;
	}
	crate::features::presence::save(tx, user, contact_jid.as_str(), &old, &entry, outs)?;
	Ok(old.state.sub != Sub::Both)
}

/// Removes `member` from `group`; the group label goes from both sides'
/// roster items, and contacts that no longer share a group are removed.
pub fn leave(tx: &Tx<'_>, domain: &str, group: &str, member: &str, outs: &mut Vec<Out>) -> Result<bool, StoreError> {
	if !tx.remove_group_member(group, member)? {
		return Ok(false);
	}
	let shared = tx.group_members()?;
	let groups_of = |u: &str| shared.iter().filter(|(_, m)| m == u).map(|(g, _)| g.clone()).collect::<Vec<_>>();
	let mine = groups_of(member);
	for other in tx.members(group)? {
		let still_linked = groups_of(&other).iter().any(|g| mine.contains(g));
		for (user, contact) in [(member, other.as_str()), (other.as_str(), member)] {
			let contact_jid = jid(contact, domain);
			let Some(old) = tx.roster_entry(user, contact_jid.as_str())? else { continue };
			let mut entry = old.clone();
			entry.groups.retain(|g| g != group);
			if !still_linked && entry.groups.is_empty() {
				entry = RosterEntry::default();
				outs.push(Out::UnavailableOf { of: contact.to_owned(), to: jid(user, domain) });
			}
			crate::features::presence::save(tx, user, contact_jid.as_str(), &old, &entry, outs)?;
		}
	}
	Ok(true)
}

/// Deletes `group`: every member leaves it (as with [`leave`]). False if
/// there was no such group.
pub fn delete(tx: &Tx<'_>, domain: &str, group: &str, outs: &mut Vec<Out>) -> Result<bool, StoreError> {
	let marker = tx.remove_group_member(group, "")?;
	let members = tx.members(group)?;
	for m in &members {
		leave(tx, domain, group, m, outs)?;
	}
	Ok(marker || !members.is_empty())
}

/// Renames `group` to `to`, with the roster group label in every member's
/// items of the others (pushed to them). False if there was no such group;
/// `to` must not exist.
pub fn rename(tx: &Tx<'_>, domain: &str, group: &str, to: &str, outs: &mut Vec<Out>) -> Result<bool, StoreError> {
	let marker = tx.remove_group_member(group, "")?;
	let members = tx.members(group)?;
	if !marker && members.is_empty() {
		return Ok(false);
	}
	tx.add_group_member(to, "")?;
	for m in &members {
		tx.remove_group_member(group, m)?;
		tx.add_group_member(to, m)?;
	}
	for user in &members {
		for contact in members.iter().filter(|c| *c != user) {
			let contact_jid = jid(contact, domain);
			let Some(old) = tx.roster_entry(user, contact_jid.as_str())? else { continue };
			let mut entry = old.clone();
			for g in entry.groups.iter_mut().filter(|g| *g == group) {
				to.clone_into(g);
			}
			if entry != old {
				crate::features::presence::save(tx, user, contact_jid.as_str(), &old, &entry, outs)?;
			}
		}
	}
	Ok(true)
}

/// Groups with their members, sorted.
pub fn list(snapshot: &Snapshot) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
	let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
	for (g, m) in snapshot.group_members()? {
		out.entry(g).or_default().push(m);
	}
	Ok(out)
}

/// The name an account goes by: its vCard's FN, else its NICKNAME (XEP-0054).
pub fn display_name(tx: &Tx<'_>, user: &str) -> Result<Option<String>, StoreError> {
	Ok(display_name_in(tx.vcard(user)?.as_deref()))
}

/// The name a stored vCard gives (FN, else NICKNAME), cut to a roster name's length.
pub fn display_name_in(vcard: Option<&str>) -> Option<String> {
	let card = vcard.and_then(|xml| parse_stored(xml, ns::VCARD, XmlLimits::unlimited()))?;
	let name = ["FN", "NICKNAME"].into_iter().find_map(|n| card.child(n, ns::VCARD).map(Element::text).filter(|t| !t.trim().is_empty()));
	name.map(|n| {
		let n = n.trim();
		let mut end = n.len().min(MAX_NAME_BYTES);
		while !n.is_char_boundary(end) {
			end -= 1;
		}
		n[..end].to_owned()
	})
}

/// The vCard the wizard gives an account: the full name it was told.
pub fn named_vcard(full_name: &str) -> String {
	Element::new("vCard", ns::VCARD).with_child(Element::new("FN", ns::VCARD).with_text(full_name)).to_xml(ns::VCARD)
}

fn jid(user: &str, domain: &str) -> BareJid {
	BareJid::new(Some(user), domain).expect("prepared parts form a valid JID")
}
