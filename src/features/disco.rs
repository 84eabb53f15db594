//! XEP-0030: Service Discovery, for the server (built from every feature's
//! registration, with XEP-0157 contact addresses and the XEP-0115 caps of
//! that answer) and, on their behalf, for accounts.

use super::{ALL, Cx, Feature, IqRoute, Target};
use crate::server::Server;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::Builder;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "disco",
	spec: "XEP-0030 2.5rc3",
	disco: &[ns::DISCO_INFO, ns::DISCO_ITEMS],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Get, ns: ns::DISCO_INFO, name: "query", target: Target::Server, handler: server_info },
		IqRoute { ty: IqType::Get, ns: ns::DISCO_ITEMS, name: "query", target: Target::Server, handler: server_items },
		IqRoute { ty: IqType::Get, ns: ns::DISCO_INFO, name: "query", target: Target::Account, handler: account_info },
		IqRoute { ty: IqType::Get, ns: ns::DISCO_ITEMS, name: "query", target: Target::Account, handler: account_items },
	],
};

/// The node of our own XEP-0115 caps: a URI naming the software.
pub const CAPS_NODE: &str = "https://xerra.chat";

fn query(iq: &Stanza, ns: &str) -> Result<Element, StanzaError> {
	// No nodes are defined here.
	if iq.payload().and_then(|q| q.attr("node")).is_some() {
		return Err(StanzaError::new(Condition::ItemNotFound));
	}
	Ok(Element::new("query", ns))
}

/// A service's disco#info query: one identity and its features.
pub fn service_info(category: &str, ty: &str, name: &str, features: &[&str]) -> Element {
	let mut q = Element::new("query", ns::DISCO_INFO)
		.with_child(Element::new("identity", ns::DISCO_INFO).with_attr("category", category).with_attr("type", ty).with_attr("name", name));
	for f in features {
		q.push(Element::new("feature", ns::DISCO_INFO).with_attr("var", *f));
	}
	q
}

/// The server's disco#info query (XEP-0030 §3.1): what every feature
/// announces, the upload service when it listens (XEP-0363 §2), and whom to
/// contact (XEP-0157).
fn server_query(server: &Server) -> Element {
	let mut q = Element::new("query", ns::DISCO_INFO);
	q.push(Element::new("identity", ns::DISCO_INFO).with_attr("category", "server").with_attr("type", "im").with_attr("name", "Xerra"));
	let upload = super::upload::disco_extras(server);
	if let Some((identity, _)) = &upload {
		q.push(identity.clone());
	}
	let mut vars: Vec<&str> = ALL
		.iter()
		.flat_map(|f| f.disco.iter().copied())
		.filter(|v| *v != ns::HTTP_UPLOAD || upload.is_some())
		.filter(|v| !super::extdisco::FEATURE.disco.contains(v) || super::extdisco::offered(&server.config.turn))
		.collect();
	vars.sort_unstable();
	vars.dedup();
	for var in vars {
		q.push(Element::new("feature", ns::DISCO_INFO).with_attr("var", var));
	}
	if let Some((_, form)) = upload {
		q.push(form);
	}
	if let Some(form) = contact_form(&server.config.contact_addresses) {
		q.push(form);
	}
	q
}

/// XEP-0157: one list-multi field per kind of address that has any.
fn contact_form(addresses: &[(&'static str, String)]) -> Option<Element> {
	if addresses.is_empty() {
		return None;
	}
	let mut kinds: Vec<&str> = addresses.iter().map(|(k, _)| *k).collect();
	kinds.sort_unstable();
	kinds.dedup();
	let mut b = Builder::new("result", ns::SERVERINFO);
	for kind in kinds {
		let uris: Vec<&str> = addresses.iter().filter(|(k, _)| *k == kind).map(|(_, u)| u.as_str()).collect();
		b = b.field(kind, "list-multi", None, &uris);
	}
	Some(b.build())
}

/// The server's own entity capabilities (XEP-0115 §6.3), offered in the
/// stream features so clients need not ask for them at every login.
pub fn server_caps(server: &Server) -> Option<String> {
	let ver = super::caps::hash(&server_query(server))?;
	Some(format!("<c xmlns='{}' hash='sha-1' node='{CAPS_NODE}' ver='{ver}'/>", ns::CAPS))
}

fn server_info(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let mut q = server_query(cx.server);
	// A client that read our caps asks about `node#ver` (XEP-0115 §6.2).
	if let Some(node) = iq.payload().and_then(|p| p.attr("node")) {
		let ours = node.strip_prefix(CAPS_NODE).and_then(|v| v.strip_prefix('#'));
		if ours.is_none_or(|v| Some(v) != super::caps::hash(&q).as_deref()) {
			return Err(StanzaError::new(Condition::ItemNotFound));
		}
		q.set_attr("node", node);
	}
	cx.reply(iq.iq_result().with_child(q));
	Ok(())
}

fn server_items(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	// XEP-0050 §2.2: the commands node.
	if iq.payload().and_then(|q| q.attr("node")) == Some(ns::COMMANDS) {
		let mut q = Element::new("query", ns::DISCO_ITEMS).with_attr("node", ns::COMMANDS);
		let devices = if cx.is_remote() { Vec::new() } else { super::devices::command_items(cx.domain()) };
		for item in super::invites::command_items(cx.domain()).into_iter().chain(devices).chain(super::adhoc::command_items(cx)) {
			q.push(item);
		}
		cx.reply(iq.iq_result().with_child(q));
		return Ok(());
	}
	let mut q = query(iq, ns::DISCO_ITEMS)?;
	// The room service (XEP-0045 §6.1).
	let rooms = super::muc::service_domain(cx.domain());
	q.push(Element::new("item", ns::DISCO_ITEMS).with_attr("jid", rooms).with_attr("name", "Rooms"));
	if let Some(proxy) = super::proxy::disco_item(cx) {
		q.push(proxy);
	}
	cx.reply(iq.iq_result().with_child(q));
	Ok(())
}

/// The account itself, or a contact it shares presence with, may ask.
fn may_see_account(iq: &Stanza, cx: &Cx) -> Result<(), StanzaError> {
	let account = cx.addressed_account(iq);
	if account == cx.user() {
		return Ok(());
	}
	let snap = cx.server.store.snapshot()?;
	let requester = cx.jid.to_bare();
	match snap.roster_entry(&account, requester.as_str()) {
		Ok(Some(e)) if e.state.sub.has_from() => Ok(()),
		Ok(_) => Err(StanzaError::new(Condition::ServiceUnavailable)),
		Err(e) => Err(e.into()),
	}
}

fn account_info(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	may_see_account(iq, cx)?;
	let mut q = query(iq, ns::DISCO_INFO)?;
	q.push(Element::new("identity", ns::DISCO_INFO).with_attr("category", "account").with_attr("type", "registered"));
	// Every account is a PEP service (XEP-0163 §6.1).
	q.push(Element::new("identity", ns::DISCO_INFO).with_attr("category", "pubsub").with_attr("type", "pep"));
	let mut vars: Vec<&str> =
		[ns::DISCO_INFO, ns::DISCO_ITEMS, ns::PING].into_iter().chain(ALL.iter().flat_map(|f| f.account.iter().copied())).collect();
	vars.sort_unstable();
	vars.dedup();
	for var in vars {
		q.push(Element::new("feature", ns::DISCO_INFO).with_attr("var", var));
	}
	cx.reply(iq.iq_result().with_child(q));
	Ok(())
}

fn account_items(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	may_see_account(iq, cx)?;
	let mut q = query(iq, ns::DISCO_ITEMS)?;
	// Its PEP nodes, those the asker may read (XEP-0163 §6.2).
	let account = cx.addressed_account(iq);
	let jid = format!("{account}@{}", cx.domain());
	for node in super::pep::visible_nodes(&account, cx) {
		q.push(Element::new("item", ns::DISCO_ITEMS).with_attr("jid", jid.as_str()).with_attr("node", node));
	}
	cx.reply(iq.iq_result().with_child(q));
	Ok(())
}
