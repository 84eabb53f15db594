//! XEP-0115: Entity Capabilities, used for XEP-0163 filtered notifications.
//! A client's presence carries a hash of its feature set; the server asks
//! the client once per hash what it stands for (disco#info), checks the
//! hash, remembers the answer and so learns, for every session, which PEP
//! nodes it wants notifications of (features `NODE+notify`).
//!
//! Verified feature sets are shared by every client with the same hash, up
//! to `caps_cache_entries`. An answer that does not match its hash serves
//! only the session that gave it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

use base64::Engine as _;

use super::{Cx, Feature, Out};
use crate::xmpp::element::Element;
use crate::xmpp::jid::FullJid;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza, StanzaType};

pub const FEATURE: Feature = Feature { name: "caps", spec: "XEP-0115 1.6.0", disco: &[], account: &[], iq: &[] };

/// What a client wants notifications of: the nodes of its `+notify` features.
#[derive(Debug, PartialEq, Eq)]
pub struct Interests {
	pub ver: Box<str>,
	nodes: Box<[Box<str>]>,
}

impl Interests {
	pub fn wants(&self, node: &str) -> bool {
		self.nodes.binary_search_by(|n| (**n).cmp(node)).is_ok()
	}

	pub fn nodes(&self) -> impl Iterator<Item = &str> {
		self.nodes.iter().map(|n| &**n)
	}
}

/// A disco#info query in flight.
struct Query {
	ver: String,
	/// Only SHA-1 hashes are checked (XEP-0115 §5.1 mandates it for clients).
	sha1: bool,
	to: FullJid,
	/// (account, session id) of every session waiting for this feature set.
	waiting: Vec<(String, u64)>,
}

/// The server's knowledge of feature sets, and its questions in flight.
#[derive(Default)]
pub struct Caps {
	known: HashMap<String, Rc<Interests>>,
	/// `known`'s keys, oldest first, for forgetting.
	order: VecDeque<String>,
	queries: BTreeMap<u64, Query>,
	next: u64,
}

/// A client's available presence: learn (or ask) what its caps stand for.
pub fn presence(el: &Element, cx: &mut Cx) {
	let Some(c) = el.child("c", ns::CAPS) else { return };
	let (Some(node), Some(ver)) = (c.attr("node"), c.attr("ver")) else { return };
	let user = cx.user().to_owned();
	let current = cx.server.sessions.borrow().get(&user, cx.session_id).and_then(|s| s.interests.as_ref().map(|i| i.ver.clone()));
	if current.as_deref() == Some(ver) {
		return;
	}
	let known = cx.server.caps.borrow().known.get(ver).cloned();
	if let Some(interests) = known {
		return apply(&user, cx.session_id, interests, cx);
	}
	let mut caps = cx.server.caps.borrow_mut();
	let waiter = (user, cx.session_id);
	if let Some(q) = caps.queries.values_mut().find(|q| q.ver == ver) {
		q.waiting.push(waiter);
		return;
	}
	// One question per session at most: bounded by the sessions we hold,
	// and the oldest is given up beyond the cache size.
	while caps.queries.len() >= cx.server.config.limits.caps_cache_entries {
		caps.queries.pop_first();
	}
	caps.next += 1;
	let id = caps.next;
	caps.queries
		.insert(id, Query { ver: ver.to_owned(), sha1: c.attr("hash") == Some("sha-1"), to: cx.jid.clone(), waiting: vec![waiter] });
	drop(caps);
	let iq = Element::new("iq", ns::CLIENT)
		.with_attr("type", "get")
		.with_attr("id", format!("caps{id}"))
		.with_attr("from", cx.domain())
		.with_attr("to", cx.jid.as_str())
		.with_child(Element::new("query", ns::DISCO_INFO).with_attr("node", format!("{node}#{ver}")));
	cx.send(Out::Route(iq));
}

/// An iq result or error addressed to the server: the answer to a caps query?
pub fn answer(stanza: &Stanza, cx: &mut Cx) {
	let Some(id) = stanza.id().and_then(|id| id.strip_prefix("caps")).and_then(|n| n.parse::<u64>().ok()) else { return };
	let mut caps = cx.server.caps.borrow_mut();
	// Only the client that was asked may answer.
	if caps.queries.get(&id).is_none_or(|q| &q.to != cx.jid) {
		return;
	}
	let Some(q) = caps.queries.remove(&id) else { return };
	let info = match (stanza.ty, stanza.payload()) {
		(StanzaType::Iq(IqType::Result), Some(info)) if info.is("query", ns::DISCO_INFO) => info,
		_ => return,
	};
	let interests = Rc::new(interests_of(&q.ver, info));
	let verified = q.sha1 && hash(info).is_some_and(|h| h == q.ver);
	let waiting = if verified {
		if caps.known.len() >= cx.server.config.limits.caps_cache_entries
			&& let Some(old) = caps.order.pop_front()
		{
			caps.known.remove(&old);
		}
		caps.known.insert(q.ver.clone(), interests.clone());
		caps.order.push_back(q.ver);
		q.waiting
	} else {
		log::debug!("{}: caps hash does not match its features; used for this session only", cx.jid);
		q.waiting.into_iter().filter(|(_, id)| *id == cx.session_id).collect()
	};
	drop(caps);
	for (user, session_id) in waiting {
		apply(&user, session_id, interests.clone(), cx);
	}
}

/// Gives a session its interests and sends it the last items it now wants.
fn apply(user: &str, session_id: u64, interests: Rc<Interests>, cx: &mut Cx) {
	let (jid, old) = {
		let mut sessions = cx.server.sessions.borrow_mut();
		let Some(s) = sessions.get_mut(user, session_id) else { return };
		(s.jid.clone(), s.interests.replace(interests.clone()))
	};
	let new: Vec<&str> = interests.nodes().filter(|n| !old.as_ref().is_some_and(|o| o.wants(n))).collect();
	if !new.is_empty() {
		super::pep::send_last_items(&jid, &new, cx);
	}
}

/// The `+notify` nodes among an answer's features, sorted.
fn interests_of(ver: &str, info: &Element) -> Interests {
	let mut nodes: Vec<Box<str>> = info
		.children()
		.filter(|c| c.is("feature", ns::DISCO_INFO))
		.filter_map(|f| f.attr("var")?.strip_suffix("+notify").map(Box::from))
		.collect();
	nodes.sort_unstable();
	nodes.dedup();
	Interests { ver: ver.into(), nodes: nodes.into_boxed_slice() }
}

/// A form field as hashed: its var and sorted values.
type Field<'a> = (&'a str, Vec<String>);

/// XEP-0115 §5.1: the string a `ver` hashes. `None` for answers §5.4 says
/// not to trust (duplicate identities, features or form types).
pub fn verification_string(info: &Element) -> Option<String> {
	let mut identities: Vec<[&str; 4]> = info
		.children()
		.filter(|c| c.is("identity", ns::DISCO_INFO))
		.map(|i| {
			let a = |n| i.attr(n).unwrap_or("");
			[a("category"), a("type"), a("xml:lang"), a("name")]
		})
		.collect();
	let mut features: Vec<&str> = info.children().filter(|c| c.is("feature", ns::DISCO_INFO)).filter_map(|f| f.attr("var")).collect();
	let mut forms: Vec<(String, Vec<Field>)> = Vec::new();
	for x in info.children().filter(|c| c.is("x", ns::DATA_FORMS)) {
		let mut form_type = None;
		let mut fields = Vec::new();
		for f in x.children().filter(|c| c.is("field", ns::DATA_FORMS)) {
			let var = f.attr("var")?;
			let mut values: Vec<String> = f.children().filter(|v| v.is("value", ns::DATA_FORMS)).map(Element::text).collect();
			if var == "FORM_TYPE" {
				form_type = values.pop();
			} else {
				values.sort_unstable();
				fields.push((var, values));
			}
		}
		// A form without FORM_TYPE is left out (§5.4).
		if let Some(t) = form_type {
			fields.sort_unstable();
			forms.push((t, fields));
		}
	}
	identities.sort_unstable();
	features.sort_unstable();
	forms.sort_unstable();
	if identities.windows(2).any(|w| w[0] == w[1])
		|| features.windows(2).any(|w| w[0] == w[1])
		|| forms.windows(2).any(|w| w[0].0 == w[1].0)
	{
		return None;
	}
	let mut s = String::new();
	for [category, ty, lang, name] in identities {
		s.push_str(&format!("{category}/{ty}/{lang}/{name}<"));
	}
	for f in features {
		s.push_str(f);
		s.push('<');
	}
	for (form_type, fields) in forms {
		s.push_str(&form_type);
		s.push('<');
		for (var, values) in fields {
			s.push_str(var);
			s.push('<');
			for v in values {
				s.push_str(&v);
				s.push('<');
			}
		}
	}
	Some(s)
}

/// The SHA-1 `ver` of a disco#info answer (§5.1, §5.2); `None` for one
/// §5.4 would not trust.
pub fn hash(info: &Element) -> Option<String> {
	verification_string(info).map(|s| sha1_base64(&s))
}

fn sha1_base64(s: &str) -> String {
	let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, s.as_bytes());
	base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::xmpp::reader::{XmlLimits, parse_stored};

	fn info(xml: &str) -> Element {
		parse_stored(xml, ns::CLIENT, XmlLimits { max_stanza_bytes: usize::MAX, max_depth: 20, max_attrs: 20, max_elements: usize::MAX })
			.unwrap()
	}

	#[test]
	fn simple_example_of_section_5_2() {
		let q = info(
			"<query xmlns='http://jabber.org/protocol/disco#info'>\
			 <identity category='client' name='Exodus 0.9.1' type='pc'/>\
			 <feature var='http://jabber.org/protocol/caps'/>\
			 <feature var='http://jabber.org/protocol/disco#info'/>\
			 <feature var='http://jabber.org/protocol/disco#items'/>\
			 <feature var='http://jabber.org/protocol/muc'/></query>",
		);
		assert_eq!(sha1_base64(&verification_string(&q).unwrap()), "QgayPKawpkPSDYmwT/WM94uAlu0=");
	}

	#[test]
	fn complex_example_of_section_5_3() {
		let q = info(
			"<query xmlns='http://jabber.org/protocol/disco#info'>\
			 <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>\
			 <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>\
			 <feature var='http://jabber.org/protocol/caps'/>\
			 <feature var='http://jabber.org/protocol/disco#info'/>\
			 <feature var='http://jabber.org/protocol/disco#items'/>\
			 <feature var='http://jabber.org/protocol/muc'/>\
			 <x xmlns='jabber:x:data' type='result'>\
			 <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>\
			 <field var='ip_version'><value>ipv4</value><value>ipv6</value></field>\
			 <field var='os'><value>Mac</value></field>\
			 <field var='os_version'><value>10.5.1</value></field>\
			 <field var='software'><value>Psi</value></field>\
			 <field var='software_version'><value>0.11</value></field></x></query>",
		);
		assert_eq!(sha1_base64(&verification_string(&q).unwrap()), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
	}

	#[test]
	fn duplicates_are_not_trusted_and_notify_nodes_are_found() {
		let q = info(
			"<query xmlns='http://jabber.org/protocol/disco#info'>\
			 <feature var='urn:xmpp:avatar:metadata+notify'/><feature var='urn:xmpp:avatar:metadata+notify'/>\
			 <feature var='eu.siacs.conversations.axolotl.devicelist+notify'/></query>",
		);
		assert!(verification_string(&q).is_none());
		let i = interests_of("v", &q);
		assert!(i.wants("urn:xmpp:avatar:metadata") && i.wants("eu.siacs.conversations.axolotl.devicelist"));
		assert!(!i.wants("urn:xmpp:avatar:data"));
	}
}
