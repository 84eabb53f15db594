//! RFC 6120 §10 and RFC 6121 §8: where each stanza goes.
//!
//! [`handle_batch`] takes checked stanzas from a bound client, lets the features
//! decide, runs their storage jobs and then delivers. Deciding is synchronous
//! ([`dispatch`], [`deliver`]); only waiting for storage is async.

use crate::features::{self, Cx, Job, Out, presence};
use crate::server::Server;
use crate::sessions::{NotQueued, Outgoing};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::{FullJid, Jid};
use crate::xmpp::ns;
use crate::xmpp::packed::Packed;
use crate::xmpp::stanza::{IqType, MessageType, PresenceType, Stanza, StanzaType, Summary};

/// `--log debug`: what became of a stanza (refusals are logged, at info,
/// where the error reply is made). Costs nothing when debug is off.
fn trace(el: &Element, outcome: impl std::fmt::Display) {
	log::debug!("{}: {outcome}", Summary(el));
}

fn stat_kind(s: &Stanza) -> crate::stats::StanzaKind {
	match s.kind() {
		crate::xmpp::stanza::Kind::Message => crate::stats::StanzaKind::Message,
		crate::xmpp::stanza::Kind::Presence => crate::stats::StanzaKind::Presence,
		crate::xmpp::stanza::Kind::Iq => crate::stats::StanzaKind::Iq,
	}
}

/// Processes one stanza, or several consecutive messages, from one session,
/// with one commit for all their storage: a burst of offline messages costs
/// one fsync, not one each. Only messages may share a batch: their handling
/// reads nothing the others write, while an iq or presence may depend on
/// what came before it.
pub async fn handle_batch(server: &Server, session_id: u64, jid: &FullJid, stanzas: &[Stanza]) {
	let mut cx = Cx::new(server, jid, session_id);
	let mut waiting = Vec::new();
	for stanza in stanzas {
		crate::stats::stanza_in(stat_kind(stanza));
		let (decisive, queued) = (cx.decisive, cx.outs.len());
		dispatch(stanza, &mut cx);
		if cx.decisive > decisive {
			waiting.push(stanza);
		} else {
			// Nothing it did waits for storage: what it queued goes now,
			// whatever becomes of the others' storage.
			let now: Vec<Out> = cx.outs.drain(queued..).collect();
			for out in now {
				deliver(out, &mut cx);
			}
		}
	}
	finish(cx, &waiting).await;
}

/// Runs queued storage jobs, then delivers everything, until nothing is left.
/// A reply means done and durable: if storage that decides a stanza's fate
/// ([`Cx::write`]) fails, nothing queued is delivered and each of `origins`
/// gets the error (`resource-constraint` while the disk refuses writes). If
/// only records fail ([`Cx::record`]), that is logged and delivery goes on.
/// Storage that comes of delivering (a later round) fails with a log line.
pub async fn finish(mut cx: Cx<'_>, origins: &[&Stanza]) {
	let mut origins = origins;
	loop {
		let jobs: Vec<Job> = std::mem::take(&mut cx.jobs);
		let decisive = std::mem::take(&mut cx.decisive) > 0;
		let mut outs = std::mem::take(&mut cx.outs);
		if !jobs.is_empty() {
			let result = cx
				.server
				.store
				.write(move |tx| {
					let mut produced = Vec::new();
					for job in jobs {
						produced.extend(job(tx)?);
					}
					Ok(produced)
				})
				.await;
			match result {
				Ok(more) => outs.extend(more),
				Err(e) if decisive => {
					log_failure(cx.jid, "not stored, refused", &e, !origins.is_empty());
					outs.clear();
					let err = StanzaError::from(&e);
					for s in origins.iter().filter(|s| !s.is_error_or_result()) {
						outs.push(Out::Reply(s.error_reply(&err)));
					}
				}
				Err(e) => log_failure(cx.jid, "a record (archive copy) was not stored", &e, true),
			}
		}
		origins = &[];
		for out in outs {
			deliver(out, &mut cx);
		}
		if cx.jobs.is_empty() && cx.outs.is_empty() {
			return;
		}
	}
}

/// A full or failing disk is logged once by the writer, not for every
/// stanza whose sender was told; what nobody could be told is a warning.
fn log_failure(jid: &FullJid, what: &str, e: &crate::store::StoreError, told: bool) {
	match e {
		crate::store::StoreError::Unavailable(_) if told => log::debug!("{jid}: {what}: {e}"),
		crate::store::StoreError::Unavailable(_) => log::warn!("{jid}: {what} (nobody to tell): {e}"),
		_ => log::error!("{jid}: {what}: {e}"),
	}
}

/// Stanzas a session was given but its client never acknowledged (XEP-0198
/// §4): chat and normal messages go to the account's offline storage,
/// requests get `service-unavailable`, the rest (presence, results,
/// carbons, PEP events) is dropped.
pub async fn undeliverable(server: &Server, jid: &FullJid, session_id: u64, stanzas: Vec<Packed>) {
	let Some(user) = jid.node().map(str::to_owned) else { return };
	if stanzas.is_empty() {
		return;
	}
	let mut cx = Cx::new(server, jid, session_id);
	for el in stanzas.iter().filter_map(Packed::unpack) {
		match el.name() {
			"message" => {
				let copy = el.child("received", ns::CARBONS).is_some()
					|| el.child("sent", ns::CARBONS).is_some()
					|| el.child("event", ns::PUBSUB_EVENT).is_some();
				if matches!(el.attr("type"), None | Some("normal" | "chat")) && !copy {
					features::offline::store(el, &user, &mut cx);
				}
			}
			"iq" if matches!(el.attr("type"), Some("get" | "set")) => bounce_el(&el, Condition::ServiceUnavailable, &mut cx),
			_ => {}
		}
	}
	finish(cx, &[]).await;
}

/// Decides what to do with a stanza from the client.
pub fn dispatch(stanza: &Stanza, cx: &mut Cx) {
	if presence_too_big(stanza, cx) {
		return bounce(stanza, Condition::PolicyViolation, cx);
	}
	if stanza.to.as_ref().is_some_and(|to| features::muc::is_ours(to, cx)) {
		trace(&stanza.el, "to the rooms service");
		return features::muc::handle(stanza, cx);
	}
	if stanza.to.as_ref().is_some_and(|to| features::proxy::is_ours(to, cx)) {
		trace(&stanza.el, "to the proxy service");
		return features::proxy::handle(stanza, cx);
	}
	match stanza.ty {
		StanzaType::Iq(t) => iq(stanza, t, cx),
		StanzaType::Message(t) => message(stanza, t, cx),
		StanzaType::Presence(t) => {
			trace(&stanza.el, presence_outcome(t, stanza.to.is_some()));
			presence::handle(stanza, t, cx)
		}
	}
}

fn presence_outcome(t: PresenceType, directed: bool) -> &'static str {
	match t {
		PresenceType::Available | PresenceType::Unavailable if directed => "directed presence",
		PresenceType::Available | PresenceType::Unavailable => "broadcast to contacts",
		PresenceType::Probe => "probe",
		_ => "subscription handling",
	}
}

fn iq(stanza: &Stanza, t: IqType, cx: &mut Cx) {
	if let Some(e) = blocking_error(stanza.to.as_ref(), cx) {
		if !stanza.is_error_or_result() {
			cx.reply(stanza.error_reply(&e));
		}
		return;
	}
	let to_server = match &stanza.to {
		None => false,
		Some(to) if cx.is_server(to) => true,
		Some(to) if to.domain() != cx.domain() => return to_remote(stanza.el.clone(), to, cx),
		Some(to) => match (to.node(), to.resource()) {
			// A full JID: the stanza is for that session (RFC 6121 §8.5.3.1).
			(Some(_), Some(_)) => return forward_to_full(stanza, to, cx),
			(Some(user), None) => match account_exists(cx, user) {
				Ok(true) => false,
				Ok(false) => return bounce(stanza, Condition::ServiceUnavailable, cx),
				Err(e) => return bounce(stanza, e, cx),
			},
			(None, _) => return bounce(stanza, Condition::ServiceUnavailable, cx),
		},
	};
	if cx.is_remote() && matches!(t, IqType::Get | IqType::Set) && !remote_may_ask(stanza, t, to_server) {
		return bounce(stanza, Condition::ServiceUnavailable, cx);
	}
	if matches!(t, IqType::Result | IqType::Error) {
		// Answers to our pushes and pings need no routing; caps queries and
		// push notifications (XEP-0357) want theirs.
		if to_server {
			features::caps::answer(stanza, cx);
		} else if cx.is_remote() {
			features::push::answer(stanza, cx);
		}
		return trace(&stanza.el, "taken by the server");
	}
	let Some(payload) = stanza.payload() else { return trace(&stanza.el, "dropped (no payload)") };
	let Some(route) = features::iq_route(t, payload, to_server) else {
		return bounce(stanza, Condition::ServiceUnavailable, cx);
	};
	match (route.handler)(stanza, cx) {
		Ok(()) => trace(&stanza.el, "answered"),
		Err(e) => cx.reply(stanza.error_reply(&e)),
	}
}

fn message(stanza: &Stanza, t: MessageType, cx: &mut Cx) {
	let mut el = stanza.el.clone();
	// RFC 6121 §8.5.? a message without `to` is for the sender's own account.
	if stanza.to.is_none() {
		el.set_attr("to", cx.jid.to_bare().as_str());
	}
	let to = stanza.to.clone().unwrap_or_else(|| cx.jid.to_bare().into());
	if cx.is_server(&to) {
		if !matches!(t, MessageType::Error | MessageType::Headline) {
			bounce(stanza, Condition::ServiceUnavailable, cx);
		}
		return;
	}
	if cx.server.blocklists.borrow().blocks(cx.user(), &to) {
		if t != MessageType::Error {
			cx.reply(stanza.error_reply(&features::blocking::blocked_error()));
		}
		return;
	}
	features::mam::archive(&mut el, &to, cx);
	// The sender's other devices see what it sent (XEP-0280 §7).
	if !cx.is_remote() && features::carbons::eligible(&el) {
		features::carbons::copy(&el, cx.user(), &[cx.session_id], true, cx);
	}
	if to.domain() != cx.domain() {
		return to_remote(el, &to, cx);
	}
	route_message(el, t, &to, cx);
}

/// Sends a stanza to another domain (an external component, or another
/// server over a link that is made if there is none). If it cannot
/// go, the sender hears why (see [`worth_bouncing`]).
pub fn to_remote(el: Element, to: &Jid, cx: &mut Cx) {
	let bounce = worth_bouncing(&el);
	send_remote(el, to, bounce, cx);
}

/// A client's directed presence (RFC 6121 §4.6: it gave the `to`, a room
/// join for one) to another domain: unlike the presence we broadcast for
/// it, it comes back with an error if it cannot go, as a message would
/// (so do Prosody's and ejabberd's). The error goes to the sending
/// session, the presence's `from`.
pub fn directed_to_remote(el: Element, to: &Jid, cx: &mut Cx) {
	let bounce = el.attr("type") != Some("error");
	send_remote(el, to, bounce, cx);
}

fn send_remote(el: Element, to: &Jid, bounce: bool, cx: &mut Cx) {
	let server = cx.server;
	let component = server.remotes.borrow().is_component(to.domain());
	let limits = &server.config.limits;
	let limit =
		if component { (limits.component_queue_len, limits.component_queue_bytes) } else { (limits.s2s_queue_len, limits.s2s_queue_bytes) };
	// The domain we speak for: the sender's, when it is one of ours.
	let from = el.attr("from").and_then(|f| Jid::parse(f).ok());
	let local = match &from {
		Some(f) if hosted(server, f.domain()) => f.domain().to_owned(),
		_ => server.config.domain.clone(),
	};
	// Summarised before it goes: the queue takes the element.
	let summary = log::log_enabled!(log::Level::Debug).then(|| Summary(&el).to_string());
	let sent = server.remotes.borrow().send(&local, to.domain(), el, limit, bounce);
	let el = match sent {
		Ok(()) => return log::debug!("{}: sent to {}", summary.unwrap_or_default(), to.domain()),
		// No link yet to another server: one is made, this is its first stanza.
		Err((Condition::RemoteServerNotFound, el)) if !component && server.config.s2s_port.is_some() => {
			trace(&el, format_args!("queued while a link to {} is made", to.domain()));
			return server.remotes.borrow_mut().dial((local, to.domain().to_owned()), el, bounce);
		}
		Err(failed) => failed,
	};
	let (condition, el) = el;
	if bounce {
		bounce_el(&el, condition, cx);
	} else {
		trace(&el, format_args!("dropped ({}: {})", to.domain(), condition.as_str()));
	}
}

/// A domain this server speaks for towards other servers: its own, its
/// rooms service's, and its components'.
pub fn hosted(server: &Server, domain: &str) -> bool {
	domain == server.config.domain
		|| domain == features::muc::service_domain(&server.config.domain)
		|| server.remotes.borrow().is_component(domain)
}

/// Everything but available and unavailable presence and probes, which we
/// send for clients (broadcasts to contacts, a room's to its occupants): a
/// contact out of reach is no news. A client's own directed presence is
/// another matter ([`directed_to_remote`]).
fn worth_bouncing(el: &Element) -> bool {
	el.name() != "presence" || !matches!(el.attr("type"), None | Some("unavailable" | "probe"))
}

/// Stanzas a link to another domain could not deliver (those queued to
/// bounce) go back to their senders with `condition` (as [`to_remote`]
/// does for one).
pub async fn bounce_all(server: &Server, stanzas: Vec<Element>, condition: Condition) {
	if stanzas.is_empty() {
		return;
	}
	let Ok(jid) = FullJid::parse(&format!("{}/s2s", server.config.domain)) else { return };
	let mut cx = Cx::new(server, &jid, 0);
	for el in &stanzas {
		bounce_el(el, condition, &mut cx);
	}
	finish(cx, &[]).await;
}

/// What another domain may ask of this server and its accounts: public
/// information only. Anything that reads or changes an account's own data
/// is for that account's sessions.
fn remote_may_ask(stanza: &Stanza, t: IqType, to_server: bool) -> bool {
	let Some(p) = stanza.payload() else { return false };
	let public = [ns::DISCO_INFO, ns::DISCO_ITEMS, ns::PING, ns::VERSION, ns::TIME, ns::VCARD, ns::LAST];
	t == IqType::Get && public.contains(&p.ns()) && (to_server || !matches!(p.ns(), ns::VERSION | ns::TIME | ns::PING))
}

/// A stanza from another domain (a component's or a federated server's,
/// already checked to be from that domain). It is handled like a client's, with what a remote
/// entity may do: reach local accounts and sessions, and ask for public
/// information.
pub async fn from_remote(server: &Server, el: Element) {
	let Some(from) = el.attr("from").and_then(|f| Jid::parse(f).ok()) else { return };
	let jid = match from.clone().try_into_full() {
		Ok(full) => full,
		// A bare sender gets a resource only so it fits the context type;
		// replies go by the stanza's own `from`.
		Err(bare) => match bare.to_bare().with_resource("remote") {
			Ok(j) => j,
			Err(_) => return,
		},
	};
	let mut cx = Cx::new(server, &jid, 0);
	let stanza = Stanza::parse(el);
	if let Ok(s) = &stanza {
		crate::stats::stanza_in(stat_kind(s));
	}
	match stanza {
		Ok(stanza) if presence_too_big(&stanza, &cx) => {
			if !stanza.is_error_or_result() {
				cx.send(Out::Route(stanza.error_reply(&StanzaError::new(Condition::PolicyViolation))));
			}
		}
		Ok(stanza) => {
			let to = stanza.to.clone();
			if matches!(stanza.ty, StanzaType::Presence(_)) || to.as_ref().is_some_and(|to| features::muc::is_ours(to, &cx)) {
				trace(&stanza.el, "from another domain");
			}
			match to {
				// Occupants from other domains take part in our rooms.
				Some(to) if features::muc::is_ours(&to, &cx) => features::muc::handle(&stanza, &mut cx),
				Some(to) if to.domain() != cx.domain() => to_remote(stanza.el.clone(), &to, &mut cx),
				Some(to) => match stanza.ty {
					StanzaType::Iq(t) => iq(&stanza, t, &mut cx),
					StanzaType::Message(t) => message(&stanza, t, &mut cx),
					StanzaType::Presence(t) => presence::from_remote(&stanza, t, &to, &mut cx),
				},
				None => {}
			}
			// A remote sender hears of failed storage like a local one.
			return finish(cx, &[&stanza]).await;
		}
		Err(Ok((el, err))) => cx.send(Out::Route(crate::xmpp::stanza::error_reply(&el, &err))),
		Err(Err(_)) => {}
	}
	finish(cx, &[]).await;
}

/// Presence is kept (the session's own, an occupant's in each room) and
/// copied to every contact: past `max_presence_bytes` it is refused rather
/// than multiplied.
fn presence_too_big(stanza: &Stanza, cx: &Cx) -> bool {
	let limit = cx.server.config.limits.max_presence_bytes;
	matches!(stanza.ty, StanzaType::Presence(_)) && stanza.el.to_xml(ns::CLIENT).len() > limit
}

/// XEP-0191 for an iq from the client: the error if it blocks the recipient
/// (`not-acceptable` + `<blocked/>`) or a local recipient blocks it
/// (`service-unavailable`).
fn blocking_error(to: Option<&Jid>, cx: &Cx) -> Option<StanzaError> {
	let to = to?;
	let lists = cx.server.blocklists.borrow();
	if lists.blocks(cx.user(), to) {
		return Some(features::blocking::blocked_error());
	}
	let theirs = cx.local_user(to).is_some_and(|u| lists.blocks(u, cx.jid.as_jid()));
	theirs.then(|| StanzaError::new(Condition::ServiceUnavailable))
}

/// A message from an error reply's point of view: send `condition` back to
/// the stanza's sender, unless it is itself an error or a result.
fn bounce(stanza: &Stanza, error: impl Into<StanzaError>, cx: &mut Cx) {
	if !stanza.is_error_or_result() {
		cx.reply(stanza.error_reply(&error.into()));
	}
}

fn bounce_el(el: &Element, error: impl Into<StanzaError>, cx: &mut Cx) {
	if el.attr("type") == Some("error") || (el.name() == "iq" && el.attr("type") == Some("result")) {
		return;
	}
	let reply = crate::xmpp::stanza::error_reply(el, &error.into());
	cx.send(Out::Route(reply));
}

fn forward_to_full(stanza: &Stanza, to: &Jid, cx: &mut Cx) {
	let delivered = to.clone().try_into_full().ok().is_some_and(|full| {
		let sessions = cx.server.sessions.borrow();
		sessions.by_jid(&full).is_some_and(|s| s.send(stanza.el.clone()))
	});
	if delivered {
		trace(&stanza.el, "delivered");
	} else {
		bounce(stanza, Condition::ServiceUnavailable, cx);
	}
}

/// Whether `user` has an account (cheap when it has sessions); `Err` when
/// storage cannot say (the database is being opened again after an I/O
/// error): that is not "no such account".
pub fn account_exists(cx: &Cx, user: &str) -> Result<bool, crate::store::StoreError> {
	if !cx.server.sessions.borrow().of(user).is_empty() {
		return Ok(true);
	}
	Ok(cx.server.store.snapshot()?.account(user)?.is_some())
}

/// RFC 6121 §8.5.2 (bare JID) and §8.5.3 (full JID) for messages to a local
/// account.
fn route_message(el: Element, t: MessageType, to: &Jid, cx: &mut Cx) {
	let Some(user) = to.node().map(str::to_owned) else { return };
	// XEP-0191 §3.5: nothing from someone the recipient blocks.
	if let Some(from) = el.attr("from").and_then(|f| Jid::parse(f).ok())
		&& cx.server.blocklists.borrow().blocks(&user, &from)
	{
		if matches!(t, MessageType::Chat | MessageType::Normal) {
			bounce_el(&el, Condition::ServiceUnavailable, cx);
		}
		return;
	}
	if let Some(resource) = to.resource() {
		let sessions = cx.server.sessions.borrow();
		// A session that is ending (or cut off for not reading) refuses it:
		// then it is handled as if that resource were gone.
		let sent = sessions.of(&user).iter().find(|s| s.jid.resource() == resource).map(|s| (s.id, s.try_send(el.clone())));
		drop(sessions);
		match sent {
			Some((id, Ok(()))) => {
				trace(&el, "delivered");
				// The recipient's other devices see it too (XEP-0280 §6).
				if features::carbons::eligible(&el) {
					features::carbons::copy(&el, &user, &[id], false, cx);
				}
				return;
			}
			Some((_, Err(NotQueued::NoMemory))) => return bounce_el(&el, Condition::ResourceConstraint, cx),
			_ => {}
		}
		// No such resource: chat/normal/headline fall back to the bare JID.
		match t {
			MessageType::Groupchat => return bounce_el(&el, Condition::ServiceUnavailable, cx),
			MessageType::Error => return trace(&el, "dropped (no such resource)"),
			_ => {}
		}
	}
	let error = match account_exists(cx, &user) {
		Ok(true) => None,
		Ok(false) => Some(StanzaError::new(Condition::ServiceUnavailable)),
		Err(e) => Some(StanzaError::from(e)),
	};
	if let Some(error) = error {
		if !matches!(t, MessageType::Headline | MessageType::Error) {
			bounce_el(&el, error, cx);
		} else {
			trace(&el, format_args!("dropped ({})", error.condition.as_str()));
		}
		return;
	}
	let (delivered, no_memory) = {
		let sessions = cx.server.sessions.borrow();
		let targets: Vec<_> = sessions.available(&user).filter(|s| s.priority >= 0).collect();
		let best = targets.iter().map(|s| s.priority).max();
		// A call rings every device (XEP-0353 §3.1), as RFC 6121 §8.5.2.1.1 allows.
		let ring_all = features::jmi::is_call(&el);
		let (mut got, mut no_memory) = (Vec::new(), false);
		for s in &targets {
			let wanted = match t {
				MessageType::Chat | MessageType::Normal => ring_all || Some(s.priority) == best,
				MessageType::Headline => true,
				MessageType::Groupchat | MessageType::Error => false,
			};
			if wanted {
				match s.try_send(el.clone()) {
					Ok(()) => got.push(s.id),
					Err(e) => no_memory |= e == NotQueued::NoMemory,
				}
			}
		}
		(got, no_memory)
	};
	if !delivered.is_empty() {
		trace(&el, format_args!("delivered to {} session(s)", delivered.len()));
		if features::carbons::eligible(&el) {
			features::carbons::copy(&el, &user, &delivered, false, cx);
		}
		return;
	}
	// The recipient is online but the server cannot hold the message now:
	// the sender hears so (and may try again) rather than it waiting in
	// storage for the recipient's next login.
	if no_memory {
		return bounce_el(&el, Condition::ResourceConstraint, cx);
	}
	match t {
		MessageType::Chat | MessageType::Normal => {
			trace(&el, "stored offline");
			features::push::offline(&user, &el, cx);
			features::offline::store(el, &user, cx);
		}
		MessageType::Groupchat => bounce_el(&el, Condition::ServiceUnavailable, cx),
		MessageType::Headline | MessageType::Error => trace(&el, "dropped (nobody online)"),
	}
}

/// Delivers one [`Out`]. Runs on the executor after storage is durable.
pub fn deliver(out: Out, cx: &mut Cx) {
	match out {
		// A remote sender has no session here: answers go by address.
		Out::Reply(el) if cx.is_remote() => route_from_server(el, cx),
		Out::Reply(el) => {
			let user = cx.user().to_owned();
			if let Some(s) = cx.server.sessions.borrow().get(&user, cx.session_id) {
				s.reply(el);
			}
		}
		Out::FlushOffline => {
			let user = cx.user().to_owned();
			if let Some(s) = cx.server.sessions.borrow().get(&user, cx.session_id) {
				s.push(Outgoing::FlushOffline);
			}
		}
		Out::Route(el) => route_from_server(el, cx),
		Out::ToAvailable(user, el) => {
			// Subscription requests from someone the account blocks are not shown.
			if el.attr("from").and_then(|f| Jid::parse(f).ok()).is_some_and(|f| cx.server.blocklists.borrow().blocks(&user, &f)) {
				return;
			}
			for s in cx.server.sessions.borrow().available(&user) {
				s.send(el.clone());
			}
		}
		Out::RosterPush { user, ver, item } => {
			for s in cx.server.sessions.borrow().of(&user).iter().filter(|s| s.interested) {
				let push = Element::new("iq", ns::CLIENT)
					.with_attr("type", "set")
					.with_attr("id", format!("push{ver}"))
					.with_attr("to", s.jid.as_str())
					.with_child(Element::new("query", ns::ROSTER).with_attr("ver", ver.to_string()).with_child(item.clone()));
				s.send(push);
			}
		}
		Out::PresenceOf { of, to } => presence::send_presence_of(&of, &to, false, cx),
		Out::UnavailableOf { of, to } => presence::send_presence_of(&of, &to, true, cx),
		Out::PepEvent { owner, node, access, event } => features::pep::notify(&owner, &node, access, event, cx),
		Out::Then(step) => (step.0)(cx),
	}
}

/// Routes a stanza the server sends or relays on someone's behalf.
fn route_from_server(el: Element, cx: &mut Cx) {
	let Some(to) = el.attr("to").and_then(|t| Jid::parse(t).ok()) else { return };
	if to.domain() != cx.domain() {
		if !features::muc::is_ours(&to, cx) {
			to_remote(el, &to, cx);
		} else if el.attr("type") == Some("error")
			&& let Some(real) = el.attr("from").and_then(|f| FullJid::parse(f).ok())
		{
			// What a room sent could not reach an occupant (its server is
			// unreachable): the occupant goes.
			features::muc::unreachable(&to, &real, cx);
		}
		return;
	}
	if to.node().is_none() {
		return;
	}
	match el.name() {
		"message" => {
			let t = match el.attr("type") {
				Some("chat") => MessageType::Chat,
				Some("groupchat") => MessageType::Groupchat,
				Some("headline") => MessageType::Headline,
				Some("error") => MessageType::Error,
				_ => MessageType::Normal,
			};
			route_message(el, t, &to, cx);
		}
		"presence" => presence::deliver_to(el, &to, cx),
		_ => {
			if let Ok(full) = to.try_into_full()
				&& let Some(s) = cx.server.sessions.borrow().by_jid(&full)
			{
				trace(&el, "delivered");
				s.send(el);
			}
		}
	}
}
