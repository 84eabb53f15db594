//! What the server acknowledged survives `kill -9` and restarts.
//!
//! Acknowledgement without stream management: a client's stanzas are
//! processed in order, and each one's storage is durable before the next is
//! read. So once the answer to a later ping arrives, everything sent before
//! it is on disk.

mod common;

use std::path::Path;
use std::time::Duration;

use common::client::Client;
use common::{PASSWORD, Server, server_with_users};
use xerra::xmpp::element::Element;

fn body(e: &Element) -> Option<String> {
	e.child("body", "jabber:client").map(Element::text)
}

fn ping(c: &mut Client) {
	let r = c.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(r.attr("type"), Some("result"));
}

fn bodies(c: &mut Client, n: usize) -> Vec<String> {
	(0..n).map(|_| c.wait_for(|e| e.name() == "message").child("body", "jabber:client").unwrap().text()).collect()
}

#[test]
fn offline_messages_survive_kill_9_right_after_the_ack() {
	let mut s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.online("alice");
	for i in 0..50 {
		a.send(&format!("<message to='bob@example.test' type='chat'><body>m{i}</body></message>"));
	}
	ping(&mut a);
	s.kill9();
	let s = s.restart_after_kill();
	let mut b = s.online("bob");
	let got = bodies(&mut b, 50);
	assert_eq!(got, (0..50).map(|i| format!("m{i}")).collect::<Vec<_>>());
	b.expect_none(Duration::from_millis(300), |e| e.name() == "message");
}

#[test]
fn kill_9_at_a_random_moment_loses_nothing_acknowledged() {
	let mut s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.online("alice");
	// Alice sends message i then ping i, without waiting; the pings answered
	// before the kill tell how far the server acknowledged.
	let mut acked = None;
	let kill_after = Duration::from_millis(150 + u64::from(std::process::id() % 300));
	let start = std::time::Instant::now();
	let mut i = 0;
	while start.elapsed() < kill_after {
		a.send(&format!(
			"<message to='bob@example.test' type='chat'><body>{i}</body></message><iq type='get' id='p{i}'><ping xmlns='urn:xmpp:ping'/></iq>"
		));
		i += 1;
		for el in a.drain(Duration::from_millis(1)) {
			if let Some(n) = el.attr("id").and_then(|id| id.strip_prefix('p')).and_then(|n| n.parse::<u32>().ok()) {
				acked = Some(n);
			}
		}
	}
	s.kill9();
	for el in a.drain(Duration::from_millis(200)) {
		if let Some(n) = el.attr("id").and_then(|id| id.strip_prefix('p')).and_then(|n| n.parse::<u32>().ok()) {
			acked = Some(n);
		}
	}
	let acked = acked.expect("at least one ping was answered before the kill");
	let s = s.restart_after_kill();
	let mut b = s.online("bob");
	let got: Vec<u32> = b
		.drain(Duration::from_secs(2))
		.iter()
		.filter(|e| e.name() == "message")
		.map(|m| m.child("body", "jabber:client").unwrap().text().parse().unwrap())
		.collect();
	eprintln!("acknowledged {} messages before the kill; {} delivered after restart", acked + 1, got.len());
	// Everything acknowledged is there, in order, exactly once; later ones may be too.
	assert!(got.len() > acked as usize, "acked up to {acked}, got {} messages", got.len());
	assert_eq!(got, (0..got.len() as u32).collect::<Vec<_>>(), "order and uniqueness");
}

#[test]
fn accounts_rosters_and_pending_requests_survive_restart_and_kill() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut a = s.online("alice");
	a.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	// A roster item with groups, and a pending request to offline carol.
	let r = a.iq(
		"<iq type='set'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Bob'><group>Team</group></item></query></iq>",
	);
	assert_eq!(r.attr("type"), Some("result"));
	a.send("<presence to='carol@example.test' type='subscribe'><status>it's alice</status></presence>");
	ping(&mut a);
	drop(a);
	// A clean restart.
	let mut s = s.restart();
	let mut a = s.login("alice");
	let r = a.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	let q = r.child("query", "jabber:iq:roster").unwrap();
	let bob = q.children().find(|i| i.attr("jid") == Some("bob@example.test")).expect("bob in roster");
	assert_eq!(bob.attr("name"), Some("Bob"));
	assert_eq!(bob.children().next().unwrap().text(), "Team");
	let carol = q.children().find(|i| i.attr("jid") == Some("carol@example.test")).expect("carol in roster");
	assert_eq!(carol.attr("ask"), Some("subscribe"));
	drop(a);
	// And a hard kill.
	s.kill9();
	let s = s.restart_after_kill();
	let mut c = s.online("carol");
	let req = c.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	assert_eq!(req.attr("from"), Some("alice@example.test"));
	assert_eq!(req.child("status", "jabber:client").unwrap().text(), "it's alice");
	// The password still works after everything.
	let mut a = Client::login(s.port, "alice", PASSWORD);
	ping(&mut a);
}

#[test]
fn account_added_by_cli_survives_kill_9() {
	let mut s = Server::start(&[]);
	s.add_user("dave");
	s.kill9();
	let s = s.restart_after_kill();
	let mut d = s.login("dave");
	ping(&mut d);
}

/// A data directory written by schema 1 (each redb table with its own
/// types, until issue 13), made by `make_schema1_fixture` below with the
/// binary of 2c2a78f.
const SCHEMA1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema1/xerra.redb");
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";

fn chat(to: &str, body: &str) -> String {
	format!("<message to='{to}@example.test' type='chat'><body>{body}</body></message>")
}

/// What `make_schema1_fixture` stores: accounts, a roster with a group, a
/// message to offline carol, archived chat, a PEP item, a persistent room,
/// a department, a component, the message of the day.
fn fill(s: &Server) {
	let mut a = s.online("alice");
	let mut b = s.online("bob");
	a.iq("<iq type='set'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Bob'><group>Team</group></item></query></iq>");
	a.send(&chat("bob", "archived one"));
	b.wait_for(|e| body(e).as_deref() == Some("archived one"));
	a.send(&chat("carol", "kept for carol"));
	let r = a.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='urn:example:note'><item id='n1'><note xmlns='urn:example:note'>kept</note></item></publish></pubsub></iq>"
	));
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	a.send("<presence to='lunch@rooms.example.test/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
	a.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	for args in [
		&["room", "persist", "lunch", "on"][..],
		&["group", "add", "Office"],
		&["group", "add-member", "Office", "carol"],
		&["component", "add", "bridge.example.test"],
		&["motd", "set", "Welcome back"],
	] {
		let (ok, out) = s.cli(args, None);
		assert!(ok, "{args:?}: {out}");
	}
	ping(&mut a);
}

/// Writes the schema 1 fixture with a schema 1 binary (`old`, e.g. a build
/// of 2c2a78f): `XERRA_SCHEMA1_BIN=/path/to/old/xerra cargo test --test
/// durability a_schema_1` makes it anew before checking it.
fn make_schema1_fixture(old: &str) {
	let dir = std::env::temp_dir().join(format!("xerra-schema1-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let wrapper = ["sh", "-c", "shift; exec \"$XERRA_SCHEMA1_BIN\" \"$@\"", "sh"];
	let mut s = Server::start_wrapped(dir.clone(), Vec::new(), &wrapper);
	assert!(Path::new(old).exists(), "{old}");
	for n in ["alice", "bob", "carol"] {
		s.add_user(n);
	}
	fill(&s);
	assert!(s.stop());
	std::fs::create_dir_all(Path::new(SCHEMA1).parent().unwrap()).unwrap();
	std::fs::copy(dir.join("xerra.redb"), SCHEMA1).unwrap();
}

#[test]
fn a_schema_1_data_directory_opens_with_everything_in_it() {
	if let Ok(old) = std::env::var("XERRA_SCHEMA1_BIN") {
		make_schema1_fixture(&old);
	}
	let dir = std::env::temp_dir().join(format!("xerra-it-schema1-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).unwrap();
	std::fs::copy(SCHEMA1, dir.join("xerra.redb")).unwrap();
	let s = Server::start_in(dir, Vec::new());
	let check = |s: &Server| {
		let mut a = Client::login(s.port, "alice", PASSWORD);
		let r = a.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
		let q = r.child("query", "jabber:iq:roster").unwrap();
		let bob = q.children().find(|i| i.attr("jid") == Some("bob@example.test")).expect("bob in roster");
		assert_eq!(bob.children().next().unwrap().text(), "Team");
		let r = a
			.iq(&format!("<iq type='get' to='alice@example.test'><pubsub xmlns='{PUBSUB}'><items node='urn:example:note'/></pubsub></iq>"));
		assert!(r.to_xml("jabber:client").contains(">kept</note>"), "{}", r.to_xml("jabber:client"));
		let id = a.id();
		a.send(&format!("<iq type='set' id='{id}'><query xmlns='urn:xmpp:mam:2' queryid='q'/></iq>"));
		let m = a.wait_for(|e| e.name() == "message" && e.child("result", "urn:xmpp:mam:2").is_some());
		assert!(m.to_xml("jabber:client").contains("archived one"));
		a.wait_for(|e| e.attr("id") == Some(id.as_str()));
		for (args, want) in [
			(&["room", "list"][..], "lunch"),
			(&["group", "list"], "carol"),
			(&["component", "list"], "bridge.example.test"),
			(&["motd", "show"], "Welcome back"),
		] {
			let (ok, out) = s.cli(args, None);
			assert!(ok && out.contains(want), "{args:?}: {out}");
		}
	};
	check(&s);
	assert!(s.log_text().contains("from schema 1 to schema 2"), "{}", s.log_text());
	let mut c = s.online("carol");
	c.wait_for(|e| body(e).as_deref() == Some("kept for carol"));
	drop(c);
	// A second start moves nothing and finds the same.
	let s = s.restart();
	assert!(!s.log_text().contains("from schema 1"), "{}", s.log_text());
	check(&s);
}
