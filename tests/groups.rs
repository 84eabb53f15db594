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

/// Issue 12: Dino and Converse showed department contacts as bare
/// addresses. A contact a group brings is named from its vCard (FN, else
/// NICKNAME); a name the user gave the contact stays.
#[test]
fn department_contacts_are_named_from_their_vcards() {
	let s = server_with_users(&["alice", "bob", "carol", "dave"], &[]);
	let mut alice = s.login("alice");
	let r = alice.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN> Alice Liddell </FN><NICKNAME>Ally</NICKNAME></vCard></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	let mut bob = s.login("bob");
	assert_eq!(
		bob.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN/><NICKNAME>Bobby</NICKNAME></vCard></iq>").attr("type"),
		Some("result")
	);
	let mut dave = s.login("dave");
	let r =
		dave.iq(&format!("<iq type='set'><query xmlns='jabber:iq:roster'><item jid='{}' name='Al'/></query></iq>", Server::jid("alice")));
	assert_eq!(r.attr("type"), Some("result"));
	s.cli(&["group", "add", "Sales"], None);
	for who in ["alice", "bob", "carol", "dave"] {
		let (ok, out) = s.cli(&["group", "add-member", "Sales", who], None);
		assert!(ok, "{out}");
	}
	let names = |c: &mut Client| -> Vec<(String, Option<String>)> {
		let r = c.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
		let mut v: Vec<_> = r
			.child("query", ROSTER)
			.unwrap()
			.children()
			.map(|i| (i.attr("jid").unwrap().split('@').next().unwrap().to_owned(), i.attr("name").map(str::to_owned)))
			.collect();
		v.sort();
		v
	};
	let mut carol = s.login("carol");
	let name = |n: &str| Some(n.to_owned());
	assert_eq!(
		names(&mut carol),
		[("alice".into(), name("Alice Liddell")), ("bob".into(), name("Bobby")), ("dave".into(), None)],
		"FN, else NICKNAME, else nothing"
	);
	assert_eq!(names(&mut dave)[0], ("alice".into(), name("Al")), "the user's own name stays");
}

/// Issue 13: a department is renamed (every member's roster group follows,
/// pushed at once) and deleted (colleagues leave each other's rosters).
#[test]
fn departments_are_renamed_and_deleted_with_rosters_following() {
	let s = server_with_users(&["alice", "bob"], &[]);
	for u in ["alice", "bob"] {
		assert!(s.cli(&["group", "add-member", "Sales", u], None).0);
	}
	let mut alice = s.online("alice");
	assert_eq!(roster(&mut alice).len(), 1);
	let (ok, out) = s.cli(&["group", "rename", "Sales", "Revenue"], None);
	assert!(ok && out.contains("renamed group Sales to Revenue"), "{out}");
	let item = push_item(&mut alice);
	assert_eq!(item.attr("jid"), Some(Server::jid("bob").as_str()));
	assert_eq!(item.children().map(Element::text).collect::<Vec<_>>(), ["Revenue"]);
	let (_, out) = s.cli(&["group", "list"], None);
	assert!(out.contains(&format!("Revenue: alice@{DOMAIN}, bob@{DOMAIN}")) && !out.contains("Sales"), "{out}");
	assert!(s.cli(&["group", "add", "Other"], None).0);
	let (ok, out) = s.cli(&["group", "rename", "Revenue", "Other"], None);
	assert!(!ok && out.contains("exists"), "{out}");
	let (ok, out) = s.cli(&["group", "rename", "Nope", "X"], None);
	assert!(!ok && out.contains("no group"), "{out}");
	let (ok, out) = s.cli(&["group", "del", "Revenue"], None);
	assert!(ok && out.contains("deleted group Revenue"), "{out}");
	let item = push_item(&mut alice);
	assert_eq!((item.attr("jid"), item.attr("subscription")), (Some(Server::jid("bob").as_str()), Some("remove")));
	assert!(roster(&mut alice).is_empty());
	let (_, out) = s.cli(&["group", "list"], None);
	assert!(!out.contains("Revenue"), "{out}");
	assert!(s.cli(&["group", "del", "Other"], None).0, "an empty group is deleted too");
	assert!(!s.cli(&["group", "del", "Other"], None).0);
}
