//! Server dialback (`proto::dialback`, XEP-0220) as the s2s port reads it:
//! `<db:result/>` and `<db:verify/>` on a jabber:server stream. A key we
//! made verifies and nothing else does; our answers, built from the peer's
//! `from`, `to` and `id` whatever they hold, read back with the same values.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use xerra::proto::dialback::{self, NS, element, key, key_ok};
use xerra::xmpp::jid::Jid;
use xerra::xmpp::reader::StreamEvent;

const SECRET: &[u8] = b"s3cr3tf0rd14lb4ck";

fuzz_target!(|data: &[u8]| {
	let (events, _) = common::read_all(&[data], common::PRE_AUTH);
	for ev in events {
		let StreamEvent::Stanza(el) = ev else { continue };
		if el.ns() != NS {
			continue;
		}
		let (Some(from), Some(to)) = (el.attr("from"), el.attr("to")) else { continue };
		let id = el.attr("id").unwrap_or_default();
		let given = el.text();
		let good = key(SECRET, to, from, id);
		assert!(key_ok(SECRET, to, from, id, &good));
		assert_eq!(key_ok(SECRET, to, from, id, &given), given.trim() == good);
		let _ = Jid::parse(from).is_ok_and(|j| j.node().is_none() && j.resource().is_none());
		for ty in [None, Some("valid"), Some(el.attr("type").unwrap_or("invalid"))] {
			let answer = element(el.name(), to, from, Some(id), ty, Some(&given));
			common::round_trip(&answer);
			let back = common::written_back(&answer);
			assert_eq!((back.attr("from"), back.attr("to"), back.attr("id")), (Some(to), Some(from), Some(id)));
		}
		assert_eq!(dialback::FEATURE_NS, "urn:xmpp:features:dialback");
	}
});
