//! What the server acknowledged survives `kill -9` and restarts.
//!
//! Acknowledgement without stream management: a client's stanzas are
//! processed in order, and each one's storage is durable before the next is
//! read. So once the answer to a later ping arrives, everything sent before
//! it is on disk.

mod common;

use std::time::Duration;

use common::client::Client;
use common::{PASSWORD, Server, server_with_users};

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
