//! Room bookmarks for old and new clients. Three places hold them: XEP-0048
//! `storage:bookmarks` in private XML storage (XEP-0049), the same in the PEP
//! node `storage:bookmarks` (XEP-0048 §3.2, item `current`), and XEP-0402's
//! node `urn:xmpp:bookmarks:1` (one item per room). A change to any of them
//! is written to the other two in the same transaction (XEP-0402 §5.3
//! `#compat` for private storage, `#compat-pep` for the PEP node, and
//! XEP-0411), URL bookmarks kept where XEP-0402 has no place for them, so
//! every client sees the rooms the others saved.

use super::{Feature, Out};
use crate::store::{AccessModel, NodeConfig, PepLimits, StoreError, Tx};
use crate::xmpp::element::Element;
use crate::xmpp::ns;
use crate::xmpp::reader::{XmlLimits, parse_stored};

pub const FEATURE: Feature = Feature {
	name: "bookmarks",
	spec: "XEP-0402 1.2 (#compat), XEP-0411 1.0, XEP-0048 1.2",
	disco: &[],
	account: &[COMPAT, COMPAT_PEP, CONVERSION],
	iq: &[],
};

pub const NODE: &str = "urn:xmpp:bookmarks:1";
const COMPAT: &str = "urn:xmpp:bookmarks:1#compat";
const COMPAT_PEP: &str = "urn:xmpp:bookmarks:1#compat-pep";
const CONVERSION: &str = "urn:xmpp:bookmarks-conversion:0";
/// XEP-0048's PEP node (its one item is `current`).
pub const LEGACY_NODE: &str = "storage:bookmarks";
const LEGACY: &str = "storage:bookmarks";
/// The private-storage key of the old bookmarks (namespace, element).
pub const LEGACY_KEY: &str = "storage:bookmarks storage";

fn xml_limits() -> XmlLimits {
	XmlLimits { max_stanza_bytes: usize::MAX, max_depth: 64, max_attrs: 256, max_elements: usize::MAX }
}

/// XEP-0402 §3 node options.
fn config() -> NodeConfig {
	NodeConfig { access: AccessModel::Whitelist, persist_items: true, max_items: u32::MAX, send_last: false, notify_retract: true }
}

/// Copies `name`, `autojoin`, `<nick/>` and `<password/>` between the two forms.
fn convert(from: &Element, ns_to: &str) -> Element {
	let mut c = Element::new("conference", ns_to);
	for attr in ["name", "autojoin"] {
		if let Some(v) = from.attr(attr) {
			c.set_attr(attr, v);
		}
	}
	for child in ["nick", "password"] {
		if let Some(v) = from.child(child, from.ns()) {
			c.push(Element::new(child, ns_to).with_text(v.text()));
		}
	}
	c
}

/// An old-style `<storage/>` was stored in one of its two places: it goes to
/// the other, and its rooms become the XEP-0402 node's items.
pub fn legacy_stored(
	tx: &Tx<'_>,
	user: &str,
	storage: &Element,
	from_pep: bool,
	limits: PepLimits,
	max_private: usize,
) -> Result<Vec<Out>, StoreError> {
	if from_pep {
		tx.put_private(user, LEGACY_KEY, &storage.to_xml(ns::PRIVATE), max_private)?;
	} else {
		publish_legacy(tx, user, storage, limits)?;
	}
	private_to_pep(tx, user, storage, limits)
}

/// XEP-0048 §3.2: the whole `<storage/>` as the PEP item `current`.
fn publish_legacy(tx: &Tx<'_>, user: &str, storage: &Element, limits: PepLimits) -> Result<(), StoreError> {
	let config = NodeConfig { max_items: 1, ..config() };
	tx.pep_publish(user, LEGACY_NODE, config, "current", &storage.to_xml(""), limits)?;
	Ok(())
}

fn private_to_pep(tx: &Tx<'_>, user: &str, storage: &Element, limits: PepLimits) -> Result<Vec<Out>, StoreError> {
	let wanted: Vec<(String, Element)> = storage
		.children()
		.filter(|c| c.is("conference", LEGACY))
		.filter_map(|c| Some((c.attr("jid")?.to_owned(), convert(c, NODE))))
		.collect();
	let mut events = Element::new("items", ns::PUBSUB_EVENT).with_attr("node", NODE);
	for old in tx.pep_items(user, NODE)? {
		if !wanted.iter().any(|(j, _)| *j == old.id) && tx.pep_retract(user, NODE, &old.id)? {
			events.push(Element::new("retract", ns::PUBSUB_EVENT).with_attr("id", old.id));
		}
	}
	for (jid, conf) in wanted {
		tx.pep_publish(user, NODE, config(), &jid, &conf.to_xml(""), limits)?;
		events.push(Element::new("item", ns::PUBSUB_EVENT).with_attr("id", jid).with_child(conf));
	}
	if events.children().next().is_none() {
		return Ok(Vec::new());
	}
	let event = Element::new("event", ns::PUBSUB_EVENT).with_child(events);
	Ok(vec![Out::PepEvent { owner: user.to_owned(), node: NODE.to_owned(), access: AccessModel::Whitelist, event }])
}

/// The XEP-0402 node changed: both old places are rewritten from its items.
pub fn pep_to_private(tx: &Tx<'_>, user: &str, limits: PepLimits, max_private: usize) -> Result<(), StoreError> {
	let old = tx.private(user, LEGACY_KEY)?.and_then(|xml| parse_stored(&xml, ns::PRIVATE, xml_limits()));
	let mut storage = Element::new("storage", LEGACY);
	for item in tx.pep_items(user, NODE)? {
		if let Some(conf) = parse_stored(&item.xml, NODE, xml_limits()) {
			storage.push(convert(&conf, LEGACY).with_attr("jid", item.id));
		}
	}
	// URL bookmarks have no place in XEP-0402: kept as they were.
	for url in old.iter().flat_map(|o| o.children().filter(|c| c.is("url", LEGACY))) {
		storage.push(url.clone());
	}
	tx.put_private(user, LEGACY_KEY, &storage.to_xml(ns::PRIVATE), max_private)?;
	publish_legacy(tx, user, &storage, limits)
}
