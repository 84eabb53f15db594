//! The command line, with and without a running server.

mod common;

use std::time::Duration;

use common::client::Client;
use common::{PASSWORD, Server, cli};

fn temp_dir(name: &str) -> std::path::PathBuf {
	let d = std::env::temp_dir().join(format!("xerra-cli-{}-{name}", std::process::id()));
	let _ = std::fs::remove_dir_all(&d);
	d
}

#[test]
fn help_and_version() {
	let d = temp_dir("help");
	let (ok, out) = cli(&d, &["--help"], None);
	assert!(ok && out.contains("user add NAME") && out.contains("config list"), "{out}");
	for cmd in ["run", "user", "config", "status", "export", "import"] {
		let (ok, out) = cli(&d, &[cmd, "--help"], None);
		assert!(ok && out.starts_with("Usage: xerra"), "{cmd}: {out}");
	}
	let (ok, out) = cli(&d, &["--version"], None);
	assert!(ok && out.starts_with("xerra "), "{out}");
	let (ok, out) = cli(&d, &["frobnicate"], None);
	assert!(!ok && out.contains("unknown command"), "{out}");
	// Help never creates a database.
	assert!(!d.join("xerra.redb").exists());
}

#[test]
fn users_and_settings_without_a_server() {
	let d = temp_dir("offline");
	// Before setup there is no domain to put users in.
	let (ok, out) = cli(&d, &["user", "add", "Alice", "--password-stdin"], Some("pw1"));
	assert!(!ok && out.contains("not set up yet"), "{out}");
	let (ok, out) = cli(&d, &["config", "set", "domain", "localhost"], None);
	assert!(ok, "{out}");
	let (ok, out) = cli(&d, &["user", "add", "Alice", "--password-stdin"], Some("pw1"));
	assert!(ok && out.contains("created alice@localhost"), "{out}");
	let (ok, out) = cli(&d, &["user", "add", "alice", "--password-stdin"], Some("pw1"));
	assert!(!ok && out.contains("already exists"), "{out}");
	let (ok, out) = cli(&d, &["user", "add", "bad@name", "--password-stdin"], Some("pw1"));
	assert!(!ok && out.contains("invalid user name"), "{out}");
	let (ok, out) = cli(&d, &["user", "add", "bob", "--password-stdin"], Some(""));
	assert!(!ok && out.contains("empty"), "{out}");
	let (ok, out) = cli(&d, &["user", "passwd", "nobody", "--password-stdin"], Some("x"));
	assert!(!ok && out.contains("no user"), "{out}");
	let (ok, out) = cli(&d, &["config", "set", "domain", "chat.example.org"], None);
	assert!(ok, "{out}");
	let (ok, out) = cli(&d, &["config", "set", "c2s_port", "99999"], None);
	assert!(!ok && out.contains("between"), "{out}");
	let (ok, out) = cli(&d, &["config", "set", "no_such_thing", "1"], None);
	assert!(!ok && out.contains("unknown setting"), "{out}");
	let (ok, out) = cli(&d, &["config", "list"], None);
	assert!(ok && out.contains("domain = chat.example.org") && out.contains("max_stanza_bytes = 262144"), "{out}");
	let (ok, out) = cli(&d, &["user", "list"], None);
	assert!(ok && out.trim() == "alice@chat.example.org", "{out}");
	let (ok, out) = cli(&d, &["status"], None);
	assert!(ok && out.contains("running: no") && out.contains("accounts: 1"), "{out}");
	let (ok, out) = cli(&d, &["config", "unset", "max_stanza_bytes"], None);
	assert!(ok && out.contains("back to its default"), "{out}");
	let (ok, out) = cli(&d, &["config", "set", "domain", "localhost"], None);
	assert!(ok, "{out}");
	let (ok, out) = cli(&d, &["user", "del", "alice"], None);
	assert!(ok && out.contains("deleted alice@localhost"), "{out}");
	let (ok, out) = cli(&d, &["user", "list"], None);
	assert!(ok && out.trim().is_empty(), "{out}");
	// The password is not stored anywhere in the database file.
	cli(&d, &["user", "add", "carol", "--password-stdin"], Some("UniqueSecret123"));
	let db = std::fs::read(d.join("xerra.redb")).unwrap();
	assert!(!db.windows(15).any(|w| w == b"UniqueSecret123"));
	let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn import_creates_many_accounts_at_once() {
	let d = temp_dir("import");
	cli(&d, &["config", "set", "domain", "localhost"], None);
	cli(&d, &["user", "add", "carol", "--password-stdin"], Some("old"));
	let (ok, out) = cli(&d, &["user", "import", "-"], Some("# staff\nalice:pw:with:colons\n\nBob:pw2\ncarol:new"));
	assert!(ok && out.contains("created 2 accounts") && out.contains("already there, unchanged: carol"), "{out}");
	let (ok, out) = cli(&d, &["user", "list"], None);
	assert!(ok && out.lines().count() == 3, "{out}");
	// One bad line: nothing is written.
	let (ok, out) = cli(&d, &["user", "import", "-"], Some("dave:pw\nno password here"));
	assert!(!ok && out.contains("line 2"), "{out}");
	let (_, out) = cli(&d, &["user", "list"], None);
	assert!(!out.contains("dave"), "{out}");
	// The passwords work, the colon one included; a running server refuses imports.
	let s = Server::start_in(d.clone(), Vec::new());
	let mut c = Client::login(s.port, "alice", "pw:with:colons");
	assert_eq!(c.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
	let (ok, out) = s.cli(&["user", "import", "-"], Some("erin:pw"));
	assert!(!ok && out.contains("server is running"), "{out}");
}

#[test]
fn admin_commands_reach_the_running_server() {
	let s = Server::start(&[]);
	s.add_user("alice");
	s.add_user("bob");
	let mut a = s.online("alice");
	let mut b = s.online("bob");
	// Alice subscribes to bob, so bob has alice in his roster.
	a.send("<presence to='bob@example.test' type='subscribe'/>");
	b.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	b.send("<presence to='alice@example.test' type='subscribed'/>");
	a.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribed"));
	b.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	let (ok, out) = s.cli(&["status"], None);
	assert!(ok && out.contains("running: yes") && out.contains("sessions: 2"), "{out}");
	// A new password takes effect for the next login.
	let (ok, out) = s.cli(&["user", "passwd", "alice", "--password-stdin"], Some("new password"));
	assert!(ok, "{out}");
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	assert_eq!(c.plain("alice", PASSWORD), Err("not-authorized".into()));
	assert_eq!(c.plain("alice", "new password"), Ok(()));
	// Deleting alice ends her session and takes her out of bob's roster.
	let (ok, out) = s.cli(&["user", "del", "alice"], None);
	assert!(ok, "{out}");
	a.expect_stream_error("not-authorized");
	let push = b.wait_for(|e| e.name() == "iq" && e.attr("type") == Some("set"));
	let item = push.child("query", "jabber:iq:roster").unwrap().children().next().unwrap();
	assert_eq!((item.attr("jid"), item.attr("subscription")), (Some("alice@example.test"), Some("remove")));
	let (ok, out) = s.cli(&["user", "list"], None);
	assert!(ok && out.trim() == "bob@example.test", "{out}");
	b.expect_none(Duration::from_millis(200), |e| e.name() == "message");
}

/// Issue 11: an admin role on accounts, for what only admins may do from
/// their apps (invitations that make accounts).
#[test]
fn the_admin_role_is_given_and_taken_on_the_command_line() {
	let d = temp_dir("admins");
	cli(&d, &["config", "set", "domain", "localhost"], None);
	let (ok, out) = cli(&d, &["user", "add", "--admin", "boss", "--password-stdin"], Some("pw"));
	assert!(ok && out.contains("created boss@localhost") && out.contains("admin"), "{out}");
	cli(&d, &["user", "add", "alice", "--password-stdin"], Some("pw"));
	let (ok, out) = cli(&d, &["user", "list"], None);
	assert!(ok && out.lines().collect::<Vec<_>>() == ["alice@localhost", "boss@localhost (admin)"], "{out}");
	let (ok, out) = cli(&d, &["user", "admin", "alice", "on"], None);
	assert!(ok && out.contains("alice@localhost is an admin"), "{out}");
	let (ok, out) = cli(&d, &["user", "admin", "boss", "off"], None);
	assert!(ok && out.contains("boss@localhost is no admin"), "{out}");
	// A new password keeps the role.
	cli(&d, &["user", "passwd", "alice", "--password-stdin"], Some("new"));
	let (_, out) = cli(&d, &["user", "list"], None);
	assert_eq!(out.lines().collect::<Vec<_>>(), ["alice@localhost (admin)", "boss@localhost"], "{out}");
	let (ok, out) = cli(&d, &["user", "admin", "nobody", "on"], None);
	assert!(!ok && out.contains("no user"), "{out}");
	let (ok, out) = cli(&d, &["user", "admin", "alice", "maybe"], None);
	assert!(!ok && out.contains("on or off"), "{out}");
	// The same through a running server.
	let s = Server::start_in(d.clone(), vec!["domain=localhost".into()]);
	let (ok, out) = s.cli(&["user", "admin", "boss", "on"], None);
	assert!(ok && out.contains("boss@localhost is an admin"), "{out}");
	let (_, out) = s.cli(&["user", "list"], None);
	assert!(out.contains("boss@localhost (admin)"), "{out}");
}
