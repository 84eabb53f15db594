//! XEP-0012 Last Activity over real sockets: server uptime, 0 while online,
//! time and status since the last logout, who may ask, restart.

mod common;

use std::time::Duration;

use common::client::error_condition;
use common::{DOMAIN, Server, server_with_users};
use xerra::xmpp::element::Element;

fn last(c: &mut common::Client, to: &str) -> Element {
	c.iq(&format!("<iq type='get' to='{to}'><query xmlns='jabber:iq:last'/></iq>"))
}

fn seconds(r: &Element) -> u64 {
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	r.child("query", "jabber:iq:last").unwrap().attr("seconds").unwrap().parse().unwrap()
}

#[test]
fn last_activity_of_the_server_and_of_contacts() {
	let s = server_with_users(&["alice", "bob", "carol", "dave"], &[]);
	// alice, bob and dave share presence (one department); carol is a stranger.
	for u in ["alice", "bob", "dave"] {
		assert!(s.cli(&["group", "add-member", "Team", u], None).0);
	}
	let mut bob = s.online("bob");
	let r = bob.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	assert!(r.to_xml("jabber:client").contains("jabber:iq:last"));
	assert!(seconds(&last(&mut bob, DOMAIN)) < 60, "server uptime");
	let mut alice = s.online("alice");
	assert_eq!(seconds(&last(&mut bob, &Server::jid("alice"))), 0, "online");
	alice.send("<presence type='unavailable'><status>gone fishing</status></presence>");
	bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unavailable"));
	std::thread::sleep(Duration::from_millis(1100));
	let r = last(&mut bob, &Server::jid("alice"));
	assert!(seconds(&r) >= 1, "{}", r.to_xml("jabber:client"));
	assert_eq!(r.child("query", "jabber:iq:last").unwrap().text(), "gone fishing");
	// Own account; a stranger may not ask; nobody knows dave's yet.
	assert!(seconds(&last(&mut alice, &Server::jid("alice"))) >= 1);
	let mut carol = s.login("carol");
	assert_eq!(error_condition(&last(&mut carol, &Server::jid("alice"))), "forbidden");
	assert_eq!(error_condition(&last(&mut bob, &Server::jid("dave"))), "item-not-found");
	assert_eq!(error_condition(&last(&mut bob, &Server::jid("nobody"))), "service-unavailable");
	// A dropped connection counts as going offline too; kept across restarts.
	let dave = s.online("dave");
	drop(dave);
	bob.wait_for(|e| {
		e.name() == "presence" && e.attr("type") == Some("unavailable") && e.attr("from").is_some_and(|f| f.starts_with("dave@"))
	});
	std::thread::sleep(Duration::from_millis(200));
	drop((alice, bob, carol));
	let s = s.restart();
	let mut bob = s.login("bob");
	let r = last(&mut bob, &Server::jid("alice"));
	assert!(seconds(&r) >= 1 && r.child("query", "jabber:iq:last").unwrap().text() == "gone fishing");
	let r = last(&mut bob, &Server::jid("dave"));
	assert!(seconds(&r) < 60, "{}", r.to_xml("jabber:client"));
}
