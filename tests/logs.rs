//! What the server's log tells an admin: refusals and failed logins with
//! their reasons at info, each stanza's kind, addresses and outcome at
//! debug, timestamps unless journald adds its own; never a password, a
//! SASL payload or a message body.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::client::error_condition;
use common::{Client, DOMAIN, PASSWORD, Server, server_with_users};

const MUC: &str = "http://jabber.org/protocol/muc";

/// Up to the point where SASL is offered.
fn secure(port: u16) -> Client {
	let mut c = Client::connect(port);
	c.open();
	c.starttls();
	c.open();
	c
}

/// Waits until the server has logged a line with every one of `parts`.
fn logged(s: &Server, parts: &[&str]) -> String {
	let end = Instant::now() + Duration::from_secs(10);
	loop {
		let log = s.log_text();
		if let Some(line) = log.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
			return line.to_owned();
		}
		assert!(Instant::now() < end, "no log line with {parts:?} in:\n{log}");
		std::thread::sleep(Duration::from_millis(50));
	}
}

/// `2026-12-07T01:02:03.456Z ` (UTC, milliseconds) at the start of `line`?
fn has_timestamp(line: &str) -> bool {
	let b = line.as_bytes();
	let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
	b.len() > 25
		&& digits(0..4)
		&& b[4] == b'-'
		&& digits(5..7)
		&& b[7] == b'-'
		&& digits(8..10)
		&& b[10] == b'T'
		&& digits(11..13)
		&& b[13] == b':'
		&& digits(14..16)
		&& b[16] == b':'
		&& digits(17..19)
		&& b[19] == b'.'
		&& digits(20..23)
		&& &b[23..25] == b"Z "
}

#[test]
fn refusals_and_failed_logins_are_logged_with_reasons_timestamps_and_no_secrets() {
	let s = server_with_users(&["alice", "bob"], &[]);
	// A nick conflict in a room.
	let mut alice = s.online("alice");
	let room = format!("team@rooms.{DOMAIN}");
	alice.send(&format!("<presence to='{room}/Boss'><x xmlns='{MUC}'/></presence>"));
	alice.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	let mut bob = s.online("bob");
	bob.send(&format!("<presence to='{room}/Boss'><x xmlns='{MUC}'/></presence>"));
	let refused = bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&refused), "conflict");
	let line = logged(&s, &["refused presence", &format!("from {}", bob.jid), &format!("to {room}/Boss"), "conflict"]);
	assert!(line.contains(" INFO "), "{line}");
	// A message to nobody: refused, and its body never logged.
	bob.send(&format!("<message to='nobody@{DOMAIN}' type='chat'><body>the secret plan</body></message>"));
	let bounced = bob.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&bounced), "service-unavailable");
	logged(&s, &["refused message chat", &format!("to nobody@{DOMAIN}"), "service-unavailable"]);

	// A wrong password, with PLAIN (the password travels in the payload).
	let mut c = secure(s.port);
	assert_eq!(c.plain("alice", "hunter2 wrong"), Err("not-authorized".into()));
	let line = logged(&s, &["login failed", "alice", "not-authorized", "wrong password"]);
	assert!(line.contains("127.0.0.1"), "{line}");
	// SCRAM with the "y" flag although -PLUS was offered.
	let mut c = secure(s.port);
	assert_eq!(c.scram_with("bob", PASSWORD, "SCRAM-SHA-256", "y,,", None), Err("not-authorized".into()));
	logged(&s, &["login failed", "not-authorized", "GS2 flag \"y\"", "-PLUS was offered"]);

	// A stream error: a stanza before authentication.
	let mut c = secure(s.port);
	c.send("<message to='bob@example.test'><body>too early</body></message>");
	c.expect_stream_error("not-authorized");
	logged(&s, &["127.0.0.1:", "stream error not-authorized (authenticate first)"]);

	let log = s.log_text();
	let plain_payload = base64::engine::general_purpose::STANDARD.encode("\0alice\0hunter2 wrong");
	for secret in [PASSWORD, "hunter2", plain_payload.as_str(), "the secret plan", "too early", "n=bob,r="] {
		assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
	}
	for line in log.lines() {
		assert!(has_timestamp(line), "no timestamp: {line:?}");
	}
}

#[test]
fn debug_shows_each_stanzas_kind_addresses_and_outcome() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut alice = s.online("alice");
	let mut bob = s.online("bob");
	alice.send(&format!("<message to='{}' type='chat' id='m1'><body>hi</body></message>", bob.jid));
	bob.wait_for(|e| e.name() == "message");
	let line = logged(&s, &["message chat", &format!("from {}", alice.jid), &format!("to {}", bob.jid), "delivered"]);
	assert!(line.contains(" DEBUG "), "{line}");
	// carol is offline.
	alice.send(&format!("<message to='carol@{DOMAIN}' type='chat' id='m2'><body>later</body></message>"));
	logged(&s, &["message chat", &format!("to carol@{DOMAIN}"), "stored offline"]);
	alice.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	logged(&s, &["iq get (http://jabber.org/protocol/disco#info)", &format!("from {}", alice.jid), &format!("to {DOMAIN}"), "answered"]);
	logged(&s, &["presence", &format!("from {}", bob.jid), "broadcast"]);
	assert!(!s.log_text().contains("later"), "a body is in the log");
}

#[test]
fn no_timestamps_under_journald() {
	let s = Server::start_under_journald(&[]);
	let mut c = secure(s.port);
	assert_eq!(c.plain("nobody", "whatever"), Err("not-authorized".into()));
	logged(&s, &["login failed", "nobody"]);
	let log = s.log_text();
	for line in log.lines() {
		assert!(!has_timestamp(line), "journald adds its own timestamps: {line:?}");
		assert!(["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].iter().any(|l| line.starts_with(l)), "{line:?}");
	}
}

/// Requests that succeed are not logged as refused, though some replies
/// (a full list, a missing item) are prepared before the storage decides.
#[test]
fn what_succeeds_is_not_logged_as_refused() {
	let s = server_with_users(&["alice"], &[]);
	let mut alice = s.login("alice");
	for iq in [
		"<iq type='set'><enable xmlns='urn:xmpp:push:0' jid='push.example.org' node='n1'/></iq>",
		"<iq type='set'><block xmlns='urn:xmpp:blocking'><item jid='spam@example.org'/></block></iq>",
		"<iq type='set'><query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query></iq>",
		"<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='urn:example:node'/></pubsub></iq>",
	] {
		let r = alice.iq(iq);
		assert_eq!(r.attr("type"), Some("result"), "{iq}: {}", r.to_xml("jabber:client"));
	}
	// What is refused is still logged, once.
	let r = alice.iq("<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='urn:example:node'/></pubsub></iq>");
	assert_eq!(error_condition(&r), "conflict");
	logged(&s, &["refused iq set", "conflict"]);
	let log = s.log_text();
	let refused: Vec<&str> = log.lines().filter(|l| l.contains("refused")).collect();
	assert_eq!(refused.len(), 1, "{refused:#?}");
}
