//! XEP-0054 vcard-temp over real sockets: set your own, anyone reads it,
//! an empty one when none was set, the size limit, restart.

mod common;

use common::client::error_condition;
use common::{DOMAIN, Server, server_with_users};

#[test]
fn vcards_are_set_by_their_owner_and_read_by_anyone() {
	let s = server_with_users(&["alice", "bob", "carol"], &["max_vcard_bytes=2048"]);
	let mut alice = s.login("alice");
	let r = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	assert!(r.to_xml("jabber:client").contains("vcard-temp"));
	let card = "<vCard xmlns='vcard-temp'><FN>Anna &amp; Co</FN><NICKNAME>anna</NICKNAME>\
		<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard>";
	assert_eq!(alice.iq(&format!("<iq type='set'>{card}</iq>")).attr("type"), Some("result"));
	let own = alice.iq("<iq type='get'><vCard xmlns='vcard-temp'/></iq>").to_xml("jabber:client");
	assert!(own.contains("<FN>Anna &amp; Co</FN>") && own.contains("iVBORw0KGgo="), "{own}");
	let mut bob = s.login("bob");
	let theirs = bob.iq(&format!("<iq type='get' to='{}'><vCard xmlns='vcard-temp'/></iq>", Server::jid("alice"))).to_xml("jabber:client");
	assert!(theirs.contains("<NICKNAME>anna</NICKNAME>"), "{theirs}");
	// None yet: an empty vCard, not an error.
	let r = bob.iq(&format!("<iq type='get' to='{}'><vCard xmlns='vcard-temp'/></iq>", Server::jid("carol")));
	assert_eq!(r.attr("type"), Some("result"));
	assert_eq!(r.child("vCard", "vcard-temp").unwrap().children().count(), 0);
	// Only your own; within max_vcard_bytes.
	let r = bob.iq(&format!("<iq type='set' to='{}'><vCard xmlns='vcard-temp'><FN>x</FN></vCard></iq>", Server::jid("alice")));
	assert_eq!(error_condition(&r), "forbidden");
	let big = format!("<iq type='set'><vCard xmlns='vcard-temp'><PHOTO><BINVAL>{}</BINVAL></PHOTO></vCard></iq>", "A".repeat(3000));
	assert_eq!(error_condition(&bob.iq(&big)), "not-acceptable");
	drop((alice, bob));
	let s = s.restart();
	let mut carol = s.login("carol");
	let after = carol.iq(&format!("<iq type='get' to='{}'><vCard xmlns='vcard-temp'/></iq>", Server::jid("alice"))).to_xml("jabber:client");
	assert!(after.contains("<FN>Anna &amp; Co</FN>"), "{after}");
}
