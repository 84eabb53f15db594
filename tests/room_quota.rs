//! XEP-0045 room creation per account (`muc_max_rooms_per_account`): one
//! account cannot take every room the service may hold (issue 11: one user
//! made all 1000 rooms in 2 s).

mod common;

use common::client::error_condition;
use common::{Client, DOMAIN, server_with_users};
use xerra::xmpp::element::Element;

const MUC: &str = "http://jabber.org/protocol/muc";

fn room(name: &str) -> String {
	format!("{name}@rooms.{DOMAIN}")
}

/// Joins (making the room if it is new); Err: the error condition.
fn join(c: &mut Client, name: &str, nick: &str) -> Result<(), String> {
	c.send(&format!("<presence to='{}/{nick}'><x xmlns='{MUC}'/></presence>", room(name)));
	loop {
		let e: Element = c.wait_for(|_| true);
		if e.attr("type") == Some("error") {
			return Err(error_condition(&e));
		}
		if e.name() == "message" && e.child("subject", "jabber:client").is_some() {
			return Ok(());
		}
	}
}

#[test]
fn one_account_cannot_make_every_room() {
	let s = server_with_users(&["alice", "bob"], &["muc_max_rooms=100"]);
	let mut alice = s.online("alice");
	// 20 rooms per account by default.
	for i in 0..20 {
		assert_eq!(join(&mut alice, &format!("r{i}"), "Alice"), Ok(()), "room {i}");
	}
	assert_eq!(join(&mut alice, "one-more", "Alice"), Err("not-allowed".into()));
	// Joining a room someone else made is no creation ...
	let mut bob = s.online("bob");
	assert_eq!(join(&mut bob, "bobs", "Bob"), Ok(()));
	assert_eq!(join(&mut alice, "bobs", "Alice"), Ok(()));
	// ... and a room that is gone frees its place.
	alice.send(&format!("<presence to='{}/Alice' type='unavailable'/>", room("r0")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("{}/Alice", room("r0"))));
	assert_eq!(join(&mut alice, "one-more", "Alice"), Ok(()));
}
