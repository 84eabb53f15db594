//! Department groups (shared roster groups) over real sockets: members become
//! mutual contacts without a subscription handshake, online members see the
//! change at once, presence flows, and leaving a group undoes it.

mod common;

use std::time::Duration;

use common::{Client, DOMAIN, ROSTER, Server, push_item, server_with_users};
use xerra::xmpp::element::Element;

/// (jid, subscription, groups) of every item.
fn roster(c: &mut Client) -> Vec<(String, String, Vec<String>)> {
	let r = c.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	r.child("query", ROSTER)
		.unwrap()
		.children()
		.map(|i| (i.attr("jid").unwrap().to_owned(), i.attr("subscription").unwrap().to_owned(), i.children().map(Element::text).collect()))
		.collect()
}

#[test]
fn group_members_become_mutual_contacts_without_a_handshake() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let (ok, out) = s.cli(&["group", "add", "Sales"], None);
	assert!(ok, "{out}");
	let (ok, out) = s.cli(&["group", "add", "Sales"], None);
	assert!(!ok && out.contains("exists"), "{out}");
	// Roster pushes go to resources that asked for the roster (RFC 6121 §2.1.6).
	let mut alice = s.online("alice");
	assert!(roster(&mut alice).is_empty());
	let (ok, out) = s.cli(&["group", "add-member", "Sales", "alice"], None);
	assert!(ok && out.contains("joined"), "{out}");
	let mut bob = s.online("bob");
	assert!(roster(&mut bob).is_empty());
	let (ok, out) = s.cli(&["group", "add-member", "Sales", "Bob"], None);
	assert!(ok, "{out}");
	// Both get a push with subscription both in group Sales, and each other's presence.
	for (c, other) in [(&mut alice, "bob"), (&mut bob, "alice")] {
		let item = push_item(c);
		assert_eq!(item.attr("jid"), Some(Server::jid(other).as_str()));
		assert_eq!(item.attr("subscription"), Some("both"));
		assert_eq!(item.children().map(Element::text).collect::<Vec<_>>(), ["Sales"]);
		let p = c.wait_for(|e| e.name() == "presence" && e.attr("type").is_none());
		assert!(p.attr("from").unwrap().starts_with(&Server::jid(other)), "{}", p.to_xml("jabber:client"));
	}
	assert!(!alice.drain(Duration::from_millis(200)).iter().any(|e| e.name() == "presence" && e.attr("type") == Some("subscribe")));
	// Presence keeps flowing through the ordinary subscription rules.
	bob.send("<presence><show>away</show></presence>");
	let p = alice.wait_for(|e| e.name() == "presence" && e.child("show", "jabber:client").is_some());
	assert_eq!(p.child("show", "jabber:client").unwrap().text(), "away");
	// A member who logs in later finds the contacts there.
	s.cli(&["group", "add-member", "Sales", "carol"], None);
	let mut carol = s.login("carol");
	let items = roster(&mut carol);
	assert_eq!(items.len(), 2, "{items:?}");
	assert!(items.iter().all(|(_, sub, groups)| sub == "both" && groups == &["Sales"]), "{items:?}");
	let (ok, out) = s.cli(&["group", "list"], None);
	assert!(ok && out.contains(&format!("Sales: alice@{DOMAIN}, bob@{DOMAIN}, carol@{DOMAIN}")), "{out}");
	// Leaving takes the contacts away again, with unavailable presence.
	let _ = alice.drain(Duration::from_millis(200));
	let (ok, out) = s.cli(&["group", "del-member", "Sales", "bob"], None);
	assert!(ok && out.contains("left"), "{out}");
	let item = push_item(&mut alice);
	assert_eq!((item.attr("jid"), item.attr("subscription")), (Some(Server::jid("bob").as_str()), Some("remove")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unavailable"));
	assert_eq!(roster(&mut alice).len(), 1);
	// Bad input is refused with a reason.
	let (ok, out) = s.cli(&["group", "add-member", "Sales", "nobody"], None);
	assert!(!ok && out.contains("no user"), "{out}");
	let (ok, out) = s.cli(&["group", "add", ""], None);
	assert!(!ok && out.contains("group name"), "{out}");
	// Deleting an account takes it out of its groups.
	s.cli(&["user", "del", "carol"], None);
	let (_, out) = s.cli(&["group", "list"], None);
	assert!(out.contains(&format!("Sales: alice@{DOMAIN}\n")), "{out}");
}
