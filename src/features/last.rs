//! XEP-0012: Last Activity. Asked of the server, it answers its uptime.
//! Asked of an account's bare JID by someone who may see that account's
//! presence (the account itself, or a contact it shares presence with), it
//! answers 0 while a resource is available, else the seconds since the last
//! one went offline with that presence's status; anyone else gets
//! `forbidden` (§4 and §7).

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Cx, Feature, IqRoute, Out, Target};
use crate::server::Server;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "last",
	spec: "XEP-0012 2.0",
	disco: &[ns::LAST],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Get, ns: ns::LAST, name: "query", target: Target::Server, handler: uptime },
		IqRoute { ty: IqType::Get, ns: ns::LAST, name: "query", target: Target::Account, handler: account },
	],
};

fn query(seconds: u64, status: Option<&str>) -> Element {
	let mut q = Element::new("query", ns::LAST).with_attr("seconds", seconds.to_string());
	if let Some(s) = status {
		q.push_text(s);
	}
	q
}

fn uptime(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.reply(iq.iq_result().with_child(query(cx.server.started.elapsed().as_secs(), None)));
	Ok(())
}

fn account(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let asker = cx.jid.to_bare();
	let user = cx.addressed_account(iq);
	let snap = cx.server.store.snapshot()?;
	if user != cx.user() {
		let entry = snap.roster_entry(&user, asker.as_str())?;
		if !entry.is_some_and(|e| e.state.sub.has_from()) {
			return Err(StanzaError::new(Condition::Forbidden));
		}
	}
	if cx.server.sessions.borrow().available(&user).next().is_some() {
		cx.reply(iq.iq_result().with_child(query(0, None)));
		return Ok(());
	}
	// Read on the writer: the logout just recorded (a queued write) is seen.
	let (ok, missing) = (iq.iq_result(), iq.error_reply_later(&StanzaError::new(Condition::ItemNotFound)));
	cx.write(move |tx| {
		Ok(vec![Out::Reply(match tx.last_activity(&user)? {
			Some((when, status)) => ok.with_child(query(now().saturating_sub(when), status.as_deref())),
			None => missing.send(),
		})])
	});
	Ok(())
}

fn now() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Notes that `user`'s last available resource has gone, if it has.
pub fn record_if_last(server: &Server, user: &str, presence: Option<&Element>) {
	if server.sessions.borrow().available(user).next().is_some() {
		return;
	}
	let status = presence.and_then(|p| p.child("status", ns::CLIENT)).map(Element::text);
	let (user, when) = (user.to_owned(), now());
	server.store.write_detached(move |tx| tx.set_last_activity(&user, when, status.as_deref()));
}
