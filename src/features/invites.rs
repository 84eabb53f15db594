//! Onboarding without passwords: XEP-0401 invitations. An invitation is a
//! one-time token inside an `xmpp:` URI. An account invitation (from the
//! admin, `xerra invite add`) lets one new account register in-band
//! (XEP-0077 with the XEP-0445 `<preauth/>`, see `net::register`); a contact
//! invitation (from any user, through the XEP-0050 command
//! `urn:xmpp:invite#invite`) does the same and makes the newcomer and the
//! inviter mutual contacts, and lets an existing account subscribe to the
//! inviter without asking (XEP-0379). Tokens expire after `invite_expiry_days`.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Cx, Feature, IqRoute, Out, Target};
use crate::store::Invite;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::Builder;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "invites",
	spec: "XEP-0401 0.5, XEP-0379 0.3, XEP-0445 0.2, XEP-0050 1.3 (one command)",
	disco: &[ns::COMMANDS],
	account: &[],
	iq: &[IqRoute { ty: IqType::Set, ns: ns::COMMANDS, name: "command", target: Target::Server, handler: command }],
};

/// The one ad-hoc command: create a contact invitation.
pub const INVITE_NODE: &str = "urn:xmpp:invite#invite";

pub fn now_secs() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A fresh token (144 random bits, URL-safe).
pub fn new_token(random: impl FnOnce(&mut [u8])) -> String {
	let mut raw = [0u8; 18];
	random(&mut raw);
	base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
}

/// The invitation URI (XEP-0401 §3): an account invitation registers on the
/// domain; a contact invitation adds the inviter (and may register).
pub fn uri(domain: &str, token: &str, inviter: Option<&str>) -> String {
	match inviter {
		Some(user) => format!("xmpp:{user}@{domain}?roster;preauth={token};ibr=y"),
		None => format!("xmpp:{domain}?register;preauth={token}"),
	}
}

/// The commands the server lists (XEP-0050 §2.2).
pub fn command_items(domain: &str) -> Vec<Element> {
	vec![Element::new("item", ns::DISCO_ITEMS).with_attr("jid", domain).with_attr("node", INVITE_NODE).with_attr("name", "Invite someone")]
}

/// XEP-0050: executing the invite command creates a contact invitation at once.
fn command(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let c = iq.payload().ok_or(Condition::BadRequest)?;
	if c.attr("node") != Some(INVITE_NODE) {
		return Err(StanzaError::new(Condition::ItemNotFound));
	}
	if matches!(c.attr("action"), Some("cancel")) {
		let done = Element::new("command", ns::COMMANDS).with_attr("node", INVITE_NODE).with_attr("status", "canceled");
		cx.reply(iq.iq_result().with_child(done));
		return Ok(());
	}
	let token = new_token(|b| cx.server.random(b));
	let user = cx.user().to_owned();
	let days = u64::from(cx.server.config.limits.invite_expiry_days);
	let invite = Invite { inviter: Some(user.clone()), expires: now_secs() + days * 86_400 };
	let link = uri(cx.domain(), &token, Some(&user));
	let form = Builder::new("result", "urn:xmpp:invite").field("uri", "text-single", Some("Invitation"), &[&link]).build();
	let mut sid = [0u8; 6];
	cx.server.random(&mut sid);
	let done = Element::new("command", ns::COMMANDS)
		.with_attr("node", INVITE_NODE)
		.with_attr("sessionid", sid.iter().map(|b| format!("{b:02x}")).collect::<String>())
		.with_attr("status", "completed")
		.with_child(form);
	let ok = iq.iq_result().with_child(done);
	cx.write(move |tx| {
		tx.create_invite(&token, &invite)?;
		Ok(vec![Out::Reply(ok)])
	});
	Ok(())
}

/// XEP-0379: a subscription request carrying a token the contact handed out
/// is approved without asking. Runs inside the subscription's storage job:
/// true if `token` was `contact`'s and good (it is used up either way).
pub fn preapproved(tx: &crate::store::Tx<'_>, contact: &str, token: &str) -> Result<bool, crate::store::StoreError> {
	let Some(invite) = tx.take_invite(token, now_secs())? else { return Ok(false) };
	if invite.inviter.as_deref() == Some(contact) {
		return Ok(true);
	}
	// Not this contact's token: put it back untouched.
	tx.create_invite(token, &invite)?;
	Ok(false)
}
