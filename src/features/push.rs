//! XEP-0357 push notifications. A phone app registers its app server (a
//! JID on another domain, usually the app's push service) and a node; when
//! a message waits for that phone, Xerra publishes a notification there so
//! the app server can wake the app. Messages wait for a phone when no
//! session can take them (they are stored offline: every registration is
//! notified) or when the session that enabled push is hibernated by stream
//! management (that session's registration is notified).
//!
//! The notification carries only the message count: never who wrote or
//! what, since the app server belongs to someone else. An app server that
//! answers with an error of type cancel or auth is unregistered (§8).
//! Limit: `max_push_registrations` per account.

use std::collections::HashMap;

use super::{Cx, Deferred, Feature, IqRoute, Out, Target};
use crate::store::PushRegistration;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::{FullJid, Jid};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "push",
	spec: "XEP-0357 0.4.1",
	disco: &[],
	account: &[ns::PUSH],
	iq: &[
		IqRoute { ty: IqType::Set, ns: ns::PUSH, name: "enable", target: Target::Account, handler: enable },
		IqRoute { ty: IqType::Set, ns: ns::PUSH, name: "disable", target: Target::Account, handler: disable },
	],
};

/// Prefix of the ids of our publish requests; the node follows it.
const ID_PREFIX: &str = "push:";

/// Every account's registrations, in memory (loaded at start, changed once
/// a change is durable), and how many messages each account missed since
/// it was last online.
#[derive(Debug, Default)]
pub struct Registrations {
	by_user: HashMap<String, Vec<PushRegistration>>,
	missed: HashMap<String, u32>,
}

impl Registrations {
	pub fn load(rows: Vec<(String, PushRegistration)>) -> Registrations {
		let mut r = Registrations::default();
		for (user, reg) in rows {
			r.by_user.entry(user).or_default().push(reg);
		}
		r
	}

	fn put(&mut self, user: &str, reg: PushRegistration) {
		let list = self.by_user.entry(user.to_owned()).or_default();
		list.retain(|r| r.jid != reg.jid || r.node != reg.node);
		list.push(reg);
	}

	fn remove(&mut self, user: &str, jid: &str, node: Option<&str>) {
		if let Some(list) = self.by_user.get_mut(user) {
			list.retain(|r| r.jid != jid || node.is_some_and(|n| n != r.node));
			if list.is_empty() {
				self.by_user.remove(user);
			}
		}
	}

	/// The account is online again: the count starts over.
	pub fn online(&mut self, user: &str) {
		self.missed.remove(user);
	}

	pub fn forget(&mut self, user: &str) {
		self.by_user.remove(user);
		self.missed.remove(user);
	}
}

/// `<enable jid='...' node='...'>` with optional publish options (§5).
fn enable(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let p = iq.payload().ok_or(Condition::BadRequest)?;
	let jid = app_server(p)?;
	let node =
		p.attr("node").filter(|n| !n.is_empty()).ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "a node is required"))?;
	let options = p.child("x", ns::DATA_FORMS).map(|x| x.to_xml(ns::CLIENT)).unwrap_or_default();
	let reg = PushRegistration { jid, node: node.to_owned(), options };
	let (user, session, max) = (cx.user().to_owned(), cx.session_id, cx.server.config.limits.max_push_registrations);
	let (ok, full) =
		(iq.iq_result(), iq.error_reply(&StanzaError::with_text(Condition::ResourceConstraint, "too many push registrations")));
	cx.write(move |tx| {
		if !tx.put_push(&user, &reg, max)? {
			return Ok(vec![Out::Reply(full)]);
		}
		let step = move |cx: &mut Cx| {
			if let Some(s) = cx.server.sessions.borrow_mut().get_mut(&user, session) {
				s.push = Some(Box::new((reg.jid.clone(), reg.node.clone())));
			}
			cx.server.push.borrow_mut().put(&user, reg);
		};
		Ok(vec![Out::Reply(ok), Out::Then(Deferred(Box::new(step)))])
	});
	Ok(())
}

/// `<disable jid='...' [node='...']>` (§6): that registration, or all with that app server.
fn disable(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let p = iq.payload().ok_or(Condition::BadRequest)?;
	let jid = app_server(p)?;
	let node = p.attr("node").map(str::to_owned);
	let (user, ok) = (cx.user().to_owned(), iq.iq_result());
	cx.write(move |tx| {
		tx.del_push(&user, &jid, node.as_deref())?;
		let step = move |cx: &mut Cx| unregistered(&user, &jid, node.as_deref(), cx);
		Ok(vec![Out::Reply(ok), Out::Then(Deferred(Box::new(step)))])
	});
	Ok(())
}

fn unregistered(user: &str, jid: &str, node: Option<&str>, cx: &mut Cx) {
	cx.server.push.borrow_mut().remove(user, jid, node);
	for s in cx.server.sessions.borrow_mut().of_mut(user) {
		if s.push.as_ref().is_some_and(|p| p.0 == jid && node.is_none_or(|n| n == p.1)) {
			s.push = None;
		}
	}
}

fn app_server(p: &Element) -> Result<String, StanzaError> {
	let jid = p.attr("jid").ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "the app server's jid is required"))?;
	Jid::parse(jid).map(|j| j.as_str().to_owned()).map_err(|_| StanzaError::new(Condition::JidMalformed))
}

/// Why a phone should wake up for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
	/// Something to read.
	Message,
	/// An incoming call (XEP-0353 `<propose/>`): the notification says so.
	Call,
}

/// A message a phone should wake up for: something to read or a call, not
/// a receipt, chat state or our own carbon copy.
fn important(el: &Element) -> Option<Wake> {
	if matches!(el.attr("type"), Some("error" | "headline")) || el.child("sent", ns::CARBONS).is_some() {
		return None;
	}
	let inner = el
		.child("received", ns::CARBONS)
		.and_then(|r| r.child("forwarded", ns::FORWARD))
		.and_then(|f| f.child("message", ns::CLIENT))
		.unwrap_or(el);
	if super::jmi::is_call(inner) {
		Some(Wake::Call)
	} else if inner.child("body", ns::CLIENT).is_some() || inner.child("encrypted", ns::OMEMO).is_some() {
		Some(Wake::Message)
	} else {
		None
	}
}

/// What the summary says of a call (XEP-0357 §7 `last-message-body`): a
/// fixed text app servers show, never a message's content.
pub const CALL_TEXT: &str = "Incoming call";

/// A message for `user` was stored offline: every registration hears of it.
pub fn offline(user: &str, el: &Element, cx: &mut Cx) {
	let Some(wake) = important(el) else { return };
	let regs = cx.server.push.borrow().by_user.get(user).cloned().unwrap_or_default();
	notify(user, &regs, wake, cx);
}

/// A message waits for a hibernated session (XEP-0198): the registration
/// that session enabled hears of it.
pub async fn held(server: &crate::server::Server, jid: &FullJid, session_id: u64, p: &crate::xmpp::packed::Packed) {
	let Some(user) = jid.node() else { return };
	let key = server.sessions.borrow().get(user, session_id).and_then(|s| s.push.as_deref().cloned());
	let Some((app, node)) = key else { return };
	// Looked at only for a session with push (the tree is built again).
	let Some(wake) = p.unpack().and_then(|el| important(&el)) else { return };
	let reg = server.push.borrow().by_user.get(user).and_then(|l| l.iter().find(|r| r.jid == app && r.node == node).cloned());
	let Some(reg) = reg else { return };
	let mut cx = Cx::new(server, jid, session_id);
	notify(user, &[reg], wake, &mut cx);
	crate::router::finish(cx, &[]).await;
}

/// Publishes a summary to each registration (§7).
fn notify(user: &str, regs: &[PushRegistration], wake: Wake, cx: &mut Cx) {
	if regs.is_empty() {
		return;
	}
	log::debug!("push: notifying {} registration(s) of {user}", regs.len());
	let count = {
		let mut push = cx.server.push.borrow_mut();
		let n = push.missed.entry(user.to_owned()).or_default();
		*n = n.saturating_add(1);
		*n
	};
	let from = format!("{user}@{}", cx.domain());
	for r in regs {
		let Ok(to) = Jid::parse(&r.jid) else { continue };
		let mut summary = Element::new("x", ns::DATA_FORMS)
			.with_attr("type", "form")
			.with_child(field("FORM_TYPE", ns::PUSH_SUMMARY))
			.with_child(field("message-count", &count.to_string()));
		if wake == Wake::Call {
			summary.push(field("last-message-body", CALL_TEXT));
		}
		let mut pubsub = Element::new("pubsub", ns::PUBSUB).with_child(
			Element::new("publish", ns::PUBSUB)
				.with_attr("node", r.node.as_str())
				.with_child(Element::new("item", ns::PUBSUB).with_child(Element::new("notification", ns::PUSH).with_child(summary))),
		);
		if !r.options.is_empty()
			&& let Ok(options) = cx.stored_xml(&r.options, ns::CLIENT)
		{
			pubsub.push(Element::new("publish-options", ns::PUBSUB).with_child(options));
		}
		let iq = Element::new("iq", ns::CLIENT)
			.with_attr("type", "set")
			.with_attr("from", from.as_str())
			.with_attr("to", to.as_str())
			.with_attr("id", format!("{ID_PREFIX}{}", r.node))
			.with_child(pubsub);
		crate::router::to_remote(iq, &to, cx);
	}
}

fn field(var: &str, value: &str) -> Element {
	Element::new("field", ns::DATA_FORMS).with_attr("var", var).with_child(Element::new("value", ns::DATA_FORMS).with_text(value))
}

/// An app server's answer to a notification: an error of type cancel or
/// auth means it will not take more for that node (§8), so it is
/// unregistered.
pub fn answer(iq: &Stanza, cx: &mut Cx) {
	let Some(node) = iq.id().and_then(|id| id.strip_prefix(ID_PREFIX)) else { return };
	let (Some(to), Some(from)) = (&iq.to, &iq.from) else { return };
	let Some(user) = cx.local_user(to).map(str::to_owned) else { return };
	let fatal = iq.el.child("error", ns::CLIENT).and_then(|e| e.attr("type")).is_some_and(|t| t == "cancel" || t == "auth");
	if iq.el.attr("type") != Some("error") || !fatal {
		return;
	}
	let known = cx.server.push.borrow().by_user.get(&user).is_some_and(|l| l.iter().any(|r| r.jid == from.as_str() && r.node == node));
	if !known {
		return;
	}
	log::info!("push: {} refused notifications for {user}; unregistered", from.as_str());
	let (jid, node) = (from.as_str().to_owned(), node.to_owned());
	cx.write(move |tx| {
		tx.del_push(&user, &jid, Some(&node))?;
		Ok(vec![Out::Then(Deferred(Box::new(move |cx: &mut Cx| unregistered(&user, &jid, Some(&node), cx))))])
	});
}

#[cfg(test)]
mod tests {
	use super::*;

	fn msg(child: Element) -> Element {
		Element::new("message", ns::CLIENT).with_attr("type", "chat").with_child(child)
	}

	#[test]
	fn only_messages_to_read_and_calls_wake_a_phone() {
		assert_eq!(important(&msg(Element::new("body", ns::CLIENT).with_text("hi"))), Some(Wake::Message));
		assert_eq!(important(&msg(Element::new("encrypted", ns::OMEMO))), Some(Wake::Message));
		assert_eq!(important(&msg(Element::new("composing", ns::CHATSTATES))), None);
		assert_eq!(important(&msg(Element::new("propose", ns::JINGLE_MESSAGE))), Some(Wake::Call));
		assert_eq!(important(&msg(Element::new("propose", ns::JINGLE_MESSAGE_1))), Some(Wake::Call));
		assert_eq!(important(&msg(Element::new("ringing", ns::JINGLE_MESSAGE))), None);
		let mut err = msg(Element::new("body", ns::CLIENT));
		err.set_attr("type", "error");
		assert_eq!(important(&err), None);
		let fwd = |wrapper: &str, child: Element| {
			msg(Element::new(wrapper, ns::CARBONS)
				.with_child(Element::new("forwarded", ns::FORWARD).with_child(Element::new("message", ns::CLIENT).with_child(child))))
		};
		assert_eq!(important(&fwd("received", Element::new("body", ns::CLIENT))), Some(Wake::Message));
		assert_eq!(important(&fwd("received", Element::new("propose", ns::JINGLE_MESSAGE))), Some(Wake::Call));
		assert_eq!(important(&fwd("sent", Element::new("body", ns::CLIENT))), None, "our own words do not wake us");
	}

	#[test]
	fn registrations_replace_and_remove() {
		let reg = |node: &str| PushRegistration { jid: "p.example".into(), node: node.into(), options: String::new() };
		let mut r = Registrations::load(vec![("a".into(), reg("n1"))]);
		r.put("a", reg("n1"));
		r.put("a", reg("n2"));
		assert_eq!(r.by_user["a"].len(), 2);
		r.remove("a", "p.example", Some("n1"));
		assert_eq!(r.by_user["a"], vec![reg("n2")]);
		r.remove("a", "p.example", None);
		assert!(!r.by_user.contains_key("a"));
	}
}
