//! The admin engine's commands (issue 13) on the command line against a
//! running server, seen from XMPP clients.

mod common;

use std::time::Duration;

use common::client::Client;
use common::{PASSWORD, Server};

/// A fresh STARTTLS stream, ready for SASL.
fn sasl_ready(s: &Server) -> Client {
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	c
}

#[test]
fn a_locked_account_loses_its_sessions_and_may_not_log_in_until_unlocked() {
	let s = Server::start(&[]);
	s.add_user("alice");
	s.add_user("bob");
	let mut a = s.online("alice");
	let (ok, out) = s.cli(&["user", "lock", "alice"], None);
	assert!(ok && out.contains("alice@example.test is locked"), "{out}");
	a.expect_stream_error("not-authorized");
	// The right password is told the account is disabled (RFC 6120 §6.5.1), with a text.
	let mut c = sasl_ready(&s);
	c.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>", b64(&format!("\0alice\0{PASSWORD}"))));
	let f = c.stanza();
	assert_eq!(f.name(), "failure");
	assert!(f.children().any(|c| c.name() == "account-disabled"), "{f:?}");
	assert!(f.children().any(|c| c.name() == "text" && c.text().contains("locked")), "{f:?}");
	// A wrong password learns nothing about the lock.
	assert_eq!(sasl_ready(&s).plain("alice", "wrong"), Err("not-authorized".into()));
	// Her data stays; the list says she is locked; an unlock lets her in.
	let (_, out) = s.cli(&["user", "list"], None);
	assert!(out.lines().any(|l| l == "alice@example.test (locked)"), "{out}");
	let (ok, out) = s.cli(&["user", "unlock", "alice"], None);
	assert!(ok && out.contains("unlocked"), "{out}");
	assert_eq!(sasl_ready(&s).plain("alice", PASSWORD), Ok(()));
	let (ok, out) = s.cli(&["user", "lock", "nobody"], None);
	assert!(!ok && out.contains("no user"), "{out}");
	// Bob never noticed anything but alice's presence.
	let mut b = s.online("bob");
	b.expect_none(Duration::from_millis(100), |e| e.name() == "message");
}

fn b64(s: &str) -> String {
	use base64::Engine as _;
	base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn a_reset_link_is_printed_for_an_account() {
	let s = Server::start(&[]);
	s.add_user("alice");
	let (ok, out) = s.cli(&["user", "reset", "alice"], None);
	assert!(ok, "{out}");
	let url = out.lines().next().unwrap();
	let token =
		url.strip_prefix("https://example.test").and_then(|r| r.split_once("/reset/")).map(|(_, t)| t).unwrap_or_else(|| panic!("{out}"));
	assert!(token.len() >= 16 && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{out}");
	assert!(out.contains("alice@example.test") && out.contains("24 hours"), "{out}");
	let (ok, out) = s.cli(&["user", "reset", "nobody"], None);
	assert!(!ok && out.contains("no user"), "{out}");
}
