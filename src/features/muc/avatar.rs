//! XEP-0486 MUC Avatars: a room's vCard (XEP-0054) holds its picture. Owners
//! set it, anyone reads it, and the room's disco#info carries the photo's
//! hash so clients know when to fetch it again.

use super::room::{Affiliation, Room};
use super::{no_such_room, persist, send};
use crate::features::Cx;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::ns;
use crate::xmpp::stanza::Stanza;

/// The room's vCard, or an empty one (as for accounts without one).
pub fn get(stanza: &Stanza, name: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let svc = cx.server.muc.borrow();
	let room = svc.rooms.get(name).ok_or_else(no_such_room)?;
	let card = room.vcard.clone().unwrap_or_else(|| Element::new("vCard", ns::VCARD));
	drop(svc);
	cx.reply(stanza.iq_result().with_child(card));
	Ok(())
}

/// An owner sets the room's vCard (§3.2); an empty one takes the avatar
/// away. Occupants are told the configuration changed (status 104).
pub fn set(stanza: &Stanza, name: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let card = stanza.payload().ok_or(Condition::BadRequest)?;
	if card.to_xml(ns::VCARD).len() > cx.server.config.limits.max_vcard_bytes {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "vCard too large"));
	}
	let mut svc = cx.server.muc.borrow_mut();
	let room = svc.rooms.get_mut(name).ok_or_else(no_such_room)?;
	if room.affiliation(cx.jid.to_bare().as_str()) != Affiliation::Owner {
		return Err(StanzaError::with_text(Condition::Forbidden, "only owners may set the room's avatar"));
	}
	room.vcard = (card.children().next().is_some()).then(|| card.clone());
	let out = room.notice(&[104]);
	persist(room, cx);
	drop(svc);
	cx.reply(stanza.iq_result());
	send(cx, out);
	Ok(())
}

/// `muc#roominfo_avatarhash` values (§3.3): none without a picture.
pub fn hashes(room: &Room) -> Vec<String> {
	room.vcard.as_ref().map(crate::features::avatar::photo_hashes).unwrap_or_default()
}
