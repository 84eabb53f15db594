//! XEP-0353 call invitations with a real client: slixmpp runs the scenarios
//! of tests/clients/slix_calls.py against a real server; the script checks
//! the outcomes, here we start servers and judge its exit status.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{DOMAIN, PASSWORD, Server, server_with_users};

/// Debian's interpreter, the one python3-slixmpp is installed for.
const PYTHON: &str = "/usr/bin/python3";

fn slix(s: &Server, scenario: &str, users: &[&str], env: &[(String, String)]) {
	let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/slix_calls.py");
	let mut cmd = Command::new(PYTHON);
	cmd.envs(env.iter().map(|(k, v)| (k, v)))
		.arg(script)
		.args(["--port", &s.port.to_string(), "--domain", DOMAIN, "--password", PASSWORD, scenario])
		.args(users);
	let out = common::run_within(&mut cmd, Duration::from_secs(120), scenario)
		.unwrap_or_else(|e| panic!("cannot run {PYTHON} ({e}); tests/setup installs python3-slixmpp"));
	let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
	assert!(out.status.success(), "slixmpp scenario {scenario} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}", out.status);
	assert!(stdout.contains(&format!("PASSED {scenario}")), "{stdout}");
}

#[test]
fn a_call_to_an_offline_contact_is_delivered_at_login_and_archived() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "call_offline", &["alice", "bob"], &[]);
}

#[test]
fn a_second_device_gets_carbons_of_a_call_and_its_answer() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "call_carbons", &["alice", "bob"], &[]);
}

#[test]
fn a_call_wakes_a_phone_with_a_push_marked_as_a_call() {
	let s = server_with_users(&["alice", "bob"], &["component_port=0"]);
	let domain = "push.example.test";
	let (ok, out) = s.cli(&["component", "add", domain], None);
	assert!(ok, "{out}");
	let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).expect("secret").trim().to_owned();
	let port = s.listeners.iter().find(|(k, a)| k == "component" && a.is_ipv4()).expect("component listener").1.port();
	let env = [
		("XERRA_COMPONENT_DOMAIN".to_owned(), domain.to_owned()),
		("XERRA_COMPONENT_SECRET".to_owned(), secret),
		("XERRA_COMPONENT_PORT".to_owned(), port.to_string()),
	];
	slix(&s, "call_push", &["alice", "bob"], &env);
}

/// XEP-0353 §3.1: a call to the bare JID rings every device, not only the
/// one with the highest presence priority (RFC 6121 §8.5.2.1.1 lets a
/// server send chat to all non-negative resources); other messages still
/// go to the highest. Carbons are off here: nothing else would reach the desk.
#[test]
fn a_call_to_the_bare_jid_rings_every_device() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut phone = s.login("bob");
	phone.send("<presence><priority>10</priority></presence>");
	let mut desk = s.login("bob");
	desk.send("<presence><priority>1</priority></presence>");
	let mut hidden = s.login("bob");
	hidden.send("<presence><priority>-1</priority></presence>");
	let mut alice = s.online("alice");
	// Both presences are in place once bob's own echoes are back.
	let desk_jid = desk.jid.clone();
	phone.wait_for(|p| p.name() == "presence" && p.attr("from") == Some(desk_jid.as_str()));
	let hidden_jid = hidden.jid.clone();
	phone.wait_for(|p| p.name() == "presence" && p.attr("from") == Some(hidden_jid.as_str()));
	let bob = Server::jid("bob");
	alice.send(&format!("<message to='{bob}' type='chat'><body>hello</body></message>"));
	alice.send(&format!(
		"<message to='{bob}' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='ring-1'>\
		 <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>"
	));
	let is_call = |m: &xerra::xmpp::element::Element| m.name() == "message" && m.child("propose", "urn:xmpp:jingle-message:0").is_some();
	let is_hello = |m: &xerra::xmpp::element::Element| m.name() == "message" && m.child("body", "jabber:client").is_some();
	phone.wait_for(is_hello);
	phone.wait_for(is_call);
	desk.wait_for(is_call);
	desk.expect_none(Duration::from_millis(300), is_hello);
	hidden.expect_none(Duration::from_millis(300), is_call);
}
