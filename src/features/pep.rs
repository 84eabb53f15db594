//! XEP-0163: Personal Eventing Protocol. Every account is a small pubsub
//! service (the XEP-0060 subset PEP clients use): the owner publishes,
//! retracts and configures (with publish-options, so OMEMO, avatars and
//! bookmarks get the access model they need), anyone the access model lets
//! in reads items, and notifications go to the owner's and its contacts'
//! resources that asked for them with `+notify` (XEP-0115, `caps`).
//!
//! Limits: `max_pep_nodes` per account, `max_pep_items` per node (what
//! `max_items=max` means), `max_pep_bytes` for all of an account's items.

use super::{Cx, Feature, IqRoute, Out, Target};
use crate::store::{AccessModel, NodeConfig, PepLimits, Published, Snapshot};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::{self, Form};
use crate::xmpp::jid::{BareJid, FullJid};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "pep",
	spec: "XEP-0163 1.2.2 over XEP-0060 1.26",
	disco: &[],
	account: &[
		"http://jabber.org/protocol/pubsub#access-open",
		"http://jabber.org/protocol/pubsub#access-presence",
		"http://jabber.org/protocol/pubsub#access-whitelist",
		"http://jabber.org/protocol/pubsub#auto-create",
		"http://jabber.org/protocol/pubsub#auto-subscribe",
		"http://jabber.org/protocol/pubsub#config-node",
		"http://jabber.org/protocol/pubsub#create-and-configure",
		"http://jabber.org/protocol/pubsub#config-node-max",
		"http://jabber.org/protocol/pubsub#create-nodes",
		"http://jabber.org/protocol/pubsub#delete-items",
		"http://jabber.org/protocol/pubsub#delete-nodes",
		"http://jabber.org/protocol/pubsub#filtered-notifications",
		"http://jabber.org/protocol/pubsub#item-ids",
		"http://jabber.org/protocol/pubsub#last-published",
		"http://jabber.org/protocol/pubsub#multi-items",
		"http://jabber.org/protocol/pubsub#persistent-items",
		"http://jabber.org/protocol/pubsub#presence-notifications",
		"http://jabber.org/protocol/pubsub#publish",
		"http://jabber.org/protocol/pubsub#publish-options",
		"http://jabber.org/protocol/pubsub#purge-nodes",
		"http://jabber.org/protocol/pubsub#retract-items",
		"http://jabber.org/protocol/pubsub#retrieve-items",
	],
	iq: &[
		IqRoute { ty: IqType::Set, ns: ns::PUBSUB, name: "pubsub", target: Target::Account, handler: set },
		IqRoute { ty: IqType::Get, ns: ns::PUBSUB, name: "pubsub", target: Target::Account, handler: get },
		IqRoute { ty: IqType::Set, ns: ns::PUBSUB_OWNER, name: "pubsub", target: Target::Account, handler: owner_set },
		IqRoute { ty: IqType::Get, ns: ns::PUBSUB_OWNER, name: "pubsub", target: Target::Account, handler: owner_get },
	],
};

/// Node names and item ids longer than this are refused (they are keys).
const MAX_NAME: usize = 1024;

/// `max_items` as stored for "max": whatever `max_pep_items` allows.
const MAX_ITEMS: u32 = u32::MAX;

pub(super) fn app(condition: Condition, name: &'static str) -> StanzaError {
	StanzaError::with_app(condition, Element::new(name, ns::PUBSUB_ERRORS))
}

fn unsupported(feature: &str) -> StanzaError {
	StanzaError::with_app(Condition::FeatureNotImplemented, Element::new("unsupported", ns::PUBSUB_ERRORS).with_attr("feature", feature))
}

fn precondition() -> StanzaError {
	app(Condition::Conflict, "precondition-not-met")
}

pub(super) fn node_of(el: &Element) -> Result<String, StanzaError> {
	match el.attr("node") {
		Some(n) if !n.is_empty() && n.len() <= MAX_NAME => Ok(n.to_owned()),
		Some(n) if !n.is_empty() => Err(StanzaError::with_text(Condition::NotAcceptable, "node name too long")),
		_ => Err(app(Condition::BadRequest, "nodeid-required")),
	}
}

pub(super) fn first_child(iq: &Stanza) -> Result<&Element, StanzaError> {
	iq.payload().and_then(|p| p.children().next()).ok_or_else(|| StanzaError::new(Condition::BadRequest))
}

/// The account-wide PEP limits from the configuration.
pub fn limits(cx: &Cx) -> PepLimits {
	let l = &cx.server.config.limits;
	PepLimits { max_nodes: l.max_pep_nodes, max_items: l.max_pep_items, max_bytes: l.max_pep_bytes }
}

/// Node options a client asked for, in publish-options or a config form.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Options {
	access: Option<AccessModel>,
	persist_items: Option<bool>,
	max_items: Option<u32>,
	send_last: Option<bool>,
	notify_retract: Option<bool>,
}

impl Options {
	/// Reads the fields we keep; others are ignored. A value we cannot honour
	/// gets `invalid`.
	fn parse(form: &Form, invalid: fn() -> StanzaError) -> Result<Options, StanzaError> {
		let mut o = Options::default();
		for (var, values) in &form.fields {
			let Some(v) = values.first().map(|v| v.trim()) else { continue };
			match var.as_str() {
				"pubsub#access_model" => o.access = Some(AccessModel::parse(v).ok_or_else(invalid)?),
				"pubsub#persist_items" => o.persist_items = Some(form::boolean(v).ok_or_else(invalid)?),
				"pubsub#max_items" => {
					o.max_items = Some(match v {
						"max" => MAX_ITEMS,
						n => n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(invalid)?,
					})
				}
				"pubsub#send_last_published_item" => {
					o.send_last = Some(match v {
						"never" => false,
						"on_sub" | "on_sub_and_presence" => true,
						_ => return Err(invalid()),
					})
				}
				"pubsub#notify_retract" => o.notify_retract = Some(form::boolean(v).ok_or_else(invalid)?),
				_ => {}
			}
		}
		Ok(o)
	}

	fn apply(&self, mut c: NodeConfig) -> NodeConfig {
		c.access = self.access.unwrap_or(c.access);
		c.persist_items = self.persist_items.unwrap_or(c.persist_items);
		c.max_items = self.max_items.unwrap_or(c.max_items);
		c.send_last = self.send_last.unwrap_or(c.send_last);
		c.notify_retract = self.notify_retract.unwrap_or(c.notify_retract);
		c
	}

	/// XEP-0060 §7.1.5: does an existing node already have these options?
	fn met_by(&self, c: &NodeConfig) -> bool {
		self.apply(*c) == *c
	}
}

/// The form inside `parent` (publish-options or configure), checked to be
/// of `form_type` when it says.
fn options_in(parent: Option<&Element>, form_type: &str, invalid: fn() -> StanzaError) -> Result<Options, StanzaError> {
	let Some(x) = parent.and_then(|p| p.child("x", ns::DATA_FORMS)) else { return Ok(Options::default()) };
	let form = Form::parse(x);
	if form.form_type.as_deref().is_some_and(|t| t != form_type) {
		return Err(StanzaError::with_text(Condition::BadRequest, "wrong FORM_TYPE"));
	}
	Options::parse(&form, invalid)
}

fn set(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let el = first_child(iq)?;
	match el.name() {
		"subscribe" => return super::pep_subs::subscribe(iq, el, cx),
		"unsubscribe" => return super::pep_subs::unsubscribe(iq, el, cx),
		_ => {}
	}
	// Only the owner changes a PEP service (XEP-0163 §3).
	cx.own_account_only(iq)?;
	match el.name() {
		"publish" => publish(iq, el, cx),
		"retract" => retract(iq, el, cx),
		"create" => create(iq, el, cx),
		other => Err(unsupported(other)),
	}
}

fn publish(iq: &Stanza, p: &Element, cx: &mut Cx) -> Result<(), StanzaError> {
	let node = node_of(p)?;
	let mut items = p.children().filter(|c| c.is("item", ns::PUBSUB));
	let item = match (items.next(), items.next()) {
		(Some(item), None) => item,
		(None, _) => return Err(app(Condition::BadRequest, "item-required")),
		(Some(_), Some(_)) => return Err(app(Condition::BadRequest, "invalid-payload")),
	};
	let mut payloads = item.children();
	let payload = match (payloads.next(), payloads.next()) {
		(Some(p), None) => p.clone(),
		(None, _) => return Err(app(Condition::BadRequest, "payload-required")),
		(Some(_), Some(_)) => return Err(app(Condition::BadRequest, "invalid-payload")),
	};
	let id = match item.attr("id") {
		Some(id) if !id.is_empty() && id.len() <= MAX_NAME => id.to_owned(),
		Some(id) if !id.is_empty() => return Err(StanzaError::with_text(Condition::NotAcceptable, "item id too long")),
		_ => {
			let mut b = [0u8; 8];
			cx.server.random(&mut b);
			b.iter().map(|x| format!("{x:02x}")).collect()
		}
	};
	let options =
		options_in(iq.payload().and_then(|ps| ps.child("publish-options", ns::PUBSUB)), ns::PUBSUB_PUBLISH_OPTIONS, precondition)?;
	let (owner, limits) = (cx.user().to_owned(), limits(cx));
	let xml = payload.to_xml(ns::PUBSUB);
	let ok = iq.iq_result().with_child(
		Element::new("pubsub", ns::PUBSUB).with_child(
			Element::new("publish", ns::PUBSUB)
				.with_attr("node", node.as_str())
				.with_child(Element::new("item", ns::PUBSUB).with_attr("id", id.as_str())),
		),
	);
	// XEP-0398: new avatar metadata also updates the vCard.
	let metadata = (node == super::avatar::METADATA).then(|| payload.clone());
	// XEP-0048 bookmarks in PEP are also kept in the other two places.
	let legacy = (node == super::bookmarks::LEGACY_NODE && payload.is("storage", "storage:bookmarks")).then(|| payload.clone());
	let max_vcard = cx.server.config.limits.max_vcard_bytes;
	let max_private = cx.server.config.limits.max_private_bytes;
	let event_item = Element::new("item", ns::PUBSUB_EVENT).with_attr("id", id.as_str()).with_child(payload);
	let iq_el = iq.el.clone();
	cx.write(move |tx| {
		let fail = |e: StanzaError| Ok(vec![Out::Reply(crate::xmpp::stanza::error_reply(&iq_el, &e))]);
		if let Some(n) = tx.pep_node(&owner, &node)?
			&& !options.met_by(&n.config)
		{
			return fail(precondition());
		}
		match tx.pep_publish(&owner, &node, options.apply(NodeConfig::default()), &id, &xml, limits)? {
			Published::Ok(config) => {
				let event = items_event(&node, event_item);
				let mut outs = match &metadata {
					Some(m) => super::avatar::pep_to_vcard(tx, &owner, m, max_vcard)?,
					None => Vec::new(),
				};
				if node == super::bookmarks::NODE {
					super::bookmarks::pep_to_private(tx, &owner, limits, max_private)?;
				}
				if let Some(storage) = legacy.as_ref().filter(|_| node == super::bookmarks::LEGACY_NODE) {
					outs.extend(super::bookmarks::legacy_stored(tx, &owner, storage, true, limits, max_private)?);
				}
				outs.splice(0..0, [Out::Reply(ok), Out::PepEvent { owner, node, access: config.access, event }]);
				Ok(outs)
			}
			Published::TooManyNodes => fail(StanzaError::with_text(Condition::ResourceConstraint, "too many PEP nodes")),
			Published::QuotaExceeded => fail(StanzaError::with_text(Condition::ResourceConstraint, "PEP storage is full")),
		}
	});
	Ok(())
}

fn items_event(node: &str, child: Element) -> Element {
	Element::new("event", ns::PUBSUB_EVENT).with_child(Element::new("items", ns::PUBSUB_EVENT).with_attr("node", node).with_child(child))
}

fn retract(iq: &Stanza, r: &Element, cx: &mut Cx) -> Result<(), StanzaError> {
	let node = node_of(r)?;
	let ids: Vec<String> = r.children().filter(|c| c.is("item", ns::PUBSUB)).filter_map(|i| i.attr("id")).map(str::to_owned).collect();
	if ids.is_empty() {
		return Err(app(Condition::BadRequest, "item-required"));
	}
	let asked = matches!(r.attr("notify"), Some("1" | "true"));
	let owner = cx.user().to_owned();
	let (max_private, limits) = (cx.server.config.limits.max_private_bytes, limits(cx));
	let (ok, missing) = (iq.iq_result(), iq.error_reply_later(&StanzaError::new(Condition::ItemNotFound)));
	cx.write(move |tx| {
		let Some(n) = tx.pep_node(&owner, &node)? else { return Ok(vec![Out::Reply(missing.send())]) };
		let mut gone = Vec::new();
		for id in ids {
			if tx.pep_retract(&owner, &node, &id)? {
				gone.push(id);
			}
		}
		if gone.is_empty() {
			return Ok(vec![Out::Reply(missing.send())]);
		}
		if node == super::bookmarks::NODE {
			super::bookmarks::pep_to_private(tx, &owner, limits, max_private)?;
		}
		let mut outs = vec![Out::Reply(ok)];
		if asked || n.config.notify_retract {
			let mut items = Element::new("items", ns::PUBSUB_EVENT).with_attr("node", node.as_str());
			for id in gone {
				items.push(Element::new("retract", ns::PUBSUB_EVENT).with_attr("id", id));
			}
			outs.push(Out::PepEvent {
				owner,
				node,
				access: n.config.access,
				event: Element::new("event", ns::PUBSUB_EVENT).with_child(items),
			});
		}
		Ok(outs)
	});
	Ok(())
}

fn config_invalid() -> StanzaError {
	StanzaError::with_text(Condition::NotAcceptable, "unsupported node configuration")
}

fn create(iq: &Stanza, c: &Element, cx: &mut Cx) -> Result<(), StanzaError> {
	let node = node_of(c)?;
	let options = options_in(iq.payload().and_then(|ps| ps.child("configure", ns::PUBSUB)), ns::PUBSUB_NODE_CONFIG, config_invalid)?;
	let (owner, max_nodes) = (cx.user().to_owned(), cx.server.config.limits.max_pep_nodes);
	let (ok, exists, full) = (
		iq.iq_result(),
		iq.error_reply_later(&StanzaError::new(Condition::Conflict)),
		iq.error_reply_later(&StanzaError::with_text(Condition::ResourceConstraint, "too many PEP nodes")),
	);
	cx.write(move |tx| {
		if tx.pep_node(&owner, &node)?.is_some() {
			return Ok(vec![Out::Reply(exists.send())]);
		}
		let created = tx.pep_create(&owner, &node, options.apply(NodeConfig::default()), max_nodes)?;
		Ok(vec![Out::Reply(if created { ok } else { full.send() })])
	});
	Ok(())
}

fn get(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let el = first_child(iq)?;
	match el.name() {
		"items" => {}
		"subscriptions" => return super::pep_subs::list(iq, cx),
		other => return Err(unsupported(other)),
	}
	let node = node_of(el)?;
	let owner = cx.addressed_account(iq);
	let snap = cx.server.store.snapshot()?;
	let n = snap.pep_node(&owner, &node)?.ok_or(Condition::ItemNotFound)?;
	may_read(&owner, n.config.access, cx)?;
	let mut items = snap.pep_items(&owner, &node)?;
	let wanted: Vec<&str> = el.children().filter(|c| c.is("item", ns::PUBSUB)).filter_map(|i| i.attr("id")).collect();
	if !wanted.is_empty() {
		items.retain(|i| wanted.contains(&i.id.as_str()));
	} else if let Some(max) = el.attr("max_items").and_then(|m| m.parse::<usize>().ok()) {
		// The most recent `max` (XEP-0060 §6.5.7).
		items.drain(..items.len().saturating_sub(max));
	}
	let mut out = Element::new("items", ns::PUBSUB).with_attr("node", node.as_str());
	for item in items {
		out.push(Element::new("item", ns::PUBSUB).with_attr("id", item.id.as_str()).with_child(cx.stored_xml(&item.xml, ns::PUBSUB)?));
	}
	cx.reply(iq.iq_result().with_child(Element::new("pubsub", ns::PUBSUB).with_child(out)));
	Ok(())
}

/// May the sender read `owner`'s node with this access model (XEP-0060 §6.5.9)?
pub(super) fn may_read(owner: &str, access: AccessModel, cx: &Cx) -> Result<(), StanzaError> {
	if may_read_as(owner, cx.user(), access, cx) {
		return Ok(());
	}
	match access {
		AccessModel::Presence => Err(app(Condition::NotAuthorized, "presence-subscription-required")),
		_ => Err(app(Condition::NotAllowed, "closed-node")),
	}
}

/// May the local account `reader` read `owner`'s node with this access model?
pub(super) fn may_read_as(owner: &str, reader: &str, access: AccessModel, cx: &Cx) -> bool {
	owner == reader
		|| match access {
			AccessModel::Open => true,
			AccessModel::Presence => shares_presence(owner, reader, cx),
			AccessModel::Whitelist => false,
		}
}

/// True if local `reader` receives `owner`'s presence.
fn shares_presence(owner: &str, reader: &str, cx: &Cx) -> bool {
	let reader = format!("{reader}@{}", cx.domain());
	cx.server.store.snapshot().and_then(|s| s.roster_entry(owner, &reader)).is_ok_and(|e| e.is_some_and(|e| e.state.sub.has_from()))
}

fn owner_set(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let el = first_child(iq)?;
	let node = node_of(el)?;
	let owner = cx.user().to_owned();
	let (max_items, ok, missing) =
		(cx.server.config.limits.max_pep_items, iq.iq_result(), iq.error_reply_later(&StanzaError::new(Condition::ItemNotFound)));
	match el.name() {
		"configure" => {
			if el.child("x", ns::DATA_FORMS).is_some_and(|x| x.attr("type") == Some("cancel")) {
				cx.reply(ok);
				return Ok(());
			}
			let options = options_in(Some(el), ns::PUBSUB_NODE_CONFIG, config_invalid)?;
			cx.write(move |tx| {
				let Some(n) = tx.pep_node(&owner, &node)? else { return Ok(vec![Out::Reply(missing.send())]) };
				tx.pep_configure(&owner, &node, options.apply(n.config), max_items)?;
				Ok(vec![Out::Reply(ok)])
			});
		}
		"delete" | "purge" => {
			let delete = el.name() == "delete";
			cx.write(move |tx| {
				let Some(n) = tx.pep_node(&owner, &node)? else { return Ok(vec![Out::Reply(missing.send())]) };
				if delete {
					tx.pep_delete(&owner, &node)?
				} else {
					tx.pep_purge(&owner, &node)?
				};
				let what = Element::new(if delete { "delete" } else { "purge" }, ns::PUBSUB_EVENT).with_attr("node", node.as_str());
				let event = Element::new("event", ns::PUBSUB_EVENT).with_child(what);
				Ok(vec![Out::Reply(ok), Out::PepEvent { owner, node, access: n.config.access, event }])
			});
		}
		other => return Err(unsupported(other)),
	}
	Ok(())
}

fn owner_get(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let el = first_child(iq)?;
	let (config, node) = match el.name() {
		"configure" => {
			let node = node_of(el)?;
			let snap = cx.server.store.snapshot()?;
			let n = snap.pep_node(cx.user(), &node)?.ok_or(Condition::ItemNotFound)?;
			(n.config, Some(node))
		}
		"default" => (NodeConfig::default(), None),
		other => return Err(unsupported(other)),
	};
	let mut answer = Element::new(el.name(), ns::PUBSUB_OWNER).with_child(config_form(&config));
	if let Some(node) = node {
		answer.set_attr("node", node);
	}
	cx.reply(iq.iq_result().with_child(Element::new("pubsub", ns::PUBSUB_OWNER).with_child(answer)));
	Ok(())
}

/// XEP-0060 §16.4.4: the node configuration form, filled with `c`.
fn config_form(c: &NodeConfig) -> Element {
	let bool_str = |b: bool| if b { "1" } else { "0" };
	let max = if c.max_items == MAX_ITEMS { "max".to_owned() } else { c.max_items.to_string() };
	form::Builder::new("form", ns::PUBSUB_NODE_CONFIG)
		.list("pubsub#access_model", "Who may retrieve items", c.access.as_str(), &["open", "presence", "whitelist"])
		.field("pubsub#persist_items", "boolean", Some("Keep items"), &[bool_str(c.persist_items)])
		.field("pubsub#max_items", "text-single", Some("Items kept (a number or max)"), &[max.as_str()])
		.list(
			"pubsub#send_last_published_item",
			"When to send the last item",
			if c.send_last { "on_sub_and_presence" } else { "never" },
			&["never", "on_sub_and_presence"],
		)
		.field("pubsub#notify_retract", "boolean", Some("Notify when items are retracted"), &[bool_str(c.notify_retract)])
		.build()
}

/// Local accounts that receive `owner`'s presence.
fn presence_subscribers(owner: &str, cx: &Cx) -> Vec<String> {
	let roster = cx.server.store.snapshot().and_then(|s| s.roster(owner)).unwrap_or_default();
	roster
		.into_iter()
		.filter(|(_, e)| e.state.sub.has_from())
		.filter_map(|(contact, _)| {
			let j = BareJid::parse(&contact).ok()?;
			cx.local_user(j.as_jid()).map(str::to_owned)
		})
		.collect()
}

fn event_message(from: &str, to: &str, event: Element) -> Element {
	Element::new("message", ns::CLIENT).with_attr("from", from).with_attr("to", to).with_attr("type", "headline").with_child(event)
}

/// Delivers an event (XEP-0163 §4.3) to the available resources that want
/// it: those of the owner and, unless the node is whitelist, of its
/// presence subscribers that asked with +notify, and those subscribed
/// explicitly (XEP-0060 §6.1) that may still read the node.
pub fn notify(owner: &str, node: &str, access: AccessModel, event: Element, cx: &mut Cx) {
	let mut implicit = vec![owner.to_owned()];
	if access != AccessModel::Whitelist {
		implicit.extend(presence_subscribers(owner, cx));
	}
	let explicit = super::pep_subs::entitled(owner, node, access, cx);
	let mut users: Vec<&str> = implicit.iter().map(String::as_str).chain(explicit.iter().map(|s| s.user.as_str())).collect();
	users.sort_unstable();
	users.dedup();
	let from = format!("{owner}@{}", cx.domain());
	let owner_jid = crate::xmpp::jid::Jid::parse(&from).ok();
	let lists = cx.server.blocklists.borrow();
	// Nothing to or from someone blocked (XEP-0191).
	users.retain(|u| {
		let jid = crate::xmpp::jid::Jid::parse(&format!("{u}@{}", cx.domain())).ok();
		!(owner_jid.as_ref().is_some_and(|o| lists.blocks(u, o)) || jid.is_some_and(|j| lists.blocks(owner, &j)))
	});
	drop(lists);
	let sessions = cx.server.sessions.borrow();
	for user in users {
		let notified = implicit.iter().any(|u| u == user);
		for s in sessions.available(user) {
			let wants = notified && s.interests.as_ref().is_some_and(|i| i.wants(node));
			let subscribed = explicit.iter().any(|x| x.user == user && (x.resource.is_empty() || s.jid.resource() == x.resource));
			if wants || subscribed {
				s.send(event_message(&from, s.jid.as_str(), event.clone()));
			}
		}
	}
}

/// The event with `owner`'s `node`'s last item, for `to`, if the node keeps
/// one and sends it (XEP-0163 §4.3.4, XEP-0060 §6.1.7).
pub(super) fn last_item_event(snap: &Snapshot, owner: &str, node: &str, config: &NodeConfig, to: &str, cx: &Cx) -> Option<Element> {
	if !config.send_last || !config.persist_items {
		return None;
	}
	let item = snap.pep_items(owner, node).ok()?.pop()?;
	let payload = cx.stored_xml(&item.xml, ns::PUBSUB).ok()?;
	let item = Element::new("item", ns::PUBSUB_EVENT).with_attr("id", item.id).with_child(payload);
	Some(event_message(&format!("{owner}@{}", cx.domain()), to, items_event(node, item)))
}

/// A session now wants `nodes`: send it the last item of each such node of
/// its own account and of the contacts whose presence it receives
/// (XEP-0163 §4.3.4, "on_sub_and_presence").
pub fn send_last_items(jid: &FullJid, nodes: &[&str], cx: &mut Cx) {
	let Some(user) = jid.node().map(str::to_owned) else { return };
	let Ok(snap) = cx.server.store.snapshot() else { return };
	let mut owners = vec![user.clone()];
	for (contact, e) in snap.roster(&user).unwrap_or_default() {
		if e.state.sub.has_to()
			&& let Ok(j) = BareJid::parse(&contact)
			&& let Some(u) = cx.local_user(j.as_jid())
		{
			owners.push(u.to_owned());
		}
	}
	let mut out = Vec::new();
	let lists = cx.server.blocklists.borrow();
	owners.retain(|o| {
		let (oj, uj) = (format!("{o}@{}", cx.domain()), format!("{user}@{}", cx.domain()));
		let (Ok(oj), Ok(uj)) = (crate::xmpp::jid::Jid::parse(&oj), crate::xmpp::jid::Jid::parse(&uj)) else { return false };
		!lists.blocks(&user, &oj) && !lists.blocks(o, &uj)
	});
	drop(lists);
	for owner in owners {
		for (node, n) in snap.pep_nodes(&owner).unwrap_or_default() {
			if nodes.contains(&node.as_str())
				&& may_read_as(&owner, &user, n.config.access, cx)
				&& let Some(m) = last_item_event(&snap, &owner, &node, &n.config, jid.as_str(), cx)
			{
				out.push(m);
			}
		}
	}
	if let Some(s) = cx.server.sessions.borrow().by_jid(jid) {
		for m in out {
			s.send(m);
		}
	}
}

/// The nodes of `owner` the sender may see (disco#items on the account).
pub fn visible_nodes(owner: &str, cx: &Cx) -> Vec<String> {
	let nodes = cx.server.store.snapshot().and_then(|s| s.pep_nodes(owner)).unwrap_or_default();
	nodes.into_iter().filter(|(_, n)| may_read(owner, n.config.access, cx).is_ok()).map(|(node, _)| node).collect()
}
