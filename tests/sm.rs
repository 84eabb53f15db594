//! XEP-0198 stream management over real sockets: counting both ways,
//! resumption after a lost connection (unacknowledged and held stanzas
//! arrive, nobody sees the session go), takeover of a connection the server
//! still thinks alive, the timeout (unacknowledged messages go to offline
//! storage), a clean close, the unacked limit and a shutdown while waiting.

mod common;

use std::time::Duration;

use common::{Client, DOMAIN, PASSWORD, Server, server_with_users};
use xerra::xmpp::element::Element;

const SM: &str = "urn:xmpp:sm:3";

/// Logged in, not bound: where `<resume/>` goes.
fn authenticated(s: &Server, user: &str) -> Client {
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	c.scram(user, PASSWORD, "SCRAM-SHA-256").expect("authentication");
	let features = c.open();
	assert!(features.child("sm", SM).is_some(), "stream management is offered after authentication");
	c
}

fn enable(c: &mut Client, resume: bool) -> Option<String> {
	c.send(&format!("<enable xmlns='{SM}' resume='{resume}'/>"));
	let e = c.wait_for(|e| e.is("enabled", SM));
	e.attr("id").map(str::to_owned)
}

fn is_sm(name: &'static str) -> impl Fn(&Element) -> bool {
	move |e| e.is(name, SM)
}

fn ack_count(c: &mut Client) -> u32 {
	c.send(&format!("<r xmlns='{SM}'/>"));
	c.wait_for(is_sm("a")).attr("h").unwrap().parse().unwrap()
}

fn chat(to: &str, body: &str) -> String {
	format!("<message to='{to}' type='chat'><body>{body}</body></message>")
}

fn body_of(e: &Element) -> Option<String> {
	(e.name() == "message").then(|| e.child("body", "jabber:client").map(|b| b.text())).flatten()
}

/// Bodies of the chat messages received within `d`, in order.
fn bodies(c: &mut Client, d: Duration) -> Vec<String> {
	c.drain(d).iter().filter_map(body_of).collect()
}

fn friends(s: &Server) {
	assert!(s.cli(&["group", "add", "Team"], None).0);
	for n in ["alice", "bob"] {
		assert!(s.cli(&["group", "add-member", "Team", n], None).0);
	}
}

#[test]
fn counts_both_ways_and_refuses_impossible_acks() {
	let s = server_with_users(&["alice"], &[]);
	let mut alice = s.login("alice");
	// <enable/> is answered once; without resume there is no id.
	assert_eq!(enable(&mut alice, false), None);
	alice.send(&format!("<enable xmlns='{SM}'/>"));
	assert!(alice.wait_for(is_sm("failed")).child("unexpected-request", "urn:ietf:params:xml:ns:xmpp-stanzas").is_some());
	assert_eq!(ack_count(&mut alice), 0);
	// Two stanzas handled (a ping and a message stored offline).
	let r = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	alice.send(&chat(&Server::jid("alice"), "note to self"));
	assert_eq!(ack_count(&mut alice), 2);
	// The server asks for an ack after sending; acking what we got is fine.
	alice.wait_for(is_sm("r"));
	alice.send(&format!("<a xmlns='{SM}' h='1'/>"));
	assert_eq!(ack_count(&mut alice), 2, "nonzas are not counted");
	// Acknowledging more than was sent ends the stream; so does an <a/> without a number.
	alice.send(&format!("<a xmlns='{SM}' h='10'/>"));
	alice.expect_stream_error("undefined-condition");
	let mut again = s.login("alice");
	enable(&mut again, false);
	again.send(&format!("<a xmlns='{SM}' h='many'/>"));
	again.expect_stream_error("bad-format");
	// The server goes on serving.
	assert!(
		s.login("alice").iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>")).attr("type") == Some("result")
	);
}

#[test]
fn resume_delivers_what_was_missed_and_nobody_sees_the_gap() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	friends(&s);
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	let token = enable(&mut alice, true).expect("a resumption id");
	let alice_jid = alice.jid.clone();
	bob.drain(Duration::from_millis(200));
	bob.send(&chat(&Server::jid("alice"), "m1"));
	bob.send(&chat(&Server::jid("alice"), "m2"));
	assert_eq!(bodies(&mut alice, Duration::from_millis(400)), ["m1", "m2"]);
	// The connection dies without a word; two more arrive meanwhile.
	drop(alice);
	std::thread::sleep(Duration::from_millis(300));
	bob.send(&chat(&Server::jid("alice"), "m3"));
	bob.send(&chat(&alice_jid, "m4"));
	bob.expect_none(Duration::from_millis(500), |e| e.name() == "presence" && e.attr("type") == Some("unavailable"));

	// Someone else cannot take the session.
	let mut carol = authenticated(&s, "carol");
	carol.send(&format!("<resume xmlns='{SM}' previd='{token}' h='0'/>"));
	assert!(carol.wait_for(is_sm("failed")).child("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas").is_some());
	assert!(carol.bind(None).is_ok(), "after a failed resume the client binds as usual");

	let mut again = authenticated(&s, "alice");
	again.send(&format!("<resume xmlns='{SM}' previd='{token}' h='0'/>"));
	let resumed = again.wait_for(is_sm("resumed"));
	assert_eq!(resumed.attr("previd"), Some(token.as_str()));
	assert_eq!(resumed.attr("h"), Some("0"), "alice sent nothing after enabling");
	again.jid = alice_jid.clone();
	// Unacknowledged m1 and m2 again, then m3 and m4, in order.
	assert_eq!(bodies(&mut again, Duration::from_millis(500)), ["m1", "m2", "m3", "m4"]);
	// The resumed session is the same one: it sends and receives.
	again.send(&chat(&Server::jid("bob"), "back"));
	let m = bob.wait_for(|e| body_of(e).as_deref() == Some("back"));
	assert_eq!(m.attr("from"), Some(alice_jid.as_str()));
	bob.send(&chat(&alice_jid, "m5"));
	assert_eq!(bodies(&mut again, Duration::from_millis(300)), ["m5"]);
	assert!(s.log_text().contains("resumed"), "{}", s.log_text());
}

#[test]
fn resume_takes_over_a_connection_that_is_not_yet_known_dead() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.online("bob");
	let mut old = s.online("alice");
	let token = enable(&mut old, true).unwrap();
	let jid = old.jid.clone();
	let mut new = authenticated(&s, "alice");
	new.send(&format!("<resume xmlns='{SM}' previd='{token}' h='0'/>"));
	new.wait_for(is_sm("resumed"));
	// The old connection is let go quietly; the new one gets the traffic.
	old.expect_closed();
	bob.send(&chat(&jid, "to the new one"));
	assert_eq!(bodies(&mut new, Duration::from_millis(400)), ["to the new one"]);
}

#[test]
fn unacknowledged_messages_go_offline_when_resumption_times_out() {
	let s = server_with_users(&["alice", "bob"], &["sm_resume_timeout=1"]);
	friends(&s);
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	let token = enable(&mut alice, true).unwrap();
	bob.send(&chat(&Server::jid("alice"), "unacked"));
	assert_eq!(bodies(&mut alice, Duration::from_millis(300)), ["unacked"]);
	drop(alice);
	std::thread::sleep(Duration::from_millis(200));
	bob.send(&chat(&Server::jid("alice"), "held"));
	// After the timeout alice is gone for everyone ...
	let p = bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unavailable"));
	assert!(p.attr("from").unwrap().starts_with("alice@"));
	// ... the session cannot be resumed, and both messages wait offline.
	let mut late = authenticated(&s, "alice");
	late.send(&format!("<resume xmlns='{SM}' previd='{token}' h='0'/>"));
	late.wait_for(is_sm("failed"));
	let mut alice = s.login("alice");
	alice.send("<presence/>");
	let got: Vec<Element> = alice.drain(Duration::from_millis(500)).into_iter().filter(|e| body_of(e).is_some()).collect();
	assert_eq!(got.iter().filter_map(body_of).collect::<Vec<_>>(), ["unacked", "held"]);
	assert!(got.iter().all(|m| m.child("delay", "urn:xmpp:delay").is_some()), "offline messages carry a delay stamp");
}

#[test]
fn a_clean_close_keeps_unacknowledged_messages_and_the_unacked_limit_holds() {
	let s = server_with_users(&["alice", "bob"], &["sm_max_unacked=16"]);
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	enable(&mut alice, false);
	bob.send(&chat(&Server::jid("alice"), "one"));
	assert_eq!(bodies(&mut alice, Duration::from_millis(300)), ["one"]);
	alice.send("</stream:stream>");
	alice.expect_closed();
	let mut alice = s.online("alice");
	assert_eq!(bodies(&mut alice, Duration::from_millis(400)), ["one"], "not acknowledged, so kept");

	// A client that never acknowledges is cut off at sm_max_unacked; nothing is lost.
	enable(&mut alice, false);
	for i in 0..30 {
		bob.send(&chat(&Server::jid("alice"), &format!("n{i}")));
	}
	alice.expect_stream_error("policy-violation");
	let mut alice = s.online("alice");
	let got = bodies(&mut alice, Duration::from_millis(600));
	let want: Vec<String> = (0..30).map(|i| format!("n{i}")).collect();
	assert_eq!(got, want);
}

/// What a deleted account's session never acknowledged is not kept for an
/// account made later with the same name: its senders hear it is gone.
#[test]
fn a_deleted_accounts_unacknowledged_messages_go_back_to_their_senders() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	enable(&mut alice, true).unwrap();
	bob.send(&chat(&Server::jid("alice"), "never acked"));
	assert_eq!(bodies(&mut alice, Duration::from_millis(300)), ["never acked"]);
	let (ok, out) = s.cli(&["user", "del", "alice"], None);
	assert!(ok, "{out}");
	alice.expect_stream_error("not-authorized");
	let bounce = bob.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!(common::client::error_condition(&bounce), "service-unavailable");
	s.add_user("alice");
	let mut alice = s.online("alice");
	assert!(bodies(&mut alice, Duration::from_millis(500)).is_empty(), "the new alice gets nothing of the old one's");
}

#[test]
fn a_waiting_session_survives_a_shutdown_as_offline_messages() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	enable(&mut alice, true).unwrap();
	bob.send(&chat(&Server::jid("alice"), "before"));
	assert_eq!(bodies(&mut alice, Duration::from_millis(300)), ["before"]);
	drop(alice);
	std::thread::sleep(Duration::from_millis(200));
	bob.send(&chat(&Server::jid("alice"), "while away"));
	std::thread::sleep(Duration::from_millis(200));
	drop(bob);
	let s = s.restart();
	let mut alice = s.online("alice");
	assert_eq!(bodies(&mut alice, Duration::from_millis(500)), ["before", "while away"]);
}

/// XEP-0352 client state indication.
#[test]
fn an_inactive_client_gets_what_matters_at_once_and_the_rest_later() {
	let s = server_with_users(&["alice", "bob", "carol"], &["csi_max_held=4"]);
	assert!(s.cli(&["group", "add", "Team"], None).0);
	for n in ["alice", "bob", "carol"] {
		assert!(s.cli(&["group", "add-member", "Team", n], None).0);
	}
	let mut alice = s.online("alice");
	let mut bob = s.online("bob");
	alice.drain(Duration::from_millis(300));
	alice.send("<inactive xmlns='urn:xmpp:csi:0'/>");
	std::thread::sleep(Duration::from_millis(100));
	// Presence updates and chat states wait; only bob's newest presence is kept.
	bob.send("<presence><show>away</show></presence>");
	bob.send("<presence><show>xa</show></presence>");
	bob.send(&format!(
		"<message to='{}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
		Server::jid("alice")
	));
	alice.expect_none(Duration::from_millis(400), |_| true);
	// A message with a body releases them, in order, then itself.
	bob.send(&chat(&Server::jid("alice"), "wake up"));
	let got = alice.drain(Duration::from_millis(400));
	let kinds: Vec<String> = got
		.iter()
		.map(|e| match e.name() {
			"presence" => format!("presence {}", e.child("show", "jabber:client").map(|s| s.text()).unwrap_or_default()),
			"message" => body_of(e).unwrap_or_else(|| "chatstate".into()),
			other => other.to_owned(),
		})
		.collect();
	assert_eq!(kinds, ["presence xa", "chatstate", "wake up"]);
	// At csi_max_held everything goes; <active/> releases the rest.
	let state = |st: &str| {
		format!("<message to='{}' type='chat'><{st} xmlns='http://jabber.org/protocol/chatstates'/></message>", Server::jid("alice"))
	};
	for st in ["active", "composing", "paused"] {
		bob.send(&state(st));
	}
	alice.expect_none(Duration::from_millis(300), |_| true);
	bob.send(&state("gone"));
	assert_eq!(alice.drain(Duration::from_millis(300)).len(), 4, "the fourth fills csi_max_held and all go");
	let mut carol = s.online("carol");
	carol.send("<presence><show>dnd</show></presence>");
	alice.expect_none(Duration::from_millis(300), |_| true);
	alice.send("<active xmlns='urn:xmpp:csi:0'/>");
	let late = alice.drain(Duration::from_millis(300));
	assert_eq!(late.len(), 1, "carol's newest presence only: {late:?}");
	assert_eq!(late[0].child("show", "jabber:client").unwrap().text(), "dnd");
	// Active again: presence flows at once.
	bob.send("<presence/>");
	alice.wait_for(|e| e.name() == "presence" && e.attr("from").is_some_and(|f| f.starts_with("bob@")));
	let features = authenticated(&s, "alice").features.unwrap();
	assert!(features.child("csi", "urn:xmpp:csi:0").is_some());
}
