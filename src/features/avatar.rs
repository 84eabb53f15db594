//! XEP-0398: one avatar for old and new clients. An avatar published with
//! XEP-0084 (PEP) also becomes the vCard's PHOTO, a PHOTO set in the vCard
//! (XEP-0054/0153) is also published with XEP-0084, and the server puts the
//! photo's hash into the account's presence (`vcard-temp:x:update`), so
//! every client shows the same picture.

use std::collections::HashMap;

use base64::Engine as _;

use super::{Cx, Deferred, Feature, Out};
use crate::store::{AccessModel, NodeConfig, PepLimits, Published, StoreError, Tx};
use crate::xmpp::element::Element;
use crate::xmpp::ns;
use crate::xmpp::reader::{XmlLimits, parse_stored};

pub const FEATURE: Feature = Feature { name: "avatar", spec: "XEP-0398 0.2", disco: &[], account: &[ns::PEP_VCARD_CONVERSION], iq: &[] };

pub const DATA: &str = "urn:xmpp:avatar:data";
pub const METADATA: &str = "urn:xmpp:avatar:metadata";

/// The photo hash of each account that has a photo, learnt lazily from the
/// stored vCard. Accounts without one are not kept: a small allocation per
/// login that outlives the session would pin heap pages after it leaves.
#[derive(Debug, Default)]
pub struct Hashes {
	by_user: HashMap<String, String>,
}

fn limits() -> XmlLimits {
	XmlLimits { max_stanza_bytes: usize::MAX, max_depth: 64, max_attrs: 256, max_elements: usize::MAX }
}

fn sha1_hex(bytes: &[u8]) -> String {
	ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a vCard's PHOTO, with its type.
fn photo_of(card: &Element) -> Option<(Vec<u8>, String)> {
	let photo = card.child("PHOTO", ns::VCARD)?;
	let b64: String = photo.child("BINVAL", ns::VCARD)?.text().chars().filter(|c| !c.is_whitespace()).collect();
	let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
	let ty = photo.child("TYPE", ns::VCARD).map(Element::text).filter(|t| !t.is_empty()).unwrap_or_else(|| "image/png".into());
	(!bytes.is_empty()).then_some((bytes, ty))
}

/// The SHA-1 of every PHOTO in a vCard, as XEP-0153 hashes it (a room's
/// avatar may come in several formats, XEP-0486 §5.1).
pub fn photo_hashes(card: &Element) -> Vec<String> {
	card.children()
		.filter(|c| c.is("PHOTO", ns::VCARD))
		.filter_map(|p| {
			let one = Element::new("vCard", ns::VCARD).with_child(p.clone());
			photo_of(&one).map(|(bytes, _)| sha1_hex(&bytes))
		})
		.collect()
}

/// Adds the account's photo hash to a presence it broadcasts (XEP-0398 §3,
/// as XEP-0153 has it), replacing what the client put there.
pub fn stamp(presence: &mut Element, user: &str, cx: &Cx) {
	let known = cx.server.avatar_hashes.borrow().by_user.get(user).cloned();
	let hash = known.unwrap_or_else(|| {
		let card = cx.server.store.snapshot().ok().and_then(|s| s.vcard(user).ok().flatten());
		let hash = card
			.and_then(|xml| parse_stored(&xml, ns::VCARD, limits()))
			.and_then(|c| photo_of(&c))
			.map(|(b, _)| sha1_hex(&b))
			.unwrap_or_default();
		if !hash.is_empty() {
			cx.server.avatar_hashes.borrow_mut().by_user.insert(user.to_owned(), hash.clone());
		}
		hash
	});
	presence.retain_children(|c| !c.is("x", ns::VCARD_UPDATE));
	// No photo: nothing added (an empty <photo/> would cost every stored
	// presence a few hundred bytes to say what its absence says too).
	if !hash.is_empty() {
		presence.push(Element::new("x", ns::VCARD_UPDATE).with_child(Element::new("photo", ns::VCARD_UPDATE).with_text(hash)));
	}
}

fn remember(user: String, hash: String) -> Out {
	Out::Then(Deferred(Box::new(move |cx: &mut Cx| {
		let mut hashes = cx.server.avatar_hashes.borrow_mut();
		if hash.is_empty() {
			hashes.by_user.remove(&user);
		} else {
			hashes.by_user.insert(user, hash);
		}
	})))
}

/// After `user` published avatar metadata (in the same storage job): the
/// avatar it names becomes the vCard PHOTO (or the PHOTO goes, for empty
/// metadata). Nothing happens if the data is not there or is too big.
pub fn pep_to_vcard(tx: &Tx<'_>, user: &str, metadata: &Element, max_vcard: usize) -> Result<Vec<Out>, StoreError> {
	let info = metadata.child("info", METADATA).filter(|i| i.attr("url").is_none());
	let mut card =
		tx.vcard(user)?.and_then(|xml| parse_stored(&xml, ns::VCARD, limits())).unwrap_or_else(|| Element::new("vCard", ns::VCARD));
	card.retain_children(|c| !c.is("PHOTO", ns::VCARD));
	let hash = match info.and_then(|i| i.attr("id")) {
		Some(id) => {
			let Some(item) = tx.pep_items(user, DATA)?.into_iter().find(|i| i.id == id) else { return Ok(Vec::new()) };
			let Some(data) = parse_stored(&item.xml, DATA, limits()) else { return Ok(Vec::new()) };
			let ty = info.and_then(|i| i.attr("type")).unwrap_or("image/png");
			card.push(
				Element::new("PHOTO", ns::VCARD)
					.with_child(Element::new("TYPE", ns::VCARD).with_text(ty))
					.with_child(Element::new("BINVAL", ns::VCARD).with_text(data.text())),
			);
			id.to_owned()
		}
		None => String::new(),
	};
	let xml = card.to_xml(ns::VCARD);
	if xml.len() > max_vcard {
		return Ok(Vec::new());
	}
	tx.put_vcard(user, &xml)?;
	Ok(vec![remember(user.to_owned(), hash)])
}

/// After `user` stored a vCard (in the same job): its PHOTO is published as
/// the XEP-0084 avatar (data, then metadata), readable by anyone like the vCard.
pub fn vcard_to_pep(tx: &Tx<'_>, user: &str, card: &Element, limits: PepLimits) -> Result<Vec<Out>, StoreError> {
	let Some((bytes, ty)) = photo_of(card) else {
		return Ok(vec![remember(user.to_owned(), String::new())]);
	};
	let id = sha1_hex(&bytes);
	let open = NodeConfig { access: AccessModel::Open, ..NodeConfig::default() };
	let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
	let data = Element::new("data", DATA).with_text(b64).to_xml("");
	if tx.pep_publish(user, DATA, open, &id, &data, limits)? != Published::Ok(open) && tx.pep_node(user, DATA)?.is_none() {
		return Ok(Vec::new());
	}
	let info =
		Element::new("info", METADATA).with_attr("id", id.as_str()).with_attr("type", ty).with_attr("bytes", bytes.len().to_string());
	let metadata = Element::new("metadata", METADATA).with_child(info);
	let mut outs = vec![remember(user.to_owned(), id.clone())];
	if let Published::Ok(config) = tx.pep_publish(user, METADATA, open, &id, &metadata.to_xml(""), limits)? {
		let item = Element::new("item", ns::PUBSUB_EVENT).with_attr("id", id).with_child(metadata);
		let event = Element::new("event", ns::PUBSUB_EVENT)
			.with_child(Element::new("items", ns::PUBSUB_EVENT).with_attr("node", METADATA).with_child(item));
		outs.push(Out::PepEvent { owner: user.to_owned(), node: METADATA.to_owned(), access: config.access, event });
	}
	Ok(outs)
}
