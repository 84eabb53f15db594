//! What occupants and would-be members ask a room for (XEP-0045): voice
//! in a moderated room (§7.13, approved by a moderator as in §8.6), and
//! registration (§7.10), which makes the user a member with a reserved
//! nickname (§7.12 lets them look it up).

use super::room::{Affiliation, Role, Room};
use super::{Cx, persist, send};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::{Form, boolean};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

/// The muc#request form of a message, if it has one.
pub fn request_form(msg: &Element) -> Option<Form> {
	let x = msg.child("x", ns::DATA_FORMS)?;
	let form = Form::parse(x);
	(form.form_type.as_deref() == Some(ns::MUC_REQUEST)).then_some(form)
}

fn field(var: &str, ty: &str, label: &str, value: &str) -> Element {
	Element::new("field", ns::DATA_FORMS)
		.with_attr("var", var)
		.with_attr("type", ty)
		.with_attr("label", label)
		.with_child(Element::new("value", ns::DATA_FORMS).with_text(value))
}

/// A voice request from a visitor (sent on to the moderators as a form to
/// approve), or a moderator's answer to one (the requester gets voice).
pub fn voice(room: &mut Room, me: Option<usize>, form: &Form, cx: &mut Cx) -> Result<(), StanzaError> {
	let i = me.ok_or_else(super::join_first)?;
	if room.occupants[i].role == Role::Moderator {
		// §8.6: the moderator approves (or not).
		if !form.value("muc#request_allow").and_then(boolean).unwrap_or(false) {
			return Ok(());
		}
		let nick = form.value("muc#roomnick").ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "muc#roomnick is missing"))?;
		let target = room.by_nick(nick).ok_or_else(|| StanzaError::with_text(Condition::ItemNotFound, "no such occupant"))?;
		if room.occupants[target].role != Role::Visitor {
			return Ok(());
		}
		let out = room.set_role(i, nick, Role::Participant, None)?;
		send(cx, out);
		return Ok(());
	}
	if !room.config.moderated || room.occupants[i].role != Role::Visitor {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "you have voice already"));
	}
	let o = &room.occupants[i];
	let approval = Element::new("x", ns::DATA_FORMS)
		.with_attr("type", "form")
		.with_child(Element::new("title", ns::DATA_FORMS).with_text("Voice request"))
		.with_child(Element::new("instructions", ns::DATA_FORMS).with_text("Give this occupant voice?"))
		.with_child(field("FORM_TYPE", "hidden", "", ns::MUC_REQUEST))
		.with_child(field("muc#role", "list-single", "Requested role", "participant"))
		.with_child(field("muc#jid", "jid-single", "User ID", o.jid().as_str()))
		.with_child(field("muc#roomnick", "text-single", "Room nickname", &o.nick))
		.with_child(field("muc#request_allow", "boolean", "Grant voice?", "false"));
	let msgs: Vec<Element> = room
		.occupants
		.iter()
		.filter(|m| m.role == Role::Moderator)
		.flat_map(|m| m.sessions.iter())
		.map(|s| {
			Element::new("message", ns::CLIENT)
				.with_attr("from", room.jid.as_str())
				.with_attr("to", s.jid.as_str())
				.with_child(approval.clone())
		})
		.collect();
	send(cx, msgs);
	Ok(())
}

/// `jabber:iq:register` to a room: the form (or the nick already
/// registered), or a submitted form that registers.
pub fn register(stanza: &Stanza, t: IqType, room: &mut Room, cx: &mut Cx) -> Result<(), StanzaError> {
	let bare = cx.jid.to_bare().as_str().to_owned();
	let aff = room.affiliation(&bare);
	if aff == Affiliation::Outcast {
		return Err(StanzaError::with_text(Condition::Forbidden, "you are banned from this room"));
	}
	if room.config.members_only && aff < Affiliation::Member {
		return Err(StanzaError::with_text(Condition::RegistrationRequired, "only members may register with this room"));
	}
	let q = stanza.payload().ok_or(Condition::BadRequest)?;
	if t == IqType::Get {
		let mut answer = Element::new("query", ns::REGISTER);
		match room.nicks.get(&bare) {
			Some(nick) => {
				answer.push(Element::new("registered", ns::REGISTER));
				answer.push(Element::new("username", ns::REGISTER).with_text(nick.as_str()));
			}
			None => {
				answer.push(Element::new("instructions", ns::REGISTER).with_text("Choose the nickname to keep in this room."));
				let mut nick = field("muc#register_roomnick", "text-single", "Nickname", "");
				nick.retain_children(|_| false);
				nick.push(Element::new("required", ns::DATA_FORMS));
				answer.push(
					Element::new("x", ns::DATA_FORMS)
						.with_attr("type", "form")
						.with_child(Element::new("title", ns::DATA_FORMS).with_text("Register with the room"))
						.with_child(field("FORM_TYPE", "hidden", "", ns::MUC_REGISTER))
						.with_child(nick),
				);
			}
		}
		cx.reply(stanza.iq_result().with_child(answer));
		return Ok(());
	}
	if q.child("remove", ns::REGISTER).is_some() {
		room.nicks.remove(&bare);
		if aff == Affiliation::Member {
			room.affiliations.remove(&bare);
		}
		persist(room, cx);
		cx.reply(stanza.iq_result());
		return Ok(());
	}
	let form =
		q.child("x", ns::DATA_FORMS).map(Form::parse).ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "a form is needed"))?;
	if form.form_type.as_deref() != Some(ns::MUC_REGISTER) {
		return Err(StanzaError::with_text(Condition::BadRequest, "wrong FORM_TYPE"));
	}
	let nick = form.value("muc#register_roomnick").map(str::trim).filter(|n| !n.is_empty());
	let nick = nick.ok_or_else(|| StanzaError::with_text(Condition::NotAcceptable, "a nickname is needed"))?.to_owned();
	let taken_by_occupant = room.by_nick(&nick).is_some_and(|i| room.occupants[i].bare().as_str() != bare);
	if taken_by_occupant || room.nick_holder(&nick).is_some_and(|h| h != bare) {
		return Err(StanzaError::with_text(Condition::Conflict, "that nickname is taken"));
	}
	room.nicks.insert(bare.clone(), nick);
	if aff < Affiliation::Member {
		room.affiliations.insert(bare, Affiliation::Member);
	}
	persist(room, cx);
	cx.reply(stanza.iq_result());
	Ok(())
}

/// §7.12: disco#info on the node x-roomuser-item names the asker's
/// reserved nickname (no identity if there is none).
pub fn reserved_nick(stanza: &Stanza, room: &Room, cx: &mut Cx) {
	let mut q = Element::new("query", ns::DISCO_INFO).with_attr("node", "x-roomuser-item");
	if let Some(nick) = room.nicks.get(cx.jid.to_bare().as_str()) {
		q.push(
			Element::new("identity", ns::DISCO_INFO)
				.with_attr("category", "conference")
				.with_attr("type", "text")
				.with_attr("name", nick.as_str()),
		);
	}
	cx.reply(stanza.iq_result().with_child(q));
}
