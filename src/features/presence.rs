//! RFC 6121 §3 and §4: presence subscriptions, broadcast, probes, directed
//! presence and unavailable presence when a session ends.
//!
//! Subscription changes touch two rosters (user's and contact's), so they run
//! as one storage job on the writer thread, where the state machine of
//! `proto::subscription` sees every earlier change. Broadcasts only read.
//!
//! What a stranger can make an account keep is bounded ([`Caps`]): at most
//! `max_pending_subscriptions` requests wait for its answer (one more gets
//! `resource-constraint`), each with one `<status/>` of at most
//! `max_subscription_status_bytes` (cut, not refused), so what login
//! replays is bounded too.

use super::{Cx, Feature, Out, offline};
use crate::config::Limits;
use crate::proto::subscription::{SubKind, request_status};
use crate::server::Server;
use crate::sessions::Session;
use crate::store::{RosterEntry, StoreError, Tx};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::{BareJid, Jid};
use crate::xmpp::ns;
use crate::xmpp::stanza::{PresenceType, Stanza};

pub const FEATURE: Feature = Feature { name: "presence", spec: "RFC 6121 §3-4", disco: &[], account: &[], iq: &[] };

/// The limits a subscription change checks.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
	/// Items in the user's roster (a request adds one).
	pub roster_items: usize,
	/// Requests waiting for one account's answer.
	pub pending: usize,
	/// Bytes of a request's `<status/>`.
	pub status_bytes: usize,
}

impl Caps {
	pub fn of(l: &Limits) -> Caps {
		Caps { roster_items: l.max_roster_items, pending: l.max_pending_subscriptions, status_bytes: l.max_subscription_status_bytes }
	}

	/// For changes that only take away (unsubscribe, unsubscribed).
	pub const NONE: Caps = Caps { roster_items: usize::MAX, pending: usize::MAX, status_bytes: usize::MAX };
}

/// A presence stanza from the client.
pub fn handle(stanza: &Stanza, t: PresenceType, cx: &mut Cx) {
	let kind = match t {
		PresenceType::Subscribe => Some(SubKind::Subscribe),
		PresenceType::Subscribed => Some(SubKind::Subscribed),
		PresenceType::Unsubscribe => Some(SubKind::Unsubscribe),
		PresenceType::Unsubscribed => Some(SubKind::Unsubscribed),
		_ => None,
	};
	match (&stanza.to, kind) {
		(Some(to), Some(kind)) => subscription(stanza, to, kind, cx),
		(None, Some(_)) => reply_error(stanza, Condition::BadRequest, cx),
		(None, None) if matches!(t, PresenceType::Available | PresenceType::Unavailable) => broadcast(stanza, t, cx),
		(None, None) => {}
		(Some(to), None) if t == PresenceType::Probe => probe(to, cx),
		(Some(to), None) => directed(stanza, to, t, cx),
	}
}

fn reply_error(stanza: &Stanza, c: Condition, cx: &mut Cx) {
	if !stanza.is_error_or_result() {
		cx.reply(stanza.error_reply(&StanzaError::new(c)));
	}
}

/// Contacts of `user` by subscription (from the last committed roster).
fn contacts(server: &Server, user: &str) -> Vec<(String, RosterEntry)> {
	match server.store.snapshot().and_then(|s| s.roster(user)) {
		Ok(r) => r,
		Err(e) => {
			log::error!("roster of {user}: {e}");
			Vec::new()
		}
	}
}

/// RFC 6121 §4.2 (initial), §4.4 (update) and §4.5 (unavailable) broadcast.
fn broadcast(stanza: &Stanza, t: PresenceType, cx: &mut Cx) {
	let user = cx.user().to_owned();
	let mut el = stanza.el.clone();
	el.remove_attr("to");
	if t == PresenceType::Available {
		super::avatar::stamp(&mut el, &user, cx);
	}
	let priority = el.child("priority", ns::CLIENT).and_then(|p| p.text().trim().parse::<i8>().ok()).unwrap_or(0);
	let (initial, directed) = {
		let mut sessions = cx.server.sessions.borrow_mut();
		let Some(s) = sessions.get_mut(&user, cx.session_id) else { return };
		let initial = !s.is_available() && t == PresenceType::Available;
		let directed = if t == PresenceType::Unavailable {
			s.presence = None;
			std::mem::take(&mut s.directed)
		} else {
			s.presence = Some(el.clone());
			s.priority = priority;
			Default::default()
		};
		(initial, directed)
	};
	if t == PresenceType::Unavailable {
		super::last::record_if_last(cx.server, &user, Some(&el));
		// Unavailable leaves every room, like directed presence (XEP-0045 §7.14).
		let jid = cx.jid.clone();
		super::muc::gone(cx.server, &jid, cx);
	} else {
		super::caps::presence(&el, cx);
	}
	let roster = contacts(cx.server, &user);
	let own_bare = cx.jid.to_bare();
	// To subscribers, our other resources, and (when leaving) directed ones.
	for (contact, entry) in &roster {
		if entry.state.sub.has_from() {
			send_to(&el, contact, cx);
		}
	}
	send_to(&el, own_bare.as_str(), cx);
	for target in directed {
		send_to(&el, target.as_str(), cx);
	}
	if !initial {
		return;
	}
	cx.server.push.borrow_mut().online(&user);
	// Probes (RFC 6121 §4.3): answered locally from the sessions we hold,
	// sent on for contacts elsewhere.
	for (contact, entry) in &roster {
		if !entry.state.sub.has_to() {
			continue;
		}
		let Ok(contact) = BareJid::parse(contact) else { continue };
		match cx.local_user(contact.as_jid()).map(str::to_owned) {
			Some(user) => answer_probe(&user, cx),
			None => {
				let probe = presence_stanza("probe", &own_bare, &contact);
				crate::router::to_remote(probe, contact.as_jid(), cx);
			}
		}
	}
	answer_probe(&user, cx);
	// The message of the day (`xerra motd`, XEP-0133), to each new session.
	if let Some(motd) = cx.server.store.snapshot().and_then(|s| s.motd()).unwrap_or_else(|e| {
		log::error!("message of the day: {e}");
		None
	}) {
		cx.reply(crate::admin::notices::server_message(cx.domain(), cx.jid.as_str(), &motd));
	}
	// Subscription requests that arrived while offline (RFC 6121 §3.1.3).
	for (contact, entry) in &roster {
		if entry.state.pending_in {
			let mut p = Element::new("presence", ns::CLIENT)
				.with_attr("type", "subscribe")
				.with_attr("from", contact.as_str())
				.with_attr("to", own_bare.as_str());
			if let Some(status) = &entry.request_status {
				// Cut here too: a request kept before the limit (or a lower one).
				let status = request_status(status, cx.server.config.limits.max_subscription_status_bytes);
				p.push(Element::new("status", ns::CLIENT).with_text(status));
			}
			cx.reply(p);
		}
	}
	if priority >= 0 {
		offline::flush(cx);
	}
}

/// XEP-0191: available and subscription presence does not pass between an
/// account and someone it blocks, either way (unavailable does, so each
/// side sees the other go).
fn hidden_by_block(el: &Element, to_user: &str, cx: &Cx) -> bool {
	if el.attr("type").is_some_and(|t| t == "unavailable" || t == "error") {
		return false;
	}
	let Some(from) = el.attr("from").and_then(|f| Jid::parse(f).ok()) else { return false };
	let lists = cx.server.blocklists.borrow();
	if lists.blocks(to_user, &from) {
		return true;
	}
	let to = format!("{to_user}@{}", cx.domain());
	cx.local_user(&from).zip(Jid::parse(&to).ok()).is_some_and(|(u, to)| lists.blocks(u, &to))
}

/// Current presence of `of`'s available resources to the asking session.
fn answer_probe(of: &str, cx: &mut Cx) {
	let sessions = cx.server.sessions.borrow();
	let presences: Vec<Element> =
		sessions.available(of).filter(|s| s.id != cx.session_id || of != cx.user()).filter_map(|s| s.presence.clone()).collect();
	drop(sessions);
	for mut p in presences {
		if hidden_by_block(&p, cx.user(), cx) {
			continue;
		}
		p.set_attr("to", cx.jid.as_str());
		cx.reply(p);
	}
}

/// A presence stanza to every available resource of a local bare JID (or the
/// one session of a full JID), `to` set to the recipient.
fn send_to(el: &Element, to: &str, cx: &mut Cx) {
	let Ok(to) = Jid::parse(to) else { return };
	let mut el = el.clone();
	el.set_attr("to", to.as_str());
	if to.domain() != cx.domain() {
		return crate::router::to_remote(el, &to, cx);
	}
	deliver_to(el, &to, cx);
}

/// Delivers presence to a local JID: all available resources for a bare JID,
/// or the session of a full JID. Subscription stanzas reach unavailable
/// sessions too, so a client that has not sent presence yet still sees them.
pub fn deliver_to(el: Element, to: &Jid, cx: &mut Cx) {
	let Some(user) = cx.local_user(to) else { return };
	if hidden_by_block(&el, user, cx) {
		return;
	}
	let sessions = cx.server.sessions.borrow();
	match to.resource() {
		Some(r) => {
			if let Some(s) = sessions.of(user).iter().find(|s| s.jid.resource() == r) {
				s.send(el);
			}
		}
		None => {
			for s in sessions.available(user) {
				s.send(el.clone());
			}
		}
	}
}

/// RFC 6121 §4.3: answer a probe from the client for a contact it is subscribed to.
fn probe(to: &Jid, cx: &mut Cx) {
	let Some(target) = cx.local_user(to).map(str::to_owned) else { return };
	let snap = cx.server.store.snapshot().and_then(|s| s.roster_entry(&target, cx.jid.to_bare().as_str()));
	let allowed = target == cx.user() || matches!(snap, Ok(Some(ref e)) if e.state.sub.has_from());
	if !allowed {
		return;
	}
	let any = cx.server.sessions.borrow().available(&target).next().is_some();
	if any {
		answer_probe(&target, cx);
	} else {
		let bare = to.to_bare();
		cx.reply(
			Element::new("presence", ns::CLIENT)
				.with_attr("type", "unavailable")
				.with_attr("from", bare.as_str())
				.with_attr("to", cx.jid.as_str()),
		);
	}
}

/// RFC 6121 §4.6: presence to one entity, remembered so it gets unavailable later.
fn directed(stanza: &Stanza, to: &Jid, t: PresenceType, cx: &mut Cx) {
	if to.node().is_none() && to.domain() == cx.domain() {
		return; // presence to the server itself
	}
	if matches!(t, PresenceType::Available | PresenceType::Unavailable) {
		let subscribed = cx
			.server
			.store
			.snapshot()
			.and_then(|s| s.roster_entry(cx.user(), to.to_bare().as_str()))
			.is_ok_and(|e| e.is_some_and(|e| e.state.sub.has_from()));
		let user = cx.user().to_owned();
		if let Some(s) = cx.server.sessions.borrow_mut().get_mut(&user, cx.session_id)
			&& !subscribed
		{
			if t == PresenceType::Available {
				s.directed.insert(to.clone());
			} else {
				s.directed.remove(to);
			}
		}
	}
	if to.domain() != cx.domain() {
		return crate::router::directed_to_remote(stanza.el.clone(), to, cx);
	}
	deliver_to(stanza.el.clone(), to, cx);
}

/// Presence from another domain to a local account (RFC 6121 §3.1.3,
/// §4.3.2, §4.4.3): subscription stanzas change the account's side of the
/// subscription, probes are answered for subscribers, the rest is delivered.
pub fn from_remote(stanza: &Stanza, t: PresenceType, to: &Jid, cx: &mut Cx) {
	let Some(user) = cx.local_user(to).map(str::to_owned) else { return };
	let sender = cx.jid.to_bare();
	let kind = match t {
		PresenceType::Subscribe => SubKind::Subscribe,
		PresenceType::Subscribed => SubKind::Subscribed,
		PresenceType::Unsubscribe => SubKind::Unsubscribe,
		PresenceType::Unsubscribed => SubKind::Unsubscribed,
		PresenceType::Probe => return remote_probe(&user, &sender, cx),
		_ => return deliver_to(stanza.el.clone(), to, cx),
	};
	// When storage cannot say, the job below fails and the sender hears why.
	if matches!(crate::router::account_exists(cx, &user), Ok(false)) {
		if kind == SubKind::Subscribe {
			let own = bare(&user, cx.domain());
			cx.send(Out::Route(presence_stanza("unsubscribed", &own, &sender)));
		}
		return;
	}
	if cx.server.blocklists.borrow().blocks(&user, sender.as_jid()) {
		return;
	}
	let mut fwd = stanza.el.clone();
	fwd.set_attr("from", sender.as_str());
	fwd.set_attr("to", bare(&user, cx.domain()).as_str());
	let domain = cx.domain().to_owned();
	let caps = Caps::of(&cx.server.config.limits);
	cx.write(move |tx| inbound(tx, &domain, &user, &sender, kind, fwd, caps));
}

/// A probe from another domain: the presence of each available resource
/// to a subscriber (unavailable if there is none), nothing to anyone else.
fn remote_probe(user: &str, sender: &BareJid, cx: &mut Cx) {
	let entry = cx.server.store.snapshot().and_then(|s| s.roster_entry(user, sender.as_str()));
	if !matches!(entry, Ok(Some(ref e)) if e.state.sub.has_from()) || cx.server.blocklists.borrow().blocks(user, sender.as_jid()) {
		return;
	}
	if cx.server.sessions.borrow().available(user).next().is_some() {
		return send_presence_of(user, sender, false, cx);
	}
	let own = bare(user, cx.domain());
	cx.send(Out::Route(presence_stanza("unavailable", &own, sender)));
}

/// Presence (or unavailable) of each available resource of `of`, to `to`.
pub fn send_presence_of(of: &str, to: &BareJid, unavailable: bool, cx: &mut Cx) {
	let presences: Vec<Element> = {
		let sessions = cx.server.sessions.borrow();
		sessions
			.available(of)
			.filter_map(|s| {
				if unavailable {
					Some(Element::new("presence", ns::CLIENT).with_attr("type", "unavailable").with_attr("from", s.jid.as_str()))
				} else {
					s.presence.clone()
				}
			})
			.collect()
	};
	for p in presences {
		send_to(&p, to.as_str(), cx);
	}
}

/// A session is gone (disconnect, replacement, shutdown): if it was
/// available, everyone who saw it gets unavailable (RFC 6121 §4.5.2).
pub fn session_ended(server: &Server, session: Session) {
	let mut cx = Cx::new(server, &session.jid, session.id);
	// It leaves its rooms. The only storage job that can come of it is a
	// temporary room's archive removal, which need not hold anything up.
	super::muc::gone(server, &session.jid, &mut cx);
	for out in std::mem::take(&mut cx.outs) {
		crate::router::deliver(out, &mut cx);
	}
	for job in std::mem::take(&mut cx.jobs) {
		server.store.write_detached(move |tx| job(tx).map(|_| ()));
	}
	if !session.is_available() {
		return;
	}
	let Some(user) = session.jid.node() else { return };
	super::last::record_if_last(server, user, None);
	let el = Element::new("presence", ns::CLIENT).with_attr("type", "unavailable").with_attr("from", session.jid.as_str());
	for (contact, entry) in contacts(server, user) {
		if entry.state.sub.has_from() {
			send_to(&el, &contact, &mut cx);
		}
	}
	send_to(&el, session.jid.to_bare().as_str(), &mut cx);
	for target in &session.directed {
		send_to(&el, target.as_str(), &mut cx);
	}
}

fn subscription(stanza: &Stanza, to: &Jid, kind: SubKind, cx: &mut Cx) {
	let contact = to.to_bare();
	if contact == cx.jid.to_bare() || (contact.node().is_none() && contact.domain() == cx.domain()) {
		return; // to ourselves or to the server: nothing to track
	}
	// RFC 6121 §3.1.2: stamped with the bare JID, routed to the bare JID.
	let mut fwd = stanza.el.clone();
	fwd.set_attr("from", cx.jid.to_bare().as_str());
	fwd.set_attr("to", contact.as_str());
	let user = cx.user().to_owned();
	let domain = cx.domain().to_owned();
	let caps = Caps::of(&cx.server.config.limits);
	// XEP-0379: a request with the contact's invitation token is approved in advance.
	let token = stanza.el.child("preauth", ns::PARS).and_then(|p| p.attr("token")).map(str::to_owned);
	fwd.retain_children(|c| !c.is("preauth", ns::PARS));
	cx.write(move |tx| {
		if let (SubKind::Subscribe, Some(token), Some(other)) = (kind, token, contact.node())
			&& super::invites::preapproved(tx, other, &token)?
		{
			return mutual(tx, &domain, &user, &contact, fwd, caps);
		}
		outbound(tx, &domain, &user, &contact, kind, fwd, caps)
	});
}

/// An accepted invitation: each side approves the other in advance (RFC
/// 6121 §3.4), then both ask, so both end with subscription both.
fn mutual(tx: &Tx<'_>, domain: &str, user: &str, contact: &BareJid, fwd: Element, caps: Caps) -> Result<Vec<Out>, StoreError> {
	let Some(other) = contact.node() else { return Ok(Vec::new()) };
	let user_bare = bare(user, domain);
	let mut outs = Vec::new();
	for (owner, peer) in [(other, user_bare.as_str()), (user, contact.as_str())] {
		let old = tx.roster_entry(owner, peer)?.unwrap_or_default();
		if !old.state.sub.has_from() {
			// A pre-approval puts the contact in the roster (RFC 6121 §3.4).
			let mut entry = old.clone();
			entry.state.approved = true;
			entry.in_roster = true;
			save(tx, owner, peer, &old, &entry, &mut outs)?;
		}
	}
	outs.extend(outbound(tx, domain, user, contact, SubKind::Subscribe, fwd, caps)?);
	let back = presence_stanza("subscribe", contact, &user_bare);
	outs.extend(outbound(tx, domain, other, &user_bare, SubKind::Subscribe, back, caps)?);
	Ok(outs)
}

/// The user sends `kind` to `contact` (RFC 6121 Appendix A.2), and if the
/// contact is ours, the contact's side receives it (A.3).
pub fn outbound(
	tx: &Tx<'_>,
	domain: &str,
	user: &str,
	contact: &BareJid,
	kind: SubKind,
	fwd: Element,
	caps: Caps,
) -> Result<Vec<Out>, StoreError> {
	let mut outs = Vec::new();
	let old = tx.roster_entry(user, contact.as_str())?.unwrap_or_default();
	let o = old.state.outbound(kind);
	let mut entry = old.clone();
	entry.state = o.state;
	let adds_item = match kind {
		SubKind::Subscribe => true,
		SubKind::Subscribed => o.route || o.state.approved,
		_ => false,
	};
	if adds_item && !old.in_roster {
		if tx.roster(user)?.iter().filter(|(_, e)| e.in_roster).count() >= caps.roster_items {
			let err = StanzaError::with_text(Condition::NotAllowed, "roster is full");
			let mut reply = crate::xmpp::stanza::error_reply(&fwd, &err);
			reply.set_attr("to", format!("{user}@{domain}"));
			return Ok(vec![Out::Route(reply)]);
		}
		entry.in_roster = true;
	}
	if !entry.state.pending_in {
		entry.request_status = None;
	}
	save(tx, user, contact.as_str(), &old, &entry, &mut outs)?;
	if !o.route {
		return Ok(outs);
	}
	if contact.domain() != domain {
		// The contact's own server keeps its side (RFC 6121 §3.1.2).
		outs.push(Out::Route(fwd));
		match kind {
			SubKind::Subscribed => outs.push(Out::PresenceOf { of: user.to_owned(), to: contact.clone() }),
			SubKind::Unsubscribed => outs.push(Out::UnavailableOf { of: user.to_owned(), to: contact.clone() }),
			_ => {}
		}
		return Ok(outs);
	}
	let user_bare = bare(user, domain);
	let Some(contact_user) = contact.node() else { return Ok(outs) };
	if !tx.account_exists(contact_user)? {
		// RFC 6121 §3.1.3: no such contact, so the request is refused.
		if kind == SubKind::Subscribe {
			let answer = presence_stanza("unsubscribed", contact, &user_bare);
			outs.extend(inbound(tx, domain, user, contact, SubKind::Unsubscribed, answer, caps)?);
		}
		return Ok(outs);
	}
	outs.extend(inbound(tx, domain, contact_user, &user_bare, kind, fwd, caps)?);
	match kind {
		SubKind::Subscribed => outs.push(Out::PresenceOf { of: user.to_owned(), to: contact.clone() }),
		SubKind::Unsubscribed => outs.push(Out::UnavailableOf { of: user.to_owned(), to: contact.clone() }),
		_ => {}
	}
	Ok(outs)
}

/// Local `recipient` receives `kind` from `sender` (RFC 6121 Appendix A.3).
fn inbound(
	tx: &Tx<'_>,
	domain: &str,
	recipient: &str,
	sender: &BareJid,
	kind: SubKind,
	mut el: Element,
	caps: Caps,
) -> Result<Vec<Out>, StoreError> {
	let mut outs = Vec::new();
	let old = tx.roster_entry(recipient, sender.as_str())?.unwrap_or_default();
	let r = old.state.inbound(kind);
	let mut entry = old.clone();
	entry.state = r.state;
	if kind == SubKind::Subscribe && r.deliver {
		// One <status/>, cut to size, is delivered and kept.
		let status =
			el.child("status", ns::CLIENT).map(|s| request_status(&s.text(), caps.status_bytes).to_owned()).filter(|s| !s.is_empty());
		el.retain_children(|c| !c.is("status", ns::CLIENT));
		if let Some(text) = &status {
			el.push(Element::new("status", ns::CLIENT).with_text(text.as_str()));
		}
		if r.state.pending_in && !old.state.pending_in && pending_requests(tx, recipient)? >= caps.pending {
			let err = StanzaError::with_text(
				Condition::ResourceConstraint,
				"too many subscription requests are waiting for this account's answer",
			);
			return Ok(vec![Out::Route(crate::xmpp::stanza::error_reply(&el, &err))]);
		}
		entry.request_status = status;
	}
	if !entry.state.pending_in {
		entry.request_status = None;
	}
	save(tx, recipient, sender.as_str(), &old, &entry, &mut outs)?;
	if r.deliver {
		outs.push(Out::ToAvailable(recipient.to_owned(), el));
	}
	let recipient_bare = bare(recipient, domain);
	if r.auto_subscribed {
		let answer = presence_stanza("subscribed", &recipient_bare, sender);
		match sender.node() {
			Some(sender_user) if sender.domain() == domain => {
				outs.extend(inbound(tx, domain, sender_user, &recipient_bare, SubKind::Subscribed, answer, caps)?);
			}
			_ => outs.push(Out::Route(answer)),
		}
		outs.push(Out::PresenceOf { of: recipient.to_owned(), to: sender.clone() });
	}
	if kind == SubKind::Unsubscribe && old.state.sub.has_from() {
		outs.push(Out::UnavailableOf { of: recipient.to_owned(), to: sender.clone() });
	}
	Ok(outs)
}

/// Requests waiting for `user`'s answer.
fn pending_requests(tx: &Tx<'_>, user: &str) -> Result<usize, StoreError> {
	Ok(tx.roster(user)?.iter().filter(|(_, e)| e.state.pending_in).count())
}

fn bare(user: &str, domain: &str) -> BareJid {
	// Both parts come from prepared JIDs (an account name and our domain),
	// and preparing prepared parts is the identity, so this cannot fail.
	BareJid::new(Some(user), domain).expect("prepared parts form a valid JID")
}

fn presence_stanza(ty: &str, from: &BareJid, to: &BareJid) -> Element {
	Element::new("presence", ns::CLIENT).with_attr("type", ty).with_attr("from", from.as_str()).with_attr("to", to.as_str())
}

/// Writes a roster row and queues a push if the visible roster changed.
pub fn save(tx: &Tx<'_>, user: &str, contact: &str, old: &RosterEntry, entry: &RosterEntry, outs: &mut Vec<Out>) -> Result<(), StoreError> {
	if old == entry {
		return Ok(());
	}
	if let Some(ver) = tx.put_roster_entry(user, contact, entry)? {
		outs.push(Out::RosterPush { user: user.to_owned(), ver, item: super::roster::item_element(contact, entry) });
	}
	Ok(())
}
