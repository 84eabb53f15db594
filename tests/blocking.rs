//! XEP-0191 blocking over real sockets: the list and its pushes, both
//! directions of messages, iq and presence, the limit, restart, unblock.

mod common;

use std::time::Duration;

use common::client::error_condition;
use common::{Client, DOMAIN, PASSWORD, Server, server_with_users};
use xerra::xmpp::element::Element;

const BLOCKING: &str = "urn:xmpp:blocking";

fn list(c: &mut Client) -> Vec<String> {
	let r = c.iq(&format!("<iq type='get'><blocklist xmlns='{BLOCKING}'/></iq>"));
	r.child("blocklist", BLOCKING).unwrap().children().map(|i| i.attr("jid").unwrap().to_owned()).collect()
}

fn change(c: &mut Client, what: &str, jids: &[&str]) -> Element {
	let items: String = jids.iter().map(|j| format!("<item jid='{j}'/>")).collect();
	c.iq(&format!("<iq type='set'><{what} xmlns='{BLOCKING}'>{items}</{what}></iq>"))
}

fn presence_from(e: &Element, who: &str, unavailable: bool) -> bool {
	e.name() == "presence"
		&& e.attr("from").is_some_and(|f| f.starts_with(&format!("{who}@")))
		&& (e.attr("type") == Some("unavailable")) == unavailable
}

fn chat(to: &str, body: &str) -> String {
	format!("<message to='{to}' type='chat'><body>{body}</body></message>")
}

fn is_body(body: &'static str) -> impl Fn(&Element) -> bool {
	move |e| e.name() == "message" && e.child("body", "jabber:client").is_some_and(|b| b.text() == body)
}

#[test]
fn blocking_hides_both_ways_and_survives_restart() {
	let s = server_with_users(&["alice", "bob", "carol"], &["max_blocklist_items=3"]);
	assert!(s.cli(&["group", "add", "Team"], None).0);
	for n in ["alice", "bob"] {
		assert!(s.cli(&["group", "add-member", "Team", n], None).0);
	}
	let mut alice = s.online("alice");
	let info = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	assert!(info.to_xml("jabber:client").contains(BLOCKING));
	let mut tablet = Client::login(s.port, "alice", PASSWORD);
	assert!(list(&mut tablet).is_empty());
	let mut bob = s.online("bob");
	alice.wait_for(|e| presence_from(e, "bob", false));

	let bob_jid = Server::jid("bob");
	assert_eq!(change(&mut alice, "block", &[&bob_jid]).attr("type"), Some("result"));
	// The resource that asked for the list gets a push; each side sees the other leave.
	let push = tablet.wait_for(|e| e.name() == "iq" && e.child("block", BLOCKING).is_some());
	assert_eq!(push.attr("type"), Some("set"));
	bob.wait_for(|e| presence_from(e, "alice", true));
	alice.wait_for(|e| presence_from(e, "bob", true));
	assert_eq!(list(&mut alice), vec![bob_jid.clone()]);

	// Messages: refused both ways, with the errors of §3.5.
	bob.send(&chat(&Server::jid("alice"), "hello?"));
	let e = bob.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&e), "service-unavailable");
	alice.send(&chat(&bob_jid, "go away"));
	let e = alice.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&e), "not-acceptable");
	assert!(e.child("error", "jabber:client").unwrap().child("blocked", "urn:xmpp:blocking:errors").is_some());
	// Requests and presence do not pass either.
	let r = bob.iq(&format!("<iq type='get' to='{}'><vCard xmlns='vcard-temp'/></iq>", Server::jid("alice")));
	assert_eq!(error_condition(&r), "service-unavailable");
	bob.send("<presence><show>chat</show></presence>");
	alice.expect_none(Duration::from_millis(400), |e| presence_from(e, "bob", false) || is_body("hello?")(e));

	// Full-JID items block just that resource; the limit holds.
	let carol_phone = format!("{}/phone", Server::jid("carol"));
	assert_eq!(change(&mut alice, "block", &[&carol_phone, "spam.example"]).attr("type"), Some("result"));
	assert_eq!(error_condition(&change(&mut alice, "block", &["more.example"])), "resource-constraint");
	assert_eq!(error_condition(&change(&mut alice, "block", &[])), "bad-request");
	assert_eq!(error_condition(&change(&mut alice, "block", &["not a jid@@"])), "jid-malformed");
	let mut phone = Client::connect(s.port);
	phone.open();
	phone.starttls();
	phone.open();
	phone.scram("carol", PASSWORD, "SCRAM-SHA-256").unwrap();
	phone.open();
	phone.bind(Some("phone")).unwrap();
	let mut carol = Client::login(s.port, "carol", PASSWORD);
	phone.send(&chat(&Server::jid("alice"), "from the phone"));
	carol.send(&chat(&Server::jid("alice"), "from the desk"));
	alice.wait_for(is_body("from the desk"));
	alice.expect_none(Duration::from_millis(300), is_body("from the phone"));

	// Kept across a restart.
	drop((alice, bob, tablet, phone, carol));
	let s = s.restart();
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	assert_eq!(list(&mut alice).len(), 3);
	bob.send(&chat(&Server::jid("alice"), "after restart"));
	let e = bob.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&e), "service-unavailable");
	alice.expect_none(Duration::from_millis(300), |e| presence_from(e, "bob", false));

	// Unblocking shows presence again where the subscription allows.
	assert_eq!(change(&mut alice, "unblock", &[&bob_jid]).attr("type"), Some("result"));
	alice.wait_for(|e| presence_from(e, "bob", false));
	bob.wait_for(|e| presence_from(e, "alice", false));
	bob.send(&chat(&Server::jid("alice"), "friends again"));
	alice.wait_for(is_body("friends again"));
	// An empty <unblock/> clears the list.
	assert_eq!(change(&mut alice, "unblock", &[]).attr("type"), Some("result"));
	assert!(list(&mut alice).is_empty());
}

#[test]
fn a_deleted_account_takes_its_block_list_along() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut alice = s.online("alice");
	assert_eq!(change(&mut alice, "block", &[&Server::jid("bob")]).attr("type"), Some("result"));
	drop(alice);
	let (ok, out) = s.cli(&["user", "del", "alice"], None);
	assert!(ok, "{out}");
	s.add_user("alice");
	let mut alice = s.online("alice");
	assert!(list(&mut alice).is_empty(), "a new account of the same name starts with no block list");
	let mut bob = s.online("bob");
	bob.send(&chat(&Server::jid("alice"), "hello again"));
	alice.wait_for(is_body("hello again"));
}
