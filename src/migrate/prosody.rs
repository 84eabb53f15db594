//! Prosody 0.12's internal file store, read directly (`xerra import
//! --prosody DIR`): `DIR/<host>/<store>/<user>.dat|.list`, host, store and
//! user names %-encoded (`util/datamanager.lua`: every byte that is not a
//! letter or digit of a host or user name, every one but `_` of a store's).
//!
//! Stores read, per account: `accounts` (SCRAM-SHA-1 keys, or a plaintext
//! password), `roles` (the admin role kept in data, as Snikket does), `roster` (with pending requests), `vcard` (mod_vcard) or the
//! `urn:xmpp:vcard4` PEP node (mod_vcard_legacy, Snikket), `private`,
//! `offline`, `pep` (node configs) with the items in `pep_<node>`, and
//! `archive` (mod_mam). On a MUC host: `persistent` and `config` (rooms,
//! their settings and affiliations) and `muc_log` (mod_muc_mam).
//!
//! The mapping from parsed values to the model is plain functions; only
//! [`read_dir`] touches files. An account any of whose files cannot be read
//! is skipped whole, with the file and the reason.

use std::path::{Path, PathBuf};

use super::lua::{self, Table, Value};
use super::model::{AccountData, ArchivedMessage, HostData, PepItemData, PepNodeData, PrivateXml, RoomData, RosterItem, Skipped};
use crate::proto::sasl::scram::ScramCredentials;
use crate::proto::subscription::Sub;
use crate::store::{AccessModel, NodeConfig, RoomConfig, StoredRoom};
use crate::xmpp::element::Element;

const CLIENT: &str = "jabber:client";
const VCARD_TEMP: &str = "vcard-temp";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";

/// `util/datamanager.lua`'s `encode`: every byte but ASCII letters and digits as `%xx`.
pub fn encode(s: &str) -> String {
	encode_keeping(s, b"")
}

/// The store-name variant, which keeps `_` too.
pub fn store_encode(s: &str) -> String {
	encode_keeping(s, b"_")
}

fn encode_keeping(s: &str, keep: &[u8]) -> String {
	let mut out = String::with_capacity(s.len());
	for b in s.bytes() {
		if b.is_ascii_alphanumeric() || keep.contains(&b) {
			out.push(char::from(b));
		} else {
			out.push_str(&format!("%{b:02x}"));
		}
	}
	out
}

/// `%xx` back to bytes; `None` for a name that is not UTF-8 afterwards.
pub fn decode(s: &str) -> Option<String> {
	let b = s.as_bytes();
	let mut out = Vec::with_capacity(b.len());
	let mut i = 0;
	while i < b.len() {
		if b[i] == b'%' {
			let n = std::str::from_utf8(b.get(i + 1..i + 3)?).ok().and_then(|h| u8::from_str_radix(h, 16).ok())?;
			out.push(n);
			i += 3;
		} else {
			out.push(b[i]);
			i += 1;
		}
	}
	String::from_utf8(out).ok()
}

// ------------------------------------------------------------ pure mapping

/// A stanza as `util.stanza`'s `preserialize` leaves it: `{ name = ..,
/// attr = { .. }, child, "text", .. }`; the namespace from `attr.xmlns` or
/// the parent's. Prosody's own `stamp` attribute on stored stanzas is dropped.
pub fn element(t: &Table, parent_ns: &str) -> Result<Element, String> {
	element_depth(t, parent_ns, 0)
}

fn element_depth(t: &Table, parent_ns: &str, depth: usize) -> Result<Element, String> {
	if depth > lua::MAX_DEPTH {
		return Err("elements nested too deep".into());
	}
	let name = t.str("name").ok_or("an element without a name")?;
	ncname(name)?;
	let attrs = t.table("attr");
	let ns = attrs.and_then(|a| a.str("xmlns")).unwrap_or(parent_ns);
	cdata(ns)?;
	if matches!(ns, "http://www.w3.org/XML/1998/namespace" | "http://www.w3.org/2000/xmlns/") {
		return Err("an element in a namespace XML reserves".into());
	}
	let mut el = Element::new(name, ns);
	if let Some(a) = attrs {
		for (k, v) in a.string_fields() {
			let Some(v) = v.as_str() else { continue };
			if k == "xmlns" || (depth == 0 && k == "stamp") {
				continue;
			}
			cdata(v)?;
			// Namespaced attributes are kept as "ns\1name" (or "ns|name" once serialised by older versions).
			match k.split_once(['\u{1}', '|']) {
				Some((ans, an)) => {
					ncname(an)?;
					cdata(ans)?;
					if ans.is_empty() || ans == "http://www.w3.org/2000/xmlns/" {
						return Err("an attribute in the empty or the xmlns namespace".into());
					}
					if ans == "http://www.w3.org/XML/1998/namespace" {
						el.set_attr(&format!("xml:{an}"), v);
					} else {
						el.set_attr(&format!("{{{ans}}}{an}"), v);
					}
				}
				None => {
					ncname(k.strip_prefix("xml:").unwrap_or(k))?;
					el.set_attr(k, v);
				}
			}
		}
	}
	for child in t.seq() {
		match child {
			Value::Str(s) => {
				cdata(s)?;
				el.push_text(s);
			}
			Value::Table(c) => el.push(element_depth(c, ns, depth + 1)?),
			_ => return Err("an element child that is neither text nor an element".into()),
		}
	}
	Ok(el)
}

/// An element or attribute name XML allows (no prefix).
fn ncname(s: &str) -> Result<(), String> {
	rxml::NcNameStr::from_str(s).map(|_| ()).map_err(|_| format!("{s:?} is not an XML name"))
}

/// Text XML can carry (no control characters but tab and line breaks).
fn cdata(s: &str) -> Result<(), String> {
	rxml::strings::validate_cdata(s).map_err(|_| "text with characters XML cannot carry".to_owned())
}

/// `accounts/<user>.dat`: SCRAM-SHA-1 keys (hex; the salt is the string's
/// own bytes), or a plaintext password (`internal_plain`).
pub fn account(name: &str, v: &Value, a: &mut AccountData) -> Result<(), String> {
	let t = v.as_table().ok_or("the account is not a table")?;
	a.name = name.to_owned();
	if let (Some(stored), Some(server), Some(salt), Some(i)) =
		(t.str("stored_key"), t.str("server_key"), t.str("salt"), t.get("iteration_count").and_then(Value::as_num))
	{
		let hex = |h: &str, what: &str| -> Result<Vec<u8>, String> {
			if h.len() != 40 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
				return Err(format!("{what} is not 20 bytes of hex"));
			}
			Ok((0..20).map(|k| u8::from_str_radix(&h[2 * k..2 * k + 2], 16).unwrap_or(0)).collect())
		};
		if !(1.0..=f64::from(u32::MAX)).contains(&i) || i.fract() != 0.0 {
			return Err("iteration_count out of range".into());
		}
		a.sha1 = Some(ScramCredentials {
			salt: salt.as_bytes().to_vec(),
			iterations: i as u32,
			stored_key: hex(stored, "stored_key")?,
			server_key: hex(server, "server_key")?,
		});
	} else if let Some(pw) = t.str("password") {
		a.password = Some(pw.to_owned());
	} else {
		return Err("neither SCRAM keys nor a password".into());
	}
	Ok(())
}

/// `roster/<user>.dat`: contacts by bare JID, and under `[false]` the
/// pending incoming requests (`true`, or the presence that asked).
pub fn roster(v: &Value) -> Result<Vec<RosterItem>, String> {
	let t = v.as_table().ok_or("the roster is not a table")?;
	let mut out = Vec::new();
	for (jid, item) in t.string_fields() {
		let item = item.as_table().ok_or_else(|| format!("roster item {jid} is not a table"))?;
		let subscription = match item.str("subscription").unwrap_or("none") {
			"both" => Sub::Both,
			"to" => Sub::To,
			"from" => Sub::From,
			_ => Sub::None,
		};
		let mut groups: Vec<String> =
			item.table("groups").map(|g| g.string_fields().map(|(k, _)| k.to_owned()).collect()).unwrap_or_default();
		groups.sort();
		out.push(RosterItem {
			jid: jid.to_owned(),
			in_roster: true,
			name: item.str("name").filter(|n| !n.is_empty()).map(str::to_owned),
			groups,
			subscription,
			ask: item.str("ask") == Some("subscribe"),
			pending_in: None,
			approved: item.get("approved").and_then(Value::as_bool).unwrap_or(false),
		});
	}
	let meta = t.fields.iter().find(|(k, _)| *k == Value::Bool(false)).and_then(|(_, v)| v.as_table());
	if let Some(pending) = meta.and_then(|m| m.table("pending")) {
		for (jid, p) in pending.string_fields() {
			let status = p.as_table().and_then(|p| element(p, CLIENT).ok()).and_then(|e| e.child("status", CLIENT).map(Element::text));
			match out.iter_mut().find(|r| r.jid == jid) {
				Some(r) => r.pending_in = Some(status),
				None => out.push(RosterItem { jid: jid.to_owned(), in_roster: false, pending_in: Some(status), ..RosterItem::default() }),
			}
		}
	}
	Ok(out)
}

/// `private/<user>.dat`: `"name:namespace"` → the stored element.
pub fn private(v: &Value) -> Result<Vec<PrivateXml>, String> {
	let t = v.as_table().ok_or("private storage is not a table")?;
	let mut out = Vec::new();
	for (_, el) in t.string_fields() {
		let Some(el) = el.as_table() else { continue };
		let e = element(el, "")?;
		out.push(PrivateXml { ns: e.ns().to_owned(), name: e.name().to_owned(), xml: e.to_xml("") });
	}
	Ok(out)
}

/// Seconds (Prosody's `when`, a float) as microseconds.
fn micros(when: Option<f64>) -> u64 {
	when.filter(|w| w.is_finite() && *w > 0.0).map_or(0, |w| (w * 1e6) as u64)
}

/// One entry of an archive store (mod_mam, mod_muc_mam): the stanza with its `key`, `when`, `with`.
pub fn archived(v: &Value) -> Result<ArchivedMessage, String> {
	let t = v.as_table().ok_or("an archive entry is not a table")?;
	let el = element(t, CLIENT)?;
	Ok(ArchivedMessage {
		id: t.str("key").ok_or("an archive entry without a key")?.to_owned(),
		micros: micros(t.get("when").and_then(Value::as_num)),
		with: t.str("with").unwrap_or_default().to_owned(),
		xml: el.to_xml(CLIENT),
	})
}

/// One entry of a room's archive (mod_muc_mam's `muc_log`): groupchat
/// messages only (it keeps presences too), from the room's address on this
/// server's MUC service (`new_host`) rather than the old one, with no `to`.
pub fn room_archived(v: &Value, old_host: &str, new_host: &str) -> Result<Option<ArchivedMessage>, String> {
	let t = v.as_table().ok_or("an archive entry is not a table")?;
	if t.str("name") != Some("message") || t.table("attr").and_then(|a| a.str("type")) != Some("groupchat") {
		return Ok(None);
	}
	let mut m = archived(v)?;
	let mut el = crate::xmpp::reader::parse_stored(&m.xml, CLIENT, crate::xmpp::reader::XmlLimits::unlimited())
		.ok_or("an archived message that is not XML")?;
	el.remove_attr("to");
	let from = el.attr("from").unwrap_or_default();
	let from = match from.split_once('/') {
		Some((bare, nick)) => format!("{}/{nick}", bare.strip_suffix(old_host).map_or(bare.to_owned(), |room| format!("{room}{new_host}"))),
		None => from.to_owned(),
	};
	el.set_attr("from", from.as_str());
	m.with = from;
	m.xml = el.to_xml(CLIENT);
	Ok(Some(m))
}

/// One offline message, with a XEP-0203 delay that keeps when it was sent.
pub fn offline(v: &Value, domain: &str) -> Result<String, String> {
	let t = v.as_table().ok_or("an offline entry is not a table")?;
	let mut el = element(t, CLIENT)?;
	let when = micros(t.get("when").and_then(Value::as_num));
	if el.child("delay", "urn:xmpp:delay").is_none() && when > 0 {
		let stamp = time::OffsetDateTime::from_unix_timestamp((when / 1_000_000) as i64)
			.ok()
			.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
		if let Some(stamp) = stamp {
			el.push(Element::new("delay", "urn:xmpp:delay").with_attr("from", domain).with_attr("stamp", stamp));
		}
	}
	Ok(el.to_xml(CLIENT))
}

/// A PEP node's configuration as mod_pep keeps it (`pep/<user>.dat`).
pub fn node_config(node: &Table) -> NodeConfig {
	let mut c = NodeConfig::default();
	let Some(cfg) = node.table("config") else { return c };
	c.access = match cfg.str("access_model") {
		Some("open") => AccessModel::Open,
		Some("whitelist") => AccessModel::Whitelist,
		_ => AccessModel::Presence,
	};
	match cfg.get("max_items") {
		Some(Value::Num(n)) if *n >= 1.0 => c.max_items = n.min(f64::from(u32::MAX)) as u32,
		Some(Value::Str(s)) if s == "max" => c.max_items = u32::MAX,
		_ => {}
	}
	if let Some(p) = cfg.get("persist_items").and_then(Value::as_bool) {
		c.persist_items = p;
	}
	if let Some(s) = cfg.str("send_last_published_item") {
		c.send_last = s != "never";
	}
	if let Some(n) = cfg.get("notify_retract").and_then(Value::as_bool) {
		c.notify_retract = n;
	}
	c
}

/// A PEP item (one entry of `pep_<node>/<user>.list`): the payload with its id.
pub fn pep_item(v: &Value) -> Result<PepItemData, String> {
	let t = v.as_table().ok_or("a PEP item is not a table")?;
	let el = element(t, PUBSUB)?;
	Ok(PepItemData { id: t.str("key").ok_or("a PEP item without an id")?.to_owned(), xml: el.to_xml(PUBSUB) })
}

/// A vCard 4 (XEP-0292, what mod_vcard_legacy keeps) as the vcard-temp
/// fields clients show: names, nickname, e-mail, telephone, URL, note, birthday.
pub fn vcard_temp_from_vcard4(v4: &Element) -> Option<String> {
	const V4: &str = "urn:ietf:params:xml:ns:vcard-4.0";
	let text = |e: &Element, inner: &str| e.child(inner, V4).map(Element::text).filter(|t| !t.is_empty());
	let mut out = Element::new("vCard", VCARD_TEMP);
	for f in v4.children() {
		match f.name() {
			"fn" | "nickname" => {
				if let Some(t) = text(f, "text") {
					out.push(Element::new(if f.name() == "fn" { "FN" } else { "NICKNAME" }, VCARD_TEMP).with_text(t));
				}
			}
			"n" => {
				let mut n = Element::new("N", VCARD_TEMP);
				for (from, to) in
					[("surname", "FAMILY"), ("given", "GIVEN"), ("additional", "MIDDLE"), ("prefix", "PREFIX"), ("suffix", "SUFFIX")]
				{
					if let Some(t) = text(f, from) {
						n.push(Element::new(to, VCARD_TEMP).with_text(t));
					}
				}
				if n.children().next().is_some() {
					out.push(n);
				}
			}
			"email" => {
				if let Some(t) = text(f, "text") {
					out.push(Element::new("EMAIL", VCARD_TEMP).with_child(Element::new("USERID", VCARD_TEMP).with_text(t)));
				}
			}
			"tel" => {
				if let Some(t) = text(f, "uri").or_else(|| text(f, "text")) {
					let t = t.strip_prefix("tel:").unwrap_or(&t).to_owned();
					out.push(Element::new("TEL", VCARD_TEMP).with_child(Element::new("NUMBER", VCARD_TEMP).with_text(t)));
				}
			}
			"url" => {
				if let Some(t) = text(f, "uri") {
					out.push(Element::new("URL", VCARD_TEMP).with_text(t));
				}
			}
			"note" => {
				if let Some(t) = text(f, "text") {
					out.push(Element::new("DESC", VCARD_TEMP).with_text(t));
				}
			}
			"bday" => {
				if let Some(t) = text(f, "date") {
					out.push(Element::new("BDAY", VCARD_TEMP).with_text(t));
				}
			}
			_ => {}
		}
	}
	out.children().next().map(|_| out.to_xml(VCARD_TEMP))
}

/// Bookmarks of rooms that moved (`(old service, new service)`: Snikket's
/// `groups.<domain>` becomes `rooms.<domain>`) point to the new addresses:
/// XEP-0402 items (the item id is the room's JID) and XEP-0048 `<storage/>`
/// in PEP or private XML (each `<conference jid=.../>`), so clients rejoin.
pub fn move_bookmarks(a: &mut AccountData, moved: &[(String, String)]) {
	const BOOKMARKS2: &str = "urn:xmpp:bookmarks:1";
	const BOOKMARKS: &str = "storage:bookmarks";
	let new_jid = |jid: &str| {
		let (room, host) = jid.split_once('@')?;
		moved.iter().find(|(old, _)| old == host).map(|(_, new)| format!("{room}@{new}"))
	};
	let storage = |xml: &str, ns: &str| -> Option<String> {
		let el = crate::xmpp::reader::parse_stored(xml, ns, crate::xmpp::reader::XmlLimits::unlimited())?;
		if !el.is("storage", BOOKMARKS) {
			return None;
		}
		let mut out = Element::new("storage", BOOKMARKS);
		for c in el.children() {
			let mut c = c.clone();
			if c.is("conference", BOOKMARKS)
				&& let Some(j) = c.attr("jid").and_then(new_jid)
			{
				c.set_attr("jid", j.as_str());
			}
			out.push(c);
		}
		Some(out.to_xml(ns))
	};
	if moved.is_empty() {
		return;
	}
	for node in &mut a.pep {
		for item in &mut node.items {
			if node.node == BOOKMARKS2 {
				if let Some(j) = new_jid(&item.id) {
					item.id = j;
				}
			} else if node.node == BOOKMARKS
				&& let Some(x) = storage(&item.xml, PUBSUB)
			{
				item.xml = x;
			}
		}
	}
	for p in &mut a.private {
		if p.ns == BOOKMARKS
			&& let Some(x) = storage(&p.xml, "")
		{
			p.xml = x;
		}
	}
}

/// A room's `config/<room>.dat`: its settings under `_data`, affiliations
/// as `[jid] = "owner"` fields, reserved nicks in `_affiliation_data`.
pub fn room(name: &str, v: &Value) -> Result<RoomData, String> {
	let t = v.as_table().ok_or("the room is not a table")?;
	let data = t.table("_data");
	let flag = |k: &str| data.and_then(|d| d.get(k)).and_then(Value::as_bool);
	let text = |k: &str| data.and_then(|d| d.str(k)).map(str::to_owned);
	let mut config = RoomConfig::new(0);
	config.title = text("name").unwrap_or_default();
	config.description = text("description").unwrap_or_default();
	config.persistent = flag("persistent").unwrap_or(true);
	config.members_only = flag("members_only").unwrap_or(false);
	config.moderated = flag("moderated").unwrap_or(false);
	config.hidden = flag("hidden").unwrap_or(false);
	config.password = text("password").filter(|p| !p.is_empty());
	config.whois_anyone = text("whois").as_deref() == Some("anyone");
	config.allow_invites = flag("allow_member_invites").unwrap_or(false);
	config.change_subject = flag("changesubject").unwrap_or(false);
	let subject = text("subject").filter(|s| !s.is_empty()).map(|s| {
		let by = text("subject_from").and_then(|f| f.split_once('/').map(|(_, nick)| nick.to_owned())).unwrap_or_default();
		(s, by)
	});
	let mut affiliations = Vec::new();
	for (jid, aff) in t.string_fields() {
		if jid.starts_with('_') {
			continue;
		}
		if let Some(aff @ ("owner" | "admin" | "member" | "outcast")) = aff.as_str() {
			affiliations.push((jid.to_owned(), aff.to_owned()));
		}
	}
	affiliations.sort();
	let mut nicks = Vec::new();
	if let Some(ad) = t.table("_affiliation_data") {
		for (jid, d) in ad.string_fields() {
			if let Some(nick) = d.as_table().and_then(|d| d.str("reserved_nickname")) {
				nicks.push((jid.to_owned(), nick.to_owned()));
			}
		}
	}
	let salt = text("occupant_id_salt").map(String::into_bytes).unwrap_or_default();
	Ok(RoomData {
		name: name.to_owned(),
		room: StoredRoom { config, subject, affiliations, nicks, vcard: None, salt },
		archive: Vec::new(),
	})
}

// ------------------------------------------------------------ the files

/// Reads one file whole, refusing one larger than `max` bytes.
fn read_file(path: &Path, max: usize) -> Result<Option<Vec<u8>>, String> {
	use std::io::Read as _;
	let f = match std::fs::File::open(path) {
		Ok(f) => f,
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
		Err(e) => return Err(format!("{}: {e}", path.display())),
	};
	let mut buf = Vec::new();
	f.take(max as u64 + 1).read_to_end(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
	if buf.len() > max {
		return Err(format!(
			"{}: it and the account's (or room's) files before it are larger than import_max_account_bytes",
			path.display()
		));
	}
	Ok(Some(buf))
}

/// A reader of one Prosody data directory.
pub struct Dir {
	root: PathBuf,
	/// The bytes of one account's files together, and of each one
	/// (`import_max_account_bytes`).
	max_bytes: usize,
}

impl Dir {
	pub fn new(root: &Path, max_bytes: usize) -> Dir {
		Dir { root: root.to_owned(), max_bytes }
	}

	/// The hosts in the directory (decoded), sorted.
	pub fn hosts(&self) -> Result<Vec<String>, String> {
		let mut out = Vec::new();
		for e in std::fs::read_dir(&self.root).map_err(|e| format!("{}: {e}", self.root.display()))? {
			let e = e.map_err(|e| e.to_string())?;
			if e.file_type().is_ok_and(|t| t.is_dir())
				&& let Some(h) = e.file_name().to_str().and_then(decode)
			{
				out.push(h);
			}
		}
		out.sort();
		Ok(out)
	}

	fn path(&self, host: &str, store: &str, user: &str, ext: &str) -> PathBuf {
		self.root.join(encode(host)).join(store_encode(store)).join(format!("{}.{ext}", encode(user)))
	}

	/// The account names of `host` (from its `accounts` store), sorted.
	pub fn users(&self, host: &str) -> Result<Vec<String>, String> {
		let dir = self.root.join(encode(host)).join("accounts");
		let mut out = Vec::new();
		let entries = match std::fs::read_dir(&dir) {
			Ok(e) => e,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
			Err(e) => return Err(format!("{}: {e}", dir.display())),
		};
		for e in entries {
			let e = e.map_err(|e| e.to_string())?;
			if let Some(name) = e.file_name().to_str().and_then(|n| n.strip_suffix(".dat")).and_then(decode) {
				out.push(name);
			}
		}
		out.sort();
		Ok(out)
	}

	/// A `.dat` file's value, `None` if there is none.
	fn dat(&self, path: &Path, budget: &mut usize) -> Result<Option<Value>, String> {
		let Some(bytes) = read_file(path, *budget)? else { return Ok(None) };
		*budget -= bytes.len();
		lua::parse_dat(&bytes, self.max_bytes).map(Some).map_err(|e| format!("{}: {e}", path.display()))
	}

	/// A `.list` file's entries, each mapped by `f`.
	fn list<T>(&self, path: &Path, budget: &mut usize, mut f: impl FnMut(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
		let Some(bytes) = read_file(path, *budget)? else { return Ok(Vec::new()) };
		*budget -= bytes.len();
		let mut out = Vec::new();
		for v in lua::parse_list(&bytes, self.max_bytes) {
			let v = v.map_err(|e| format!("{}: {e}", path.display()))?;
			out.push(f(&v).map_err(|e| format!("{}: {e}", path.display()))?);
		}
		Ok(out)
	}

	/// Everything one account of `host` owns; `Err` names the file and why.
	pub fn account(&self, host: &str, user: &str) -> Result<AccountData, String> {
		let mut budget = self.max_bytes;
		let mut a = AccountData::default();
		let p = self.path(host, "accounts", user, "dat");
		let v = self.dat(&p, &mut budget)?.ok_or_else(|| format!("{}: missing", p.display()))?;
		account(user, &v, &mut a).map_err(|e| format!("{}: {e}", p.display()))?;
		// mod_authz_internal's roles (Snikket's admins): `{ ["prosody:admin"] = true }`.
		let p = self.path(host, "roles", user, "dat");
		if let Some(v) = self.dat(&p, &mut budget)? {
			a.admin = v.as_table().and_then(|t| t.get("prosody:admin")).and_then(Value::as_bool) == Some(true);
		}
		let p = self.path(host, "roster", user, "dat");
		if let Some(v) = self.dat(&p, &mut budget)? {
			a.roster = roster(&v).map_err(|e| format!("{}: {e}", p.display()))?;
		}
		let p = self.path(host, "vcard", user, "dat");
		if let Some(v) = self.dat(&p, &mut budget)?
			&& let Some(t) = v.as_table()
		{
			a.vcard = Some(element(t, VCARD_TEMP).map_err(|e| format!("{}: {e}", p.display()))?.to_xml(VCARD_TEMP));
		}
		let p = self.path(host, "private", user, "dat");
		if let Some(v) = self.dat(&p, &mut budget)? {
			a.private = private(&v).map_err(|e| format!("{}: {e}", p.display()))?;
		}
		a.offline = self.list(&self.path(host, "offline", user, "list"), &mut budget, |v| offline(v, host))?;
		let p = self.path(host, "pep", user, "dat");
		if let Some(v) = self.dat(&p, &mut budget)? {
			let nodes = v.as_table().ok_or_else(|| format!("{}: not a table", p.display()))?;
			for (node, cfg) in nodes.string_fields() {
				let config = cfg.as_table().map(node_config).unwrap_or_default();
				let items = self.list(&self.path(host, &format!("pep_{node}"), user, "list"), &mut budget, pep_item)?;
				a.pep.push(PepNodeData { node: node.to_owned(), config, items });
			}
		}
		if a.vcard.is_none()
			&& let Some(item) = a.pep.iter().find(|n| n.node == "urn:xmpp:vcard4").and_then(|n| n.items.last())
			&& let Some(el) = crate::xmpp::reader::parse_stored(&item.xml, PUBSUB, crate::xmpp::reader::XmlLimits::unlimited())
		{
			a.vcard = vcard_temp_from_vcard4(&el);
		}
		a.archive = self.list(&self.path(host, "archive", user, "list"), &mut budget, archived)?;
		Ok(a)
	}

	/// The persistent rooms of a MUC host, with their archives.
	/// `new_host`: this server's MUC service, where the rooms move.
	pub fn rooms(&self, muc_host: &str, new_host: &str) -> Result<Vec<Result<RoomData, Skipped>>, String> {
		let mut budget = self.max_bytes;
		let p = self.root.join(encode(muc_host)).join("persistent.dat");
		let Some(v) = self.dat(&p, &mut budget)? else { return Ok(Vec::new()) };
		let list = v.as_table().ok_or_else(|| format!("{}: not a table", p.display()))?;
		let mut out = Vec::new();
		for (jid, on) in list.string_fields() {
			if on.as_bool() != Some(true) {
				continue;
			}
			let Some((name, _)) = jid.split_once('@') else { continue };
			out.push(self.room(muc_host, new_host, name).map_err(|why| Skipped { name: format!("room {name}"), why }));
		}
		Ok(out)
	}

	fn room(&self, muc_host: &str, new_host: &str, name: &str) -> Result<RoomData, String> {
		let mut budget = self.max_bytes;
		let p = self.path(muc_host, "config", name, "dat");
		let v = self.dat(&p, &mut budget)?.ok_or_else(|| format!("{}: missing", p.display()))?;
		let mut r = room(name, &v).map_err(|e| format!("{}: {e}", p.display()))?;
		let log = self.path(muc_host, "muc_log", name, "list");
		r.archive = self.list(&log, &mut budget, |v| room_archived(v, muc_host, new_host))?.into_iter().flatten().collect();
		Ok(r)
	}
}

/// What [`read_dir`] found: the accounts (read one by one as iterated), the
/// rooms, and the rooms that could not be read.
pub type Found<A> = (A, HostData, Vec<Skipped>);

/// Every account of `domain` in the directory (each read when the import
/// reaches it), and the rooms of its MUC hosts (subdomains of `domain`
/// with a `persistent` list).
pub fn read_dir<'a>(dir: &'a Dir, domain: &str) -> Result<Found<impl Iterator<Item = Result<AccountData, Skipped>> + 'a>, String> {
	let hosts = dir.hosts()?;
	if !hosts.iter().any(|h| h == domain) {
		return Err(format!(
			"{} has no data for {domain} (this server's domain); it has: {}",
			dir.root.display(),
			if hosts.is_empty() { "nothing".to_owned() } else { hosts.join(", ") }
		));
	}
	let users = dir.users(domain)?;
	let mut data = HostData::default();
	let mut skipped = Vec::new();
	let new_host = format!("rooms.{domain}");
	let mut moved = Vec::new();
	for h in hosts.iter().filter(|h| h.ends_with(&format!(".{domain}"))) {
		let rooms = dir.rooms(h, &new_host)?;
		if !rooms.is_empty() && *h != new_host {
			moved.push((h.clone(), new_host.clone()));
		}
		for r in rooms {
			match r {
				Ok(r) => data.rooms.push(r),
				Err(s) => skipped.push(s),
			}
		}
	}
	let host = domain.to_owned();
	let accounts = users.into_iter().map(move |u| {
		let mut a = dir.account(&host, &u).map_err(|why| Skipped { name: u, why })?;
		move_bookmarks(&mut a, &moved);
		Ok(a)
	});
	Ok((accounts, data, skipped))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn dat(s: &str) -> Value {
		lua::parse_dat(s.as_bytes(), 1 << 20).unwrap()
	}

	/// Files in Prosody's layout, each account bounded in bytes.
	#[test]
	fn a_dir_is_read_per_account_within_the_byte_bound() {
		let root = std::env::temp_dir().join(format!("xerra-prosody-unit-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&root);
		let host = root.join("old%2etest");
		for store in ["accounts", "roles", "roster", "archive", "pep", "pep_urn%3axmpp%3anick"] {
			std::fs::create_dir_all(host.join(store)).unwrap();
		}
		std::fs::create_dir_all(root.join("rooms%2eold%2etest/config")).unwrap();
		for u in ["alice", "b%2ed"] {
			std::fs::write(host.join(format!("accounts/{u}.dat")), "return { password = \"pw\" };\n").unwrap();
		}
		std::fs::write(host.join("roles/alice.dat"), "return { [\"prosody:admin\"] = true };").unwrap();
		std::fs::write(host.join("roster/alice.dat"), "return { [\"b.d@old.test\"] = { subscription = \"both\"; groups = {} } };").unwrap();
		let msg = "item({ { \"hi\"; name = \"body\"; attr = {} }; name = \"message\"; key = \"k\"; when = 1; with = \"x@y\"; attr = { to = \"x@y\" } });\n";
		std::fs::write(host.join("archive/alice.list"), msg.repeat(100)).unwrap();
		std::fs::write(host.join("pep/alice.dat"), "return { [\"urn:xmpp:nick\"] = { config = {} } };").unwrap();
		std::fs::write(
			host.join("pep_urn%3axmpp%3anick/alice.list"),
			"item({ \"Al\"; name = \"nick\"; key = \"current\"; attr = { xmlns = \"urn:xmpp:nick\" } });",
		)
		.unwrap();
		std::fs::write(
			root.join("rooms%2eold%2etest/persistent.dat"),
			"return { [\"office@rooms.old.test\"] = true; [\"gone@rooms.old.test\"] = true };",
		)
		.unwrap();
		std::fs::write(
			root.join("rooms%2eold%2etest/config/office.dat"),
			"return { [\"alice@old.test\"] = \"owner\"; _data = { persistent = true } };",
		)
		.unwrap();

		let dir = Dir::new(&root, 1 << 20);
		assert_eq!(dir.users("old.test").unwrap(), ["alice", "b.d"]);
		let a = dir.account("old.test", "alice").unwrap();
		assert_eq!((a.password.as_deref(), a.roster.len(), a.archive.len(), a.admin), (Some("pw"), 1, 100, true));
		assert!(!dir.account("old.test", "b.d").unwrap().admin);
		assert_eq!((a.pep.len(), a.pep[0].items[0].id.as_str()), (1, "current"));
		let (accounts, host_data, skipped) = read_dir(&dir, "old.test").unwrap();
		assert_eq!(accounts.filter(Result::is_ok).count(), 2);
		assert_eq!(host_data.rooms.len(), 1);
		assert_eq!(skipped.len(), 1, "a listed room without its config: {skipped:?}");
		assert!(read_dir(&dir, "new.test").is_err_and(|e| e.contains("old.test")));
		// The archive alone is larger than the bound: alice is refused, b.d is not.
		let small = Dir::new(&root, msg.len() * 50);
		let e = small.account("old.test", "alice").unwrap_err();
		assert!(e.contains("alice.list") && e.contains("import_max_account_bytes"), "{e}");
		assert!(small.account("old.test", "b.d").is_ok());
		std::fs::remove_dir_all(&root).unwrap();
	}

	#[test]
	fn names_are_percent_encoded_as_prosody_does() {
		assert_eq!(encode("old.test"), "old%2etest");
		assert_eq!(encode("a-b_c"), "a%2db%5fc");
		assert_eq!(store_encode("pep_http://jabber.org/protocol/nick"), "pep_http%3a%2f%2fjabber%2eorg%2fprotocol%2fnick");
		assert_eq!(decode("old%2etest").as_deref(), Some("old.test"));
		assert_eq!(decode("%c3%a9t%c3%a9").as_deref(), Some("été"));
		assert_eq!(decode("bad%ff"), None);
		assert_eq!(decode("cut%2"), None);
	}

	#[test]
	fn accounts_keep_their_scram_sha1_keys() {
		let mut a = AccountData::default();
		let v = dat(r#"return { ["stored_key"] = "593949cfa95edcb0c3cb026b5cfadbc6ce98d3ab"; ["iteration_count"] = 10000;
			["salt"] = "27f3e4e5-8412"; ["server_key"] = "1f68337d5988af12ca8e360e71fdf2cb11a346b7"; };"#);
		account("alice", &v, &mut a).unwrap();
		let k = a.sha1.unwrap();
		assert_eq!((k.iterations, k.salt.as_slice(), k.stored_key[0], k.server_key[19]), (10000, &b"27f3e4e5-8412"[..], 0x59, 0xb7));
		assert!(a.sha256.is_none() && a.password.is_none());
		let mut a = AccountData::default();
		account("bob", &dat(r#"return { password = "secret" }"#), &mut a).unwrap();
		assert_eq!(a.password.as_deref(), Some("secret"));
		for bad in [
			r#"return { stored_key = "zz", server_key = "00", salt = "s", iteration_count = 1 }"#,
			"return {}",
			"return 1",
			r#"return { ["stored_key"] = "593949cfa95edcb0c3cb026b5cfadbc6ce98d3ab"; ["iteration_count"] = -1; ["salt"] = "s"; ["server_key"] = "1f68337d5988af12ca8e360e71fdf2cb11a346b7" }"#,
		] {
			assert!(account("x", &dat(bad), &mut AccountData::default()).is_err(), "{bad}");
		}
	}

	#[test]
	fn rosters_keep_pending_requests() {
		let v = dat(r#"return {
			[false] = { ["version"] = 5; ["pending"] = { ["dave@old.test"] = { name = "presence"; attr = { type = "subscribe" };
				{ name = "status"; attr = {}; "let me in" } }; ["erin@old.test"] = true } };
			["bob@old.test"] = { ["groups"] = { ["Team"] = true }; ["subscription"] = "both"; name = "Bob" };
			["carol@old.test"] = { ["subscription"] = "none"; ["ask"] = "subscribe"; ["groups"] = {} };
		};"#);
		let mut r = roster(&v).unwrap();
		r.sort_by(|a, b| a.jid.cmp(&b.jid));
		assert_eq!((r[0].subscription, r[0].name.as_deref(), r[0].groups.as_slice()), (Sub::Both, Some("Bob"), &["Team".to_owned()][..]));
		assert!(r[1].ask && r[1].in_roster && r[1].subscription == Sub::None);
		assert_eq!((r[2].in_roster, r[2].pending_in.clone()), (false, Some(Some("let me in".to_owned()))));
		assert_eq!(r[3].pending_in, Some(None));
	}

	#[test]
	fn stored_stanzas_become_xml() {
		let v = dat(r#"return { { "hello <&>"; ["name"] = "body"; ["attr"] = {} };
			{ name = "x"; attr = { xmlns = "urn:x"; ["urn:y\1z"] = "1"; ["xml:lang"] = "en" } };
			["with"] = "bob@old.test"; ["name"] = "message"; ["when"] = 1796615916.5; ["key"] = "k1";
			["attr"] = { ["type"] = "chat"; ["from"] = "alice@old.test/a"; ["stamp"] = "2026-12-07T03:58:36Z"; ["to"] = "bob@old.test" } }"#);
		let m = archived(&v).unwrap();
		assert_eq!((m.id.as_str(), m.micros, m.with.as_str()), ("k1", 1_796_615_916_500_000, "bob@old.test"));
		let el = crate::xmpp::reader::parse_stored(&m.xml, CLIENT, crate::xmpp::reader::XmlLimits::unlimited()).unwrap();
		assert_eq!(el.attr("stamp"), None, "{}", m.xml);
		assert_eq!(el.attr("type"), Some("chat"));
		assert_eq!(el.child("body", CLIENT).unwrap().text(), "hello <&>");
		assert_eq!(el.child("x", "urn:x").unwrap().attr("{urn:y}z"), Some("1"));
		let off = offline(&v, "old.test").unwrap();
		assert!(off.contains("<delay xmlns='urn:xmpp:delay' from='old.test' stamp='2026-12-07T03:58:36Z'/>"), "{off}");
	}

	/// Found by fuzzing: a table that is not a stanza (mod_pep's node list)
	/// made `<http://jabber.org/protocol/nick/>`. Names, texts and values
	/// that XML cannot carry are errors.
	#[test]
	fn what_xml_cannot_carry_is_an_error() {
		for bad in [
			r#"return { name = "http://jabber.org/protocol/nick"; attr = {} }"#,
			r#"return { name = "a"; attr = {}; "\1" }"#,
			r#"return { name = "a"; attr = { ["b c"] = "1" } }"#,
			r#"return { name = "a"; attr = { b = "\1" } }"#,
			r#"return { name = "a"; attr = { ["urn:x\1b c"] = "1" } }"#,
			r#"return { name = "a"; attr = { xmlns = "urn:\1" } }"#,
			r#"return { name = "a"; attr = { ["foo:bar"] = "1" } }"#,
			r#"return { name = "a"; attr = { ["|b"] = "1" } }"#,
			r#"return { name = "a"; attr = { xmlns = "http://www.w3.org/XML/1998/namespace" } }"#,
			r#"return { name = "a"; attr = { xmlns = "http://www.w3.org/2000/xmlns/" } }"#,
			r#"return { name = "a"; attr = { ["http://www.w3.org/2000/xmlns/|b"] = "1" } }"#,
		] {
			assert!(element(dat(bad).as_table().unwrap(), CLIENT).is_err(), "{bad}");
		}
		let ok = dat(r#"return { name = "a"; attr = { ["xml:lang"] = "en"; ["urn:x\1b"] = "1" }; "t" }"#);
		assert!(element(ok.as_table().unwrap(), CLIENT).is_ok());
	}

	/// mod_muc_mam keeps the stanza's kind in `with` and presences too;
	/// Xerra's room archive has groupchat messages from room/nick, on
	/// `rooms.<domain>` (Snikket's rooms were on `groups.<domain>`).
	#[test]
	fn room_archives_keep_groupchat_from_the_new_room_address() {
		let msg =
			dat(r#"return { { "hi all"; name = "body"; attr = {} }; name = "message"; key = "k1"; when = 2; with = "message<groupchat";
			attr = { type = "groupchat"; from = "office@groups.old.test/alice"; to = "bob@old.test/x"; id = "m1" } }"#);
		let m = room_archived(&msg, "groups.old.test", "rooms.old.test").unwrap().unwrap();
		assert_eq!((m.id.as_str(), m.with.as_str()), ("k1", "office@rooms.old.test/alice"));
		assert!(m.xml.contains("from='office@rooms.old.test/alice'") && !m.xml.contains("to="), "{}", m.xml);
		let presence =
			dat(r#"return { name = "presence"; key = "k2"; with = "presence"; attr = { from = "office@groups.old.test/alice" } }"#);
		assert_eq!(room_archived(&presence, "groups.old.test", "rooms.old.test"), Ok(None));
	}

	#[test]
	fn bookmarks_follow_the_rooms_to_their_new_service() {
		let moved = [("groups.old.test".to_owned(), "rooms.old.test".to_owned())];
		let mut a = AccountData {
			pep: vec![
				PepNodeData {
					node: "urn:xmpp:bookmarks:1".into(),
					config: NodeConfig::default(),
					items: vec![
						PepItemData {
							id: "office@groups.old.test".into(),
							xml: "<conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/>".into(),
						},
						PepItemData { id: "x@elsewhere.example".into(), xml: "<conference xmlns='urn:xmpp:bookmarks:1'/>".into() },
					],
				},
				PepNodeData {
					node: "storage:bookmarks".into(),
					config: NodeConfig::default(),
					items: vec![PepItemData {
						id: "current".into(),
						xml: "<storage xmlns='storage:bookmarks'><conference jid='office@groups.old.test' autojoin='1'/><url url='u'/></storage>".into(),
					}],
				},
			],
			private: vec![PrivateXml {
				ns: "storage:bookmarks".into(),
				name: "storage".into(),
				xml: "<storage xmlns='storage:bookmarks'><conference jid='team@groups.old.test'/></storage>".into(),
			}],
			..AccountData::default()
		};
		move_bookmarks(&mut a, &moved);
		assert_eq!(a.pep[0].items[0].id, "office@rooms.old.test");
		assert_eq!(a.pep[0].items[1].id, "x@elsewhere.example");
		assert!(
			a.pep[1].items[0].xml.contains("jid='office@rooms.old.test'") && a.pep[1].items[0].xml.contains("<url"),
			"{}",
			a.pep[1].items[0].xml
		);
		assert!(a.private[0].xml.contains("jid='team@rooms.old.test'"), "{}", a.private[0].xml);
	}

	#[test]
	fn rooms_keep_settings_and_affiliations() {
		let v = dat(r#"return { ["alice@old.test"] = "owner"; ["_jid"] = "office@rooms.old.test";
			["_data"] = { ["occupant_id_salt"] = "24077e8c"; ["hidden"] = true; ["name"] = "The Office"; ["persistent"] = true;
				members_only = true; whois = "anyone"; subject = "Welcome"; subject_from = "office@rooms.old.test/alice" };
			["bob@old.test"] = "member"; ["_affiliation_data"] = { ["bob@old.test"] = { reserved_nickname = "bobby" } } };"#);
		let r = room("office", &v).unwrap();
		let c = &r.room.config;
		assert_eq!((c.title.as_str(), c.persistent, c.hidden, c.members_only, c.whois_anyone), ("The Office", true, true, true, true));
		assert_eq!(r.room.affiliations, [("alice@old.test".into(), "owner".into()), ("bob@old.test".into(), "member".into())]);
		assert_eq!(r.room.nicks, [("bob@old.test".into(), "bobby".into())]);
		assert_eq!(r.room.subject, Some(("Welcome".into(), "alice".into())));
	}

	#[test]
	fn pep_nodes_and_a_vcard4_become_a_vcard() {
		let cfg = dat(r#"return { name = "n"; config = { access_model = "open"; max_items = "max"; persist_items = true } }"#);
		let c = node_config(cfg.as_table().unwrap());
		assert_eq!((c.access, c.max_items), (AccessModel::Open, u32::MAX));
		let item = dat(r#"return { "Ally"; with = "alice@old.test"; name = "nick"; key = "current";
			attr = { stamp = "2026-12-07T03:58:36Z"; xmlns = "http://jabber.org/protocol/nick" } }"#);
		let i = pep_item(&item).unwrap();
		assert_eq!((i.id.as_str(), i.xml.as_str()), ("current", "<nick xmlns='http://jabber.org/protocol/nick'>Ally</nick>"));
		let v4 = dat(r#"return { { { "Alice Old"; name = "text"; attr = {} }; name = "fn"; attr = {} };
			{ { name = "surname"; attr = {}; "Old" }; { name = "given"; attr = {} }; name = "n"; attr = {} };
			name = "vcard"; key = "current"; attr = { xmlns = "urn:ietf:params:xml:ns:vcard-4.0" } }"#);
		let el = element(v4.as_table().unwrap(), PUBSUB).unwrap();
		assert_eq!(vcard_temp_from_vcard4(&el).as_deref(), Some("<vCard><FN>Alice Old</FN><N><FAMILY>Old</FAMILY></N></vCard>"));
	}
}
