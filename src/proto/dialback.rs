//! Server dialback (XEP-0220) without I/O: the keys (XEP-0185) and the
//! checks on `<db:result/>` and `<db:verify/>`.
//!
//! Dialback proves that a connection claiming to come from a domain was
//! opened by that domain's server: the receiving server asks the
//! authoritative server (found through DNS) whether the key it was given is
//! one it made. It proves DNS-level identity only; TLS keeps the stream
//! private.

use ring::{digest, hmac};

use crate::xmpp::element::Element;

/// XEP-0220 stream namespace prefix `db:`.
pub const NS: &str = "jabber:server:dialback";
/// XEP-0220 §2.5: the stream feature announcing dialback (with error support).
pub const FEATURE_NS: &str = "urn:xmpp:features:dialback";

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// XEP-0185 §3: HMAC-SHA256 keyed with the hex SHA-256 of our secret, over
/// "receiving originating stream-id", in hex.
pub fn key(secret: &[u8], receiving: &str, originating: &str, stream_id: &str) -> String {
	let k = hex(digest::digest(&digest::SHA256, secret).as_ref());
	let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, k.as_bytes()), format!("{receiving} {originating} {stream_id}").as_bytes());
	hex(mac.as_ref())
}

/// True if `given` is the key we would make for that triple.
pub fn key_ok(secret: &[u8], receiving: &str, originating: &str, stream_id: &str, given: &str) -> bool {
	crate::proto::sasl::scram::ct_eq(key(secret, receiving, originating, stream_id).as_bytes(), given.trim().as_bytes())
}

/// `<db:NAME from to [id] [type]>text</db:NAME>`.
pub fn element(name: &str, from: &str, to: &str, id: Option<&str>, ty: Option<&str>, text: Option<&str>) -> Element {
	let mut el = Element::new(name, NS).with_attr("from", from).with_attr("to", to);
	if let Some(id) = id {
		el.set_attr("id", id);
	}
	if let Some(ty) = ty {
		el.set_attr("type", ty);
	}
	if let Some(t) = text {
		el.push_text(t);
	}
	el
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn keys_follow_xep_0185() {
		// The inputs of the XEP's example script (XMPP wiki); the value comes
		// from Python's hashlib/hmac, an independent implementation.
		let k = key(b"s3cr3tf0rd14lb4ck", "domain2.tld", "domain1.tld", "D60000229F");
		assert_eq!(k, "5e598fae34b90be084fb6a4a8a543ceb33549140bac9d829ef8d734d900616e4");
		let k = key(b"s3cr3tf0rd14lb4ck", "example.net", "example.com", "D60000229F");
		assert!(key_ok(b"s3cr3tf0rd14lb4ck", "example.net", "example.com", "D60000229F", &k));
		assert!(!key_ok(b"s3cr3tf0rd14lb4ck", "example.net", "example.com", "other", &k));
		assert!(!key_ok(b"another", "example.net", "example.com", "D60000229F", &k));
	}
}
