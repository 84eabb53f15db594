//! Explicit subscriptions to PEP nodes (XEP-0060 §6.1, §6.2, §5.6), beside
//! the implicit ones of XEP-0163 (+notify): a local account subscribes its
//! bare JID or one resource to a node it may read, gets the last item at
//! once and every later event, and lists or ends its subscriptions.
//! Whether a subscriber may still read the node is checked at every event,
//! so changing the access model or a roster takes effect at once.
//!
//! Limit: `max_pep_subscriptions` per subscribing account.

use super::pep::{app, first_child, may_read, node_of};
use super::{Cx, Feature, Out};
use crate::store::{AccessModel, PepSubscriber, Subscribed};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;
use crate::xmpp::stanza::Stanza;

pub const FEATURE: Feature = Feature {
	name: "pep-subscriptions",
	spec: "XEP-0060 1.26 §5.6, §6.1, §6.2",
	disco: &[],
	account: &["http://jabber.org/protocol/pubsub#subscribe", "http://jabber.org/protocol/pubsub#retrieve-subscriptions"],
	// Reached through PEP's pubsub handlers (`pep::set`, `pep::get`).
	iq: &[],
};

/// The subscriber named in a request's `jid`, which must be the sender's
/// own account (§6.1.3.1).
fn subscriber(el: &Element, cx: &Cx) -> Result<PepSubscriber, StanzaError> {
	if cx.is_remote() {
		return Err(StanzaError::with_text(Condition::NotAllowed, "only accounts of this server subscribe here"));
	}
	let jid = el.attr("jid").and_then(|j| Jid::parse(j).ok()).ok_or_else(|| app(Condition::BadRequest, "jid-required"))?;
	if jid.to_bare() != cx.jid.to_bare() {
		return Err(app(Condition::BadRequest, "invalid-jid"));
	}
	Ok(PepSubscriber { user: cx.user().to_owned(), resource: jid.resource().unwrap_or_default().to_owned() })
}

fn jid_of(who: &PepSubscriber, cx: &Cx) -> String {
	match who.resource.as_str() {
		"" => format!("{}@{}", who.user, cx.domain()),
		r => format!("{}@{}/{r}", who.user, cx.domain()),
	}
}

fn subscription(node: &str, jid: &str, state: &str) -> Element {
	Element::new("subscription", ns::PUBSUB).with_attr("node", node).with_attr("jid", jid).with_attr("subscription", state)
}

/// §6.1: subscribe, then get the node's last item (§6.1.7).
pub fn subscribe(iq: &Stanza, el: &Element, cx: &mut Cx) -> Result<(), StanzaError> {
	let node = node_of(el)?;
	let who = subscriber(el, cx)?;
	let owner = cx.addressed_account(iq);
	let snap = cx.server.store.snapshot()?;
	let n = snap.pep_node(&owner, &node)?.ok_or(Condition::ItemNotFound)?;
	may_read(&owner, n.config.access, cx)?;
	let jid = jid_of(&who, cx);
	let last = super::pep::last_item_event(&snap, &owner, &node, &n.config, &jid, cx);
	let max = cx.server.config.limits.max_pep_subscriptions;
	let ok = iq.iq_result().with_child(Element::new("pubsub", ns::PUBSUB).with_child(subscription(&node, &jid, "subscribed")));
	let too_many = iq.error_reply(&app(Condition::PolicyViolation, "too-many-subscriptions"));
	cx.write(move |tx| {
		Ok(match tx.pep_subscribe(&owner, &node, &who, max)? {
			Subscribed::TooMany => vec![Out::Reply(too_many)],
			Subscribed::New | Subscribed::Already => [Out::Reply(ok)].into_iter().chain(last.map(Out::Route)).collect(),
		})
	});
	Ok(())
}

/// §6.2: end a subscription.
pub fn unsubscribe(iq: &Stanza, el: &Element, cx: &mut Cx) -> Result<(), StanzaError> {
	let node = node_of(el)?;
	let who = subscriber(el, cx)?;
	let owner = cx.addressed_account(iq);
	let ok = iq.iq_result();
	let missing = iq.error_reply_later(&StanzaError::new(Condition::ItemNotFound));
	let not_subscribed = iq.error_reply(&app(Condition::UnexpectedRequest, "not-subscribed"));
	cx.write(move |tx| {
		if tx.pep_node(&owner, &node)?.is_none() {
			return Ok(vec![Out::Reply(missing.send())]);
		}
		Ok(vec![Out::Reply(if tx.pep_unsubscribe(&owner, &node, &who)? { ok } else { not_subscribed })])
	});
	Ok(())
}

/// §5.6: the sender's subscriptions to this account's nodes (one node's if
/// it names one).
pub fn list(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let el = first_child(iq)?;
	let owner = cx.addressed_account(iq);
	let snap = cx.server.store.snapshot()?;
	let mine = snap.pep_subscriptions_of(&owner, cx.user())?;
	let mut out = Element::new("subscriptions", ns::PUBSUB);
	if let Some(node) = el.attr("node") {
		out.set_attr("node", node);
	}
	for (node, resource) in mine.into_iter().filter(|(n, _)| el.attr("node").is_none_or(|want| want == n)) {
		let jid = jid_of(&PepSubscriber { user: cx.user().to_owned(), resource }, cx);
		out.push(subscription(&node, &jid, "subscribed"));
	}
	cx.reply(iq.iq_result().with_child(Element::new("pubsub", ns::PUBSUB).with_child(out)));
	Ok(())
}

/// `owner`'s `node`'s subscribers that may still read it.
pub fn entitled(owner: &str, node: &str, access: AccessModel, cx: &Cx) -> Vec<PepSubscriber> {
	let subs = cx.server.store.snapshot().and_then(|s| s.pep_subscribers(owner, node)).unwrap_or_default();
	subs.into_iter().filter(|s| super::pep::may_read_as(owner, &s.user, access, cx)).collect()
}
