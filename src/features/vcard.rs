//! XEP-0054: vcard-temp. Each account stores one vCard (its own, with `set`
//! and no `to`); anyone may read an account's vCard (§2: vCards are public).
//! Clients keep their avatar in it (PHOTO), so `max_vcard_bytes` is sized
//! for a small photo.

use super::{Cx, Feature, IqRoute, Out, Target};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "vcard",
	spec: "XEP-0054 1.2",
	disco: &[ns::VCARD],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Get, ns: ns::VCARD, name: "vCard", target: Target::Account, handler: get },
		IqRoute { ty: IqType::Set, ns: ns::VCARD, name: "vCard", target: Target::Account, handler: set },
	],
};

fn get(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let user = cx.addressed_account(iq);
	cx.reply(iq.iq_result().with_child(card_of(&user, cx)?));
	Ok(())
}

/// A local account's vCard; an empty one when none was set (what clients
/// expect, rather than an error). Rooms answer with it for occupants too.
pub fn card_of(user: &str, cx: &Cx) -> Result<Element, StanzaError> {
	let stored = cx.server.store.snapshot().and_then(|s| s.vcard(user))?;
	match stored {
		Some(xml) => cx.stored_xml(&xml, ns::VCARD),
		None => Ok(Element::new("vCard", ns::VCARD)),
	}
}

fn set(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let card = iq.payload().ok_or(Condition::BadRequest)?;
	let xml = card.to_xml(ns::VCARD);
	if xml.len() > cx.server.config.limits.max_vcard_bytes {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "vCard too large"));
	}
	let user = cx.user().to_owned();
	let ok = iq.iq_result();
	let card = card.clone();
	let limits = super::pep::limits(cx);
	cx.write(move |tx| {
		tx.put_vcard(&user, &xml)?;
		// XEP-0398: the PHOTO is the XEP-0084 avatar too.
		let mut outs = vec![Out::Reply(ok)];
		outs.extend(super::avatar::vcard_to_pep(tx, &user, &card, limits)?);
		Ok(outs)
	});
	Ok(())
}
