//! "My devices" as a XEP-0050 command: every SASL2 `<user-agent id>` the
//! person logged in with (XEP-0388), with what it calls itself, when it was
//! last seen and whether it holds a FAST token (XEP-0484). Revoking one
//! forgets it with its tokens and ends its sessions, so a lost phone is
//! signed out and cannot sign back in without the password.
//!
//! One command, two steps, no state between them (as in `adhoc`): the
//! first `execute` answers the list as a form (a `list-multi` of devices to
//! revoke); the submitted form revokes the chosen ones.
//! Revoking writes to storage, so the connection answers in order
//! ([`is_command`], [`execute`]).

use std::time::{Duration, UNIX_EPOCH};

use crate::server::Server;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError, StreamCondition, StreamError};
use crate::xmpp::form::{Builder, Form};
use crate::xmpp::jid::FullJid;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza, StanzaType};

/// The command's node, and its form's FORM_TYPE.
pub const NODE: &str = "urn:xerra:devices";

/// Whether `iq` runs this command on our server: the connection answers
/// it with [`execute`].
pub fn is_command(iq: &Stanza, jid: &FullJid) -> bool {
	iq.ty == StanzaType::Iq(IqType::Set)
		&& iq.payload().is_some_and(|c| c.is("command", ns::COMMANDS) && c.attr("node") == Some(NODE))
		&& iq.to.as_ref().is_none_or(|to| to.node().is_none() && to.resource().is_none() && to.domain() == jid.domain())
}

/// The command in disco#items of the commands node (XEP-0050 §2.2): for
/// everyone with an account here.
pub fn command_items(domain: &str) -> Vec<Element> {
	vec![Element::new("item", ns::DISCO_ITEMS).with_attr("jid", domain).with_attr("node", NODE).with_attr("name", "My devices")]
}

/// Answers the command from `jid`'s session.
pub async fn execute(server: &Server, jid: &FullJid, iq: &Stanza) -> Element {
	match answer(server, jid, iq).await {
		Ok(command) => iq.iq_result().with_child(command),
		Err(e) => iq.error_reply(&e),
	}
}

/// How a device is shown: its name and software, when it was last seen,
/// whether it holds a token, and whether it is this one.
pub fn label(d: &crate::store::Device, this: bool) -> String {
	let what = match (&d.name, &d.software) {
		(Some(n), Some(s)) => format!("{n} ({s})"),
		(Some(n), None) => n.clone(),
		(None, Some(s)) => s.clone(),
		(None, None) => "unnamed device".to_owned(),
	};
	let seen = crate::features::time::stamp(UNIX_EPOCH + Duration::from_secs(d.last_seen)).unwrap_or_default();
	let token = if d.has_tokens() { ", signed in without password" } else { "" };
	let this = if this { ", this device" } else { "" };
	format!("{what}, last seen {seen}{token}{this}")
}

/// Signs `user`'s device `id` out (this command and the console's "My
/// account" page): it is forgotten with its FAST tokens and its sessions
/// end, also one waiting to be resumed (XEP-0198). False: no such device.
pub async fn revoke(server: &Server, user: &str, id: &str) -> Result<bool, crate::store::StoreError> {
	let (u, i) = (user.to_owned(), id.to_owned());
	if !server.store.write(move |tx| tx.remove_device(&u, &i)).await? {
		return Ok(false);
	}
	for s in server.sessions.borrow().of(user).iter().filter(|s| s.device.as_deref() == Some(id)) {
		s.close(StreamError::with_text(StreamCondition::NotAuthorized, "this device was signed out by its owner"));
	}
	log::info!("{user}: device {id} revoked");
	Ok(true)
}

async fn answer(server: &Server, jid: &FullJid, iq: &Stanza) -> Result<Element, StanzaError> {
	let c = iq.payload().ok_or(Condition::BadRequest)?;
	let user = jid.node().unwrap_or_default().to_owned();
	let sessionid = c.attr("sessionid").map(str::to_owned).unwrap_or_else(|| {
		let mut b = [0u8; 8];
		server.random(&mut b);
		b.iter().map(|b| format!("{b:02x}")).collect()
	});
	let reply = |status: &str| {
		Element::new("command", ns::COMMANDS).with_attr("node", NODE).with_attr("sessionid", sessionid.as_str()).with_attr("status", status)
	};
	if c.attr("action") == Some("cancel") {
		return Ok(reply("canceled"));
	}
	let own = server.sessions.borrow().by_jid(jid).and_then(|s| s.device.clone());
	let submitted = c.child("x", ns::DATA_FORMS).filter(|x| x.attr("type") == Some("submit")).map(Form::parse);
	let Some(form) = submitted else {
		let devices = server.store.snapshot().and_then(|s| s.devices(&user)).map_err(|_| Condition::InternalServerError)?;
		let mut field = Element::new("field", ns::DATA_FORMS)
			.with_attr("var", "revoke")
			.with_attr("type", "list-multi")
			.with_attr("label", "Devices to sign out (they need the password to come back)");
		for (id, d) in &devices {
			field.push(
				Element::new("option", ns::DATA_FORMS)
					.with_attr("label", label(d, own.as_deref() == Some(id.as_str())))
					.with_child(Element::new("value", ns::DATA_FORMS).with_text(id.as_str())),
			);
		}
		let mut x = Builder::new("form", NODE).build();
		x.push(Element::new("title", ns::DATA_FORMS).with_text("My devices"));
		x.push(field);
		let actions =
			Element::new("actions", ns::COMMANDS).with_attr("execute", "complete").with_child(Element::new("complete", ns::COMMANDS));
		return Ok(reply("executing").with_child(actions).with_child(x));
	};
	if form.form_type.as_deref().is_some_and(|t| t != NODE) {
		return Err(StanzaError::with_text(Condition::BadRequest, format!("the form's FORM_TYPE is not {NODE}")));
	}
	let ids = form.fields.iter().find(|(v, _)| v == "revoke").map(|(_, vals)| vals.clone()).unwrap_or_default();
	let mut revoked = 0;
	for id in ids {
		if !revoke(server, &user, &id).await.map_err(|_| Condition::InternalServerError)? {
			return Err(StanzaError::with_text(Condition::ItemNotFound, format!("no device {id}")));
		}
		revoked += 1;
	}
	let note = Element::new("note", ns::COMMANDS).with_attr("type", "info").with_text(format!("{revoked} device(s) signed out."));
	Ok(reply("completed").with_child(note))
}
