//! XEP-0049: Private XML Storage. A client keeps small XML fragments on its
//! own account, one per (namespace, element name); older clients keep their
//! bookmarks here (XEP-0048 over XEP-0049). Per-account total:
//! `max_private_bytes`.

use super::{Cx, Feature, IqRoute, Out, Target};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "private",
	spec: "XEP-0049 1.2",
	// On the server, where clients look for it (poezio; Prosody does the same).
	disco: &[ns::PRIVATE],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Get, ns: ns::PRIVATE, name: "query", target: Target::Account, handler: get },
		IqRoute { ty: IqType::Set, ns: ns::PRIVATE, name: "query", target: Target::Account, handler: set },
	],
};

/// The one child of the query, its storage key, after the checks of §3.
fn fragment<'a>(iq: &'a Stanza, cx: &Cx) -> Result<(&'a Element, String), StanzaError> {
	// Only one's own storage (§3: forbidden otherwise).
	cx.own_account_only(iq)?;
	let query = iq.payload().ok_or(Condition::BadRequest)?;
	let mut children = query.children();
	let (Some(child), None) = (children.next(), children.next()) else {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "exactly one element, please"));
	};
	if [ns::CLIENT, "jabber:server", ns::PRIVATE].contains(&child.ns()) {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "that namespace cannot be stored"));
	}
	Ok((child, format!("{} {}", child.ns(), child.name())))
}

fn get(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let (asked, key) = fragment(iq, cx)?;
	let stored = cx.server.store.snapshot().and_then(|s| s.private(cx.user(), &key))?;
	// Nothing stored: the empty element comes back, as asked (§3).
	let el = match stored {
		Some(xml) => cx.stored_xml(&xml, ns::PRIVATE)?,
		None => asked.shallow_clone(),
	};
	cx.reply(iq.iq_result().with_child(Element::new("query", ns::PRIVATE).with_child(el)));
	Ok(())
}

fn set(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let (el, key) = fragment(iq, cx)?;
	let xml = el.to_xml(ns::PRIVATE);
	let (user, max) = (cx.user().to_owned(), cx.server.config.limits.max_private_bytes);
	let (ok, full) =
		(iq.iq_result(), iq.error_reply_later(&StanzaError::with_text(Condition::ResourceConstraint, "private storage is full")));
	// Old-style bookmarks are mirrored to XEP-0402 (§5.3).
	let bookmarks = (key == super::bookmarks::LEGACY_KEY).then(|| el.clone());
	let limits = super::pep::limits(cx);
	cx.write(move |tx| {
		if !tx.put_private(&user, &key, &xml, max)? {
			return Ok(vec![Out::Reply(full.send())]);
		}
		let mut outs = vec![Out::Reply(ok)];
		if let Some(storage) = &bookmarks {
			outs.extend(super::bookmarks::legacy_stored(tx, &user, storage, false, limits, max)?);
		}
		Ok(outs)
	});
	Ok(())
}
