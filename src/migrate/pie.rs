//! XEP-0227 (Portable Import/Export, 1.1) elements to and from the model:
//! one `<user/>` at a time, plus Xerra's host-level extension (rooms and
//! departments, namespace [`XERRA`], see docs/xep-0227.md).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::model::{AccountData, ArchivedMessage, Department, PepItemData, PepNodeData, PrivateXml, RoomData, RosterItem};
use crate::proto::sasl::scram::ScramCredentials;
use crate::proto::subscription::Sub;
use crate::store::{AccessModel, NodeConfig, RoomConfig, StoredRoom};
use crate::xmpp::element::Element;
use crate::xmpp::form::{self, Form};
use crate::xmpp::ns;
use crate::xmpp::reader::{XmlLimits, parse_stored};

pub const PIE: &str = "urn:xmpp:pie:0";
pub const SCRAM: &str = "urn:xmpp:pie:0#scram";
pub const PIE_MAM: &str = "urn:xmpp:pie:0#mam";
/// Xerra's extension: account flags, rooms, departments.
pub const XERRA: &str = "urn:xerra:pie:0";
const XINCLUDE: &str = "http://www.w3.org/2001/XInclude";

/// `max_items` as stored for "max" (see `features::pep`).
const MAX_ITEMS: u32 = u32::MAX;

/// Stored XML fragments are parsed with these (the file was bounded already).
fn limits() -> XmlLimits {
	XmlLimits::unlimited()
}

/// A stored fragment (no xmlns: `default_ns`) as an element.
fn stored(xml: &str, default_ns: &str, what: &str) -> Result<Element, String> {
	parse_stored(xml, default_ns, limits()).ok_or_else(|| format!("{what} is not well-formed XML"))
}

fn b(v: bool) -> &'static str {
	if v { "true" } else { "false" }
}

fn micros_stamp(micros: u64) -> String {
	let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
	t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

// ---------------------------------------------------------------- writing

/// The `<user/>` element of one account, as XML inside a `<host/>` in
/// [`PIE`]. Fails only on stored XML that does not parse (corrupt data).
/// `ejabberd`: the SCRAM values base64-encoded twice, as ejabberd 23.01's
/// `import_piefxis` reads them (it keeps them base64-encoded and decodes the
/// file's text once).
pub fn user_xml(a: &AccountData, domain: &str, ejabberd: bool) -> Result<String, String> {
	let b64 = |v: &[u8]| if ejabberd { B64.encode(B64.encode(v)) } else { B64.encode(v) };
	let mut out = String::new();
	out.push_str("<user name='");
	crate::xmpp::element::escape_attr_into(&mut out, &a.name);
	out.push_str("'>");
	let mut push = |el: Element| out.push_str(&el.to_xml(PIE));
	push(
		Element::new("account", XERRA)
			.with_attr("created", a.created.to_string())
			.with_attr("admin", b(a.admin))
			.with_attr("locked", b(a.locked)),
	);
	// SHA-1 first: ejabberd reads only the first set.
	for (mech, c) in [("SCRAM-SHA-1", &a.sha1), ("SCRAM-SHA-256", &a.sha256)] {
		let Some(c) = c.as_ref().filter(|c| !c.stored_key.is_empty()) else { continue };
		push(
			Element::new("scram-credentials", SCRAM)
				.with_attr("mechanism", mech)
				.with_child(Element::new("iter-count", SCRAM).with_text(c.iterations.to_string()))
				.with_child(Element::new("salt", SCRAM).with_text(b64(&c.salt)))
				.with_child(Element::new("server-key", SCRAM).with_text(b64(&c.server_key)))
				.with_child(Element::new("stored-key", SCRAM).with_text(b64(&c.stored_key))),
		);
	}
	let me = format!("{}@{domain}", a.name);
	let mut roster = Element::new("query", ns::ROSTER);
	for r in &a.roster {
		if r.in_roster {
			let sub = match r.subscription {
				Sub::None => "none",
				Sub::To => "to",
				Sub::From => "from",
				Sub::Both => "both",
			};
			let mut item = Element::new("item", ns::ROSTER).with_attr("jid", r.jid.as_str()).with_attr("subscription", sub);
			if let Some(n) = &r.name {
				item.set_attr("name", n.as_str());
			}
			if r.ask {
				item.set_attr("ask", "subscribe");
			}
			if r.approved {
				item.set_attr("approved", "true");
			}
			for g in &r.groups {
				item.push(Element::new("group", ns::ROSTER).with_text(g.as_str()));
			}
			roster.push(item);
		}
	}
	push(roster);
	for r in &a.roster {
		if let Some(status) = &r.pending_in {
			let mut p = Element::new("presence", ns::CLIENT)
				.with_attr("from", r.jid.as_str())
				.with_attr("to", me.as_str())
				.with_attr("type", "subscribe");
			if let Some(s) = status {
				p.push(Element::new("status", ns::CLIENT).with_text(s.as_str()));
			}
			push(p);
		}
		if r.approved && !r.in_roster {
			push(Element::new("approved", XERRA).with_attr("jid", r.jid.as_str()));
		}
	}
	if let Some(v) = &a.vcard {
		push(stored(v, ns::VCARD, "the vCard")?);
	}
	if !a.private.is_empty() {
		let mut q = Element::new("query", ns::PRIVATE);
		for p in &a.private {
			q.push(stored(&p.xml, ns::PRIVATE, "private XML")?);
		}
		push(q);
	}
	if !a.offline.is_empty() {
		let mut o = Element::new("offline-messages", PIE);
		for m in &a.offline {
			o.push(stored(m, ns::CLIENT, "an offline message")?);
		}
		push(o);
	}
	if !a.pep.is_empty() {
		let mut owner = Element::new("pubsub", ns::PUBSUB_OWNER);
		let mut items = Element::new("pubsub", ns::PUBSUB);
		for n in &a.pep {
			owner.push(
				Element::new("configure", ns::PUBSUB_OWNER).with_attr("node", n.node.as_str()).with_child(node_config_form(&n.config)),
			);
			let mut its = Element::new("items", ns::PUBSUB).with_attr("node", n.node.as_str());
			for i in &n.items {
				its.push(Element::new("item", ns::PUBSUB).with_attr("id", i.id.as_str()).with_child(stored(
					&i.xml,
					ns::PUBSUB,
					"a PEP item",
				)?));
			}
			items.push(its);
		}
		push(owner);
		push(items);
	}
	if !a.archive.is_empty() {
		push(archive_el(&a.archive)?);
	}
	out.push_str("</user>");
	Ok(out)
}

fn archive_el(archive: &[ArchivedMessage]) -> Result<Element, String> {
	let mut el = Element::new("archive", PIE_MAM);
	for m in archive {
		el.push(
			Element::new("result", ns::MAM).with_attr("id", m.id.as_str()).with_child(
				Element::new("forwarded", ns::FORWARD)
					.with_child(Element::new("delay", ns::DELAY).with_attr("stamp", micros_stamp(m.micros)))
					.with_child(stored(&m.xml, ns::CLIENT, "an archived message")?),
			),
		);
	}
	Ok(el)
}

/// XEP-0060 §16.4.4 node configuration, as submitted.
fn node_config_form(c: &NodeConfig) -> Element {
	let bool_str = |b: bool| if b { "1" } else { "0" };
	let max = if c.max_items == MAX_ITEMS { "max".to_owned() } else { c.max_items.to_string() };
	let send_last = if c.send_last { "on_sub_and_presence" } else { "never" };
	let field = |var: &str, v: &str| {
		Element::new("field", ns::DATA_FORMS).with_attr("var", var).with_child(Element::new("value", ns::DATA_FORMS).with_text(v))
	};
	Element::new("x", ns::DATA_FORMS)
		.with_attr("type", "submit")
		.with_child(field("FORM_TYPE", ns::PUBSUB_NODE_CONFIG).with_attr("type", "hidden"))
		.with_child(field("pubsub#access_model", c.access.as_str()))
		.with_child(field("pubsub#persist_items", bool_str(c.persist_items)))
		.with_child(field("pubsub#max_items", &max))
		.with_child(field("pubsub#send_last_published_item", send_last))
		.with_child(field("pubsub#notify_retract", bool_str(c.notify_retract)))
}

/// The host-level extension: `<rooms/>` (with their archives) and `<departments/>`.
pub fn rooms_xml(rooms: &[RoomData]) -> Result<String, String> {
	let mut el = Element::new("rooms", XERRA);
	for r in rooms {
		let c = &r.room.config;
		let mut room = Element::new("room", XERRA)
			.with_attr("name", r.name.as_str())
			.with_attr("title", c.title.as_str())
			.with_attr("description", c.description.as_str())
			.with_attr("members-only", b(c.members_only))
			.with_attr("moderated", b(c.moderated))
			.with_attr("hidden", b(c.hidden))
			.with_attr("whois-anyone", b(c.whois_anyone))
			.with_attr("max-users", c.max_users.to_string())
			.with_attr("allow-invites", b(c.allow_invites))
			.with_attr("change-subject", b(c.change_subject))
			.with_attr("salt", B64.encode(&r.room.salt));
		if let Some(p) = &c.password {
			room.set_attr("password", p.as_str());
		}
		if let Some((text, by)) = &r.room.subject {
			room.push(Element::new("subject", XERRA).with_attr("by", by.as_str()).with_text(text.as_str()));
		}
		for (jid, aff) in &r.room.affiliations {
			room.push(Element::new("affiliation", XERRA).with_attr("jid", jid.as_str()).with_attr("affiliation", aff.as_str()));
		}
		for (jid, nick) in &r.room.nicks {
			room.push(Element::new("nick", XERRA).with_attr("jid", jid.as_str()).with_attr("nick", nick.as_str()));
		}
		if let Some(v) = &r.room.vcard {
			room.push(stored(v, ns::VCARD, "a room's vCard")?);
		}
		if !r.archive.is_empty() {
			room.push(archive_el(&r.archive)?);
		}
		el.push(room);
	}
	Ok(el.to_xml(PIE))
}

pub fn departments_xml(departments: &[Department]) -> String {
	let mut el = Element::new("departments", XERRA);
	for d in departments {
		let mut dept = Element::new("department", XERRA).with_attr("name", d.name.as_str());
		for m in &d.members {
			dept.push(Element::new("member", XERRA).with_attr("name", m.as_str()));
		}
		el.push(dept);
	}
	el.to_xml(PIE)
}

// ---------------------------------------------------------------- reading

/// What an element at host level is.
pub enum HostChild {
	User(Element),
	Rooms(Element),
	Departments(Element),
	/// An XInclude of another file (relative `href`).
	Include(String),
	Other,
}

pub fn classify(el: Element) -> HostChild {
	match (el.name(), el.ns()) {
		("user", PIE) => HostChild::User(el),
		("rooms", XERRA) => HostChild::Rooms(el),
		("departments", XERRA) => HostChild::Departments(el),
		("include", XINCLUDE) => match el.attr("href") {
			Some(h) => HostChild::Include(h.to_owned()),
			None => HostChild::Other,
		},
		_ => HostChild::Other,
	}
}

fn bare(jid: &str) -> &str {
	jid.split_once('/').map_or(jid, |(b, _)| b)
}

/// One `<user/>` as the model. `domain` is its host's JID (for telling
/// which side of an archived message is the account). Errors say what is
/// wrong, for the report.
pub fn user_from(el: &Element, domain: &str, archives: &mut Archives) -> Result<AccountData, String> {
	let name = el.attr("name").filter(|n| !n.is_empty()).ok_or("a <user/> without a name")?;
	let mut a = AccountData { name: name.to_owned(), ..AccountData::default() };
	if let Some(p) = el.attr("password").filter(|p| !p.is_empty()) {
		match p.strip_prefix("scram:") {
			// ejabberd's older form: [sha256,]stored,server,salt,iterations.
			Some(old) => old_scram(old, &mut a)?,
			None => a.password = Some(p.to_owned()),
		}
	}
	let me = format!("{name}@{domain}");
	for c in el.children() {
		match (c.name(), c.ns()) {
			("scram-credentials", SCRAM) => {
				let (len, slot) = match c.attr("mechanism") {
					Some("SCRAM-SHA-1") => (20, &mut a.sha1),
					Some("SCRAM-SHA-256") => (32, &mut a.sha256),
					// SHA-512 and others: this server has no use for them.
					_ => continue,
				};
				*slot = Some(scram_from(c, len)?);
			}
			("account", XERRA) => {
				a.created = c.attr("created").and_then(|v| v.parse().ok()).unwrap_or(0);
				a.admin = c.attr("admin") == Some("true");
				a.locked = c.attr("locked") == Some("true");
			}
			("query", ns::ROSTER) => {
				for item in c.children().filter(|i| i.is("item", ns::ROSTER)) {
					let jid = item.attr("jid").ok_or("a roster item without a jid")?;
					let subscription = match item.attr("subscription").unwrap_or("none") {
						"none" | "remove" => Sub::None,
						"to" => Sub::To,
						"from" => Sub::From,
						"both" => Sub::Both,
						other => return Err(format!("roster item {jid}: subscription {other:?}")),
					};
					let r = roster_row(&mut a.roster, bare(jid));
					r.in_roster = true;
					r.name = item.attr("name").map(str::to_owned);
					r.groups = item.children().filter(|g| g.is("group", ns::ROSTER)).map(|g| g.text()).collect();
					r.subscription = subscription;
					r.ask = item.attr("ask") == Some("subscribe");
					r.approved = matches!(item.attr("approved"), Some("true" | "1"));
				}
			}
			("presence", ns::CLIENT) if c.attr("type") == Some("subscribe") => {
				let from = c.attr("from").ok_or("a subscription request without a from")?;
				let status = c.child("status", ns::CLIENT).map(Element::text).filter(|s| !s.is_empty());
				roster_row(&mut a.roster, bare(from)).pending_in = Some(status);
			}
			("approved", XERRA) => {
				if let Some(jid) = c.attr("jid") {
					roster_row(&mut a.roster, bare(jid)).approved = true;
				}
			}
			("vCard", ns::VCARD) => a.vcard = Some(c.to_xml(ns::VCARD)),
			("query", ns::PRIVATE) => {
				for p in c.children() {
					a.private.push(PrivateXml { ns: p.ns().to_owned(), name: p.name().to_owned(), xml: p.to_xml(ns::PRIVATE) });
				}
			}
			("offline-messages", _) => {
				for m in c.children().filter(|m| m.name() == "message") {
					a.offline.push(client_message(m));
				}
			}
			("pubsub", ns::PUBSUB_OWNER) => {
				for conf in c.children().filter(|e| e.is("configure", ns::PUBSUB_OWNER)) {
					let node = conf.attr("node").ok_or("a PEP <configure/> without a node")?;
					let config = conf.child("x", ns::DATA_FORMS).map_or_else(NodeConfig::default, |x| node_config(&Form::parse(x)));
					pep_node(&mut a.pep, node).config = config;
				}
			}
			("pubsub", ns::PUBSUB) => {
				for items in c.children().filter(|e| e.is("items", ns::PUBSUB)) {
					let node = items.attr("node").ok_or("PEP <items/> without a node")?;
					let n = pep_node(&mut a.pep, node);
					for item in items.children().filter(|e| e.is("item", ns::PUBSUB)) {
						let id = item.attr("id").ok_or("a PEP item without an id")?;
						let Some(payload) = item.children().next() else { continue };
						n.items.push(PepItemData { id: id.to_owned(), xml: payload.to_xml(ns::PUBSUB) });
					}
				}
			}
			("archive", PIE_MAM) => a.archive = archive_from(c, Some(&me), archives)?,
			_ => {}
		}
	}
	Ok(a)
}

/// A `<scram-credentials/>` whose keys are `len` bytes. ejabberd (23.01 and
/// later) writes each value base64-encoded twice (it keeps them encoded and
/// encodes again): told apart by the stored key's length.
fn scram_from(c: &Element, len: usize) -> Result<ScramCredentials, String> {
	let text = |n: &str| c.child(n, SCRAM).map(|e| e.text().trim().to_owned()).ok_or(format!("scram-credentials without <{n}/>"));
	let once = |n: &str| B64.decode(text(n)?).map_err(|_| format!("scram-credentials: <{n}/> is not base64"));
	let stored = once("stored-key")?;
	let twice = stored.len() != len && B64.decode(&stored).is_ok_and(|k| k.len() == len);
	let key = |n: &str| -> Result<Vec<u8>, String> {
		let v = once(n)?;
		if twice { B64.decode(&v).map_err(|_| format!("scram-credentials: <{n}/> is not base64 twice as its stored key")) } else { Ok(v) }
	};
	let creds = ScramCredentials {
		iterations: text("iter-count")?.parse().map_err(|_| "scram-credentials: iter-count is not a number")?,
		salt: key("salt")?,
		server_key: key("server-key")?,
		stored_key: key("stored-key")?,
	};
	if creds.stored_key.len() != len || creds.server_key.len() != len {
		return Err(format!("scram-credentials: keys of {} bytes where the mechanism has {len}", creds.stored_key.len()));
	}
	Ok(creds)
}

/// ejabberd's `password='scram:…'` (before XEP-0227 1.1).
fn old_scram(s: &str, a: &mut AccountData) -> Result<(), String> {
	let parts: Vec<&str> = s.split(',').collect();
	let (hash, rest) = match parts.as_slice() {
		[h, rest @ ..] if rest.len() == 4 => (*h, rest),
		rest if rest.len() == 4 => ("sha", rest),
		_ => return Err("a password in an unknown scram: form".into()),
	};
	let key = |s: &str| B64.decode(s).map_err(|_| "a scram: password that is not base64".to_string());
	let creds = ScramCredentials {
		stored_key: key(rest[0])?,
		server_key: key(rest[1])?,
		salt: key(rest[2])?,
		iterations: rest[3].parse().map_err(|_| "a scram: password with a bad iteration count")?,
	};
	match hash {
		"sha" => a.sha1 = Some(creds),
		"sha256" => a.sha256 = Some(creds),
		_ => {}
	}
	Ok(())
}

fn roster_row<'a>(roster: &'a mut Vec<RosterItem>, jid: &str) -> &'a mut RosterItem {
	match roster.iter().position(|r| r.jid == jid) {
		Some(i) => &mut roster[i],
		None => {
			roster.push(RosterItem { jid: jid.to_owned(), ..RosterItem::default() });
			roster.last_mut().expect("just pushed")
		}
	}
}

fn pep_node<'a>(pep: &'a mut Vec<PepNodeData>, node: &str) -> &'a mut PepNodeData {
	match pep.iter().position(|n| n.node == node) {
		Some(i) => &mut pep[i],
		None => {
			pep.push(PepNodeData { node: node.to_owned(), config: NodeConfig::default(), items: Vec::new() });
			pep.last_mut().expect("just pushed")
		}
	}
}

/// A message as kept: in jabber:client whatever the file qualified it with.
fn client_message(m: &Element) -> String {
	let mut m = m.clone();
	let from = m.ns().to_owned();
	if from != ns::CLIENT {
		m.rename_ns(&from, ns::CLIENT);
	}
	m.to_xml(ns::CLIENT)
}

/// The node options this server keeps; unknown ones are left at their defaults.
fn node_config(f: &Form) -> NodeConfig {
	let mut c = NodeConfig::default();
	if let Some(a) = f.value("pubsub#access_model").and_then(AccessModel::parse) {
		c.access = a;
	}
	if let Some(v) = f.value("pubsub#persist_items").and_then(form::boolean) {
		c.persist_items = v;
	}
	match f.value("pubsub#max_items").map(str::trim) {
		Some("max") => c.max_items = MAX_ITEMS,
		Some(n) => c.max_items = n.parse().ok().filter(|n| *n > 0).unwrap_or(c.max_items),
		None => {}
	}
	match f.value("pubsub#send_last_published_item") {
		Some("never") => c.send_last = false,
		Some("on_sub" | "on_sub_and_presence") => c.send_last = true,
		_ => {}
	}
	if let Some(v) = f.value("pubsub#notify_retract").and_then(form::boolean) {
		c.notify_retract = v;
	}
	c
}

/// The reader's own namespace: an archive element it has emptied carries
/// `{COMPACT}batch`, the index of its messages in [`Archives`]. A file
/// using it is refused (file.rs).
pub const COMPACT: &str = "urn:xerra:import:compact";
const BATCH: &str = "{urn:xerra:import:compact}batch";

/// One archived message as read: (id, micros, from, to, the `<message/>`
/// as stored).
pub type Entry = (String, u64, String, String, String);

/// The archives of one host-level element, mapped while it was read (as a
/// tree an archive takes several times its XML; as entries about its size).
#[derive(Debug, Default)]
pub struct Archives(Vec<Result<Vec<Entry>, String>>);

impl Archives {
	/// Starts the batch of an archive element (marks the element).
	pub fn open(&mut self, archive: &mut Element) {
		archive.set_attr(BATCH, self.0.len().to_string());
		self.0.push(Ok(Vec::new()));
	}

	/// Maps one `<result/>` of the archive element `archive` into its batch
	/// (the batch's first error is what the import reports).
	pub fn add(&mut self, archive: &Element, result: &Element) {
		let Some(batch) = archive.attr(BATCH).and_then(|k| k.parse::<usize>().ok()).and_then(|k| self.0.get_mut(k)) else { return };
		if batch.is_err() {
			return;
		}
		match result_entry(result) {
			Ok(e) => {
				if let Ok(entries) = batch {
					entries.push(e);
				}
			}
			Err(why) => *batch = Err(why),
		}
	}

	fn take(&mut self, archive: &Element) -> Option<Result<Vec<Entry>, String>> {
		let k = archive.attr(BATCH)?.parse::<usize>().ok()?;
		self.0.get_mut(k).map(|b| std::mem::replace(b, Ok(Vec::new())))
	}
}

fn result_entry(r: &Element) -> Result<Entry, String> {
	let id = r.attr("id").ok_or("an archived message without an id")?;
	let fwd = r.child("forwarded", ns::FORWARD).ok_or_else(|| format!("archived message {id}: no <forwarded/>"))?;
	let m = fwd.children().find(|m| m.name() == "message").ok_or_else(|| format!("archived message {id}: no <message/>"))?;
	let stamp = fwd.child("delay", ns::DELAY).and_then(|d| d.attr("stamp")).ok_or_else(|| format!("archived message {id}: no time"))?;
	let micros = crate::features::mam::parse_time(stamp).ok_or_else(|| format!("archived message {id}: bad time {stamp:?}"))?;
	let (from, to) = (m.attr("from").unwrap_or_default(), m.attr("to").unwrap_or_default());
	Ok((id.to_owned(), micros, from.to_owned(), to.to_owned(), client_message(m)))
}

/// An `#mam` archive: the batch the reader mapped, or its `<result/>`s.
/// `me`: the account's bare JID (the other side is `with`); `None` for a
/// room (`with` is the sender, the occupant).
fn archive_from(el: &Element, me: Option<&str>, archives: &mut Archives) -> Result<Vec<ArchivedMessage>, String> {
	let entries = match archives.take(el) {
		Some(batch) => batch?,
		None => el.children().filter(|r| r.is("result", ns::MAM)).map(result_entry).collect::<Result<Vec<_>, _>>()?,
	};
	let with = |from: String, to: String| match me {
		Some(me) if bare(&to) == me => from,
		Some(_) => to,
		None => from,
	};
	Ok(entries.into_iter().map(|(id, micros, from, to, xml)| ArchivedMessage { id, micros, with: with(from, to), xml }).collect())
}

fn flag(el: &Element, name: &str) -> bool {
	el.attr(name) == Some("true")
}

pub fn rooms_from(el: &Element, archives: &mut Archives) -> Result<Vec<RoomData>, String> {
	let mut out = Vec::new();
	for r in el.children().filter(|r| r.is("room", XERRA)) {
		let name = r.attr("name").ok_or("a room without a name")?;
		let mut config = RoomConfig::new(r.attr("max-users").and_then(|v| v.parse().ok()).unwrap_or(0));
		config.title = r.attr("title").unwrap_or_default().to_owned();
		config.description = r.attr("description").unwrap_or_default().to_owned();
		config.persistent = true;
		config.members_only = flag(r, "members-only");
		config.moderated = flag(r, "moderated");
		config.hidden = flag(r, "hidden");
		config.password = r.attr("password").map(str::to_owned);
		config.whois_anyone = flag(r, "whois-anyone");
		config.allow_invites = flag(r, "allow-invites");
		config.change_subject = flag(r, "change-subject");
		let salt = B64.decode(r.attr("salt").unwrap_or_default()).map_err(|_| format!("room {name}: salt is not base64"))?;
		let mut room = StoredRoom { config, subject: None, affiliations: Vec::new(), nicks: Vec::new(), vcard: None, salt };
		let mut archive = Vec::new();
		for c in r.children() {
			match (c.name(), c.ns()) {
				("subject", XERRA) => room.subject = Some((c.text(), c.attr("by").unwrap_or_default().to_owned())),
				("affiliation", XERRA) => {
					if let (Some(j), Some(a)) = (c.attr("jid"), c.attr("affiliation")) {
						room.affiliations.push((j.to_owned(), a.to_owned()));
					}
				}
				("nick", XERRA) => {
					if let (Some(j), Some(n)) = (c.attr("jid"), c.attr("nick")) {
						room.nicks.push((j.to_owned(), n.to_owned()));
					}
				}
				("vCard", ns::VCARD) => room.vcard = Some(c.to_xml(ns::VCARD)),
				("archive", PIE_MAM) => archive = archive_from(c, None, archives).map_err(|e| format!("room {name}: {e}"))?,
				_ => {}
			}
		}
		out.push(RoomData { name: name.to_owned(), room, archive });
	}
	Ok(out)
}

pub fn departments_from(el: &Element) -> Vec<Department> {
	el.children()
		.filter(|d| d.is("department", XERRA))
		.filter_map(|d| {
			let members = d.children().filter(|m| m.is("member", XERRA)).filter_map(|m| m.attr("name")).map(str::to_owned).collect();
			d.attr("name").map(|n| Department { name: n.to_owned(), members })
		})
		.collect()
}
