//! XEP-0363 HTTP File Upload: a signed-in account asks the server for a
//! slot (name, size, type); the server answers with a PUT and a GET URL on
//! its own HTTPS port (`upload_port`, the box's certificate), and
//! `http::upload` takes the file. Slot ids are 144 random bits: whoever has
//! the GET URL may fetch the file (as with every XEP-0363 service).
//!
//! Limits: `upload_max_bytes` per file, `upload_quota_bytes` per account
//! (stored files plus open slots), `upload_expiry_days`, `upload_slot_timeout`,
//! and at most `MAX_OPEN_SLOTS` open slots per account.

use std::collections::HashMap;
use std::time::Instant;

use super::{Cx, Feature, IqRoute, Target};
use crate::http::media_type;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::Builder;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "upload",
	spec: "XEP-0363 1.1",
	disco: &[ns::HTTP_UPLOAD],
	account: &[],
	iq: &[IqRoute { ty: IqType::Get, ns: ns::HTTP_UPLOAD, name: "request", target: Target::Server, handler: request }],
};

/// Slots one account may hold open at once.
pub const MAX_OPEN_SLOTS: usize = 16;

/// Longest file name kept (bytes).
const MAX_NAME: usize = 255;

/// A slot handed out and not used yet.
#[derive(Debug, Clone)]
pub struct Slot {
	pub user: String,
	pub filename: String,
	pub size: u64,
	pub content_type: String,
	pub expires: Instant,
}

/// Open slots by id.
#[derive(Debug, Default)]
pub struct Slots {
	open: HashMap<String, Slot>,
}

impl Slots {
	fn prune(&mut self) {
		let now = Instant::now();
		self.open.retain(|_, s| s.expires > now);
	}

	/// Takes the slot `id` for a PUT, if it is still open.
	pub fn take(&mut self, id: &str) -> Option<Slot> {
		self.prune();
		self.open.remove(id)
	}

	/// Puts a slot back (the upload failed before it was stored).
	pub fn restore(&mut self, id: String, slot: Slot) {
		self.open.insert(id, slot);
	}

	/// Closes every slot of `user` (the account was deleted).
	pub fn forget(&mut self, user: &str) {
		self.open.retain(|_, s| s.user != user);
	}

	fn reserved(&self, user: &str) -> (usize, u64) {
		let mine = self.open.values().filter(|s| s.user == user);
		mine.fold((0, 0), |(n, bytes), s| (n + 1, bytes + s.size))
	}
}

/// What the server's disco#info adds when uploads are on: the service
/// identity and the size limit (§5). File transfer is on once the upload
/// port listens.
pub fn disco_extras(server: &crate::server::Server) -> Option<(Element, Element)> {
	server.upload_port.get().is_some().then(|| {
		let identity = Element::new("identity", ns::DISCO_INFO)
			.with_attr("category", "store")
			.with_attr("type", "file")
			.with_attr("name", "File transfer");
		let max = server.config.limits.upload_max_bytes.to_string();
		let form = Builder::new("result", ns::HTTP_UPLOAD).field("max-file-size", "text-single", None, &[&max]).build();
		(identity, form)
	})
}

/// A name that is safe in a URL path segment and a file system.
pub fn clean_name(name: &str) -> Option<String> {
	let name: String = name.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').collect();
	let name = name.trim().trim_start_matches('.').to_owned();
	(!name.is_empty() && name.len() <= MAX_NAME).then_some(name)
}

fn request(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let Some(port) = cx.server.upload_port.get() else { return Err(StanzaError::new(Condition::ServiceUnavailable)) };
	let r = iq.payload().ok_or(Condition::BadRequest)?;
	let filename =
		r.attr("filename").and_then(clean_name).ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "a file name is needed"))?;
	let size: u64 =
		r.attr("size").and_then(|s| s.parse().ok()).ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "a size is needed"))?;
	// The type goes back out as a header of every download: only the RFC
	// 9110 grammar, so it cannot carry a line break or another header.
	let content_type = match r.attr("content-type") {
		None | Some("") => "application/octet-stream".to_owned(),
		Some(t) if media_type::is_valid(t) => t.to_owned(),
		Some(_) => return Err(StanzaError::with_text(Condition::BadRequest, "the content-type is not a media type (RFC 9110)")),
	};
	let l = &cx.server.config.limits;
	if size > l.upload_max_bytes {
		let too_big = Element::new("file-too-large", ns::HTTP_UPLOAD)
			.with_child(Element::new("max-file-size", ns::HTTP_UPLOAD).with_text(l.upload_max_bytes.to_string()));
		return Err(StanzaError::with_app(Condition::NotAcceptable, too_big));
	}
	let user = cx.user().to_owned();
	let stored = cx.server.store.snapshot().and_then(|s| s.upload_usage(&user))?;
	let mut slots = cx.server.upload_slots.borrow_mut();
	slots.prune();
	let (open, reserved) = slots.reserved(&user);
	if open >= MAX_OPEN_SLOTS {
		return Err(StanzaError::with_text(Condition::ResourceConstraint, "too many uploads at once"));
	}
	if stored + reserved + size > l.upload_quota_bytes {
		return Err(StanzaError::with_text(Condition::ResourceConstraint, "your upload quota is used up; old files expire"));
	}
	let mut raw = [0u8; 18];
	cx.server.random(&mut raw);
	let id = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
	let url = format!("https://{}:{port}/upload/{id}/{}", cx.domain(), percent_encode(&filename));
	slots.open.insert(id, Slot { user, filename, size, content_type, expires: Instant::now() + l.upload_slot_timeout });
	drop(slots);
	let slot = Element::new("slot", ns::HTTP_UPLOAD)
		.with_child(Element::new("put", ns::HTTP_UPLOAD).with_attr("url", url.as_str()))
		.with_child(Element::new("get", ns::HTTP_UPLOAD).with_attr("url", url));
	cx.reply(iq.iq_result().with_child(slot));
	Ok(())
}

/// RFC 3986 path segment encoding of a file name.
pub fn percent_encode(s: &str) -> String {
	let mut out = String::new();
	for b in s.bytes() {
		if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
			out.push(b as char);
		} else {
			out.push_str(&format!("%{b:02X}"));
		}
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn names_are_cleaned_and_encoded() {
		assert_eq!(clean_name("../../etc/passwd").as_deref(), Some("etcpasswd"));
		assert_eq!(clean_name(" .hidden ").as_deref(), Some("hidden"));
		assert_eq!(clean_name("/"), None);
		assert_eq!(percent_encode("a b/é.png"), "a%20b%2F%C3%A9.png");
	}
}
