//! Onboarding without passwords: XEP-0401 invitations. An invitation is a
//! one-time token inside an `xmpp:` URI. An account invitation (from the
//! admin, `xerra invite add`) lets one new account register in-band
//! (XEP-0077 with the XEP-0445 `<preauth/>`, see `net::register`). A contact
//! invitation (through the XEP-0050 command `urn:xmpp:invite#invite`) lets an
//! existing account subscribe to the inviter without asking (XEP-0379); made
//! by an admin (the account role) it also lets a newcomer register, and makes
//! the two mutual contacts (`ibr=y` in its URI). Only admins' invitations
//! make accounts: any user minted them by the hundred (issue 11). Each
//! account has at most `max_invites_per_account` open invitations from the
//! command (`resource-constraint` beyond). Tokens expire after
//! `invite_expiry_days`.

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
/// domain; a contact invitation adds the inviter, and says whether the
/// newcomer may register with it (`ibr=y`; XEP-0401: omitted when the server
/// does not allow it).
pub fn uri(domain: &str, token: &str, inviter: Option<&str>, registers: bool) -> String {
	match inviter {
		Some(user) if registers => format!("xmpp:{user}@{domain}?roster;preauth={token};ibr=y"),
		Some(user) => format!("xmpp:{user}@{domain}?roster;preauth={token}"),
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
	if cx.is_remote() {
		return Err(StanzaError::with_text(Condition::Forbidden, "invitations are for this server's accounts"));
	}
	let token = new_token(|b| cx.server.random(b));
	let user = cx.user().to_owned();
	let admin = cx.server.store.snapshot().and_then(|s| s.is_admin(&user)).map_err(|_| Condition::InternalServerError)?;
	let limits = &cx.server.config.limits;
	let (days, max) = (u64::from(limits.invite_expiry_days), limits.max_invites_per_account);
	let now = now_secs();
	let invite = Invite { inviter: Some(user.clone()), expires: now + days * 86_400, registers: admin, ..Invite::default() };
	let link = uri(cx.domain(), &token, Some(&user), admin);
	let form = Builder::new("result", "urn:xmpp:invite").field("uri", "text-single", Some("Invitation"), &[&link]).build();
	let mut sid = [0u8; 6];
	cx.server.random(&mut sid);
	let done = Element::new("command", ns::COMMANDS)
		.with_attr("node", INVITE_NODE)
		.with_attr("sessionid", sid.iter().map(|b| format!("{b:02x}")).collect::<String>())
		.with_attr("status", "completed")
		.with_child(form);
	let ok = iq.iq_result().with_child(done);
	let full = iq.error_reply_later(&StanzaError::with_text(
		Condition::ResourceConstraint,
		format!("you have {max} open invitations; wait until one is used or expires"),
	));
	// Counted in the transaction that stores the new one, so two at once
	// cannot both slip under the limit.
	cx.write(move |tx| {
		if tx.open_invites_of(&user, now)? >= max {
			return Ok(vec![Out::Reply(full.send())]);
		}
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
