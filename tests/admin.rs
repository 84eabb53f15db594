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
}

/// A locked person's app that keeps logging in with the right password
/// must not get the office's address (or the account) throttled.
#[test]
fn a_locked_account_retrying_does_not_throttle_its_address() {
	let s = Server::start(&["auth_failures_per_ip=2", "auth_failures_per_account=2"]);
	s.add_user("alice");
	s.add_user("bob");
	assert!(s.cli(&["user", "lock", "alice"], None).0);
	for _ in 0..4 {
		assert_eq!(sasl_ready(&s).plain("alice", PASSWORD), Err("account-disabled".into()));
	}
	assert_eq!(sasl_ready(&s).plain("bob", PASSWORD), Ok(()));
	assert!(s.cli(&["user", "unlock", "alice"], None).0);
	assert_eq!(sasl_ready(&s).plain("alice", PASSWORD), Ok(()));
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

/// A TLS stream, not logged in, that showed an invitation token (XEP-0445).
fn with_token(s: &Server, token: &str) -> (Client, xerra::xmpp::element::Element) {
	let mut c = sasl_ready(s);
	let r = c.iq(&format!("<iq type='set'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></iq>"));
	(c, r)
}

fn register(c: &mut Client, user: &str) -> xerra::xmpp::element::Element {
	c.iq(&format!(
		"<iq type='set'><query xmlns='jabber:iq:register'><username>{user}</username><password>pw {user}</password></query></iq>"
	))
}

#[test]
fn a_multi_use_invitation_puts_newcomers_in_their_department_as_admins() {
	let s = Server::start(&[]);
	s.add_user("bob");
	assert!(s.cli(&["group", "add-member", "Sales", "bob"], None).0);
	let mut b = s.online("bob");
	b.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	let (ok, out) = s.cli(&["invite", "add", "--uses", "2", "--group", "Sales", "--admin", "--days", "3"], None);
	assert!(ok && out.contains("valid for 3 days, 2 times"), "{out}");
	let token = out.split("preauth=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
	for name in ["carol", "dave"] {
		let (mut c, r) = with_token(&s, &token);
		assert_eq!(r.attr("type"), Some("result"));
		assert_eq!(register(&mut c, name).attr("type"), Some("result"));
		// Bob's roster hears of the colleague at once, in the department's group.
		let push = b.wait_for(|e| e.name() == "iq" && e.attr("type") == Some("set"));
		let item = push.child("query", "jabber:iq:roster").unwrap().children().next().unwrap();
		assert_eq!(item.attr("jid"), Some(Server::jid(name).as_str()));
		assert_eq!(item.children().next().map(|g| g.text()), Some("Sales".into()));
	}
	// Used up after two.
	let (_, r) = with_token(&s, &token);
	assert_eq!(r.attr("type"), Some("error"));
	let (_, out) = s.cli(&["user", "list"], None);
	assert!(out.contains("carol@example.test (admin)") && out.contains("dave@example.test (admin)"), "{out}");
	assert!(s.cli(&["group", "list"], None).1.contains("carol@example.test"));
	// Listed and revoked.
	let (_, out) = s.cli(&["invite", "add"], None);
	let token = out.split("preauth=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
	let (ok, list) = s.cli(&["invite", "list"], None);
	assert!(ok && list.contains(&token) && list.contains("1 left"), "{list}");
	assert!(s.cli(&["invite", "revoke", &token], None).0);
	assert!(!s.cli(&["invite", "list"], None).1.contains(&token));
	let (_, r) = with_token(&s, &token);
	assert_eq!(r.attr("type"), Some("error"));
	let (ok, out) = s.cli(&["invite", "add", "--uses", "1000"], None);
	assert!(!ok && out.contains("max_invite_uses"), "{out}");
}

fn is_server_message(text: &'static str) -> impl Fn(&xerra::xmpp::element::Element) -> bool {
	move |e| {
		e.name() == "message"
			&& e.attr("from") == Some(common::DOMAIN)
			&& e.child("body", "jabber:client").is_some_and(|b| b.text() == text)
	}
}

#[test]
fn a_broadcast_reaches_everyone_online_or_everyone() {
	let s = Server::start(&[]);
	s.add_user("alice");
	s.add_user("bob");
	let mut a = s.online("alice");
	let (ok, out) = s.cli(&["broadcast", "The coffee machine is fixed"], None);
	assert!(ok && out.contains("sent to 1 sessions"), "{out}");
	a.wait_for(is_server_message("The coffee machine is fixed"));
	let (ok, out) = s.cli(&["broadcast", "--all", "Office closed on Friday"], None);
	assert!(ok && out.contains("sent to 1 sessions, stored for 1 people offline"), "{out}");
	a.wait_for(is_server_message("Office closed on Friday"));
	// Bob was offline: he finds only the one for everyone, when he comes.
	let mut b = s.login("bob");
	b.send("<presence/>");
	let m = b.wait_for(|e| e.name() == "message");
	assert!(is_server_message("Office closed on Friday")(&m), "{m:?}");
	assert!(m.child("delay", "urn:xmpp:delay").is_some());
	b.expect_none(Duration::from_millis(300), is_server_message("The coffee machine is fixed"));
	let (ok, out) = s.cli(&["broadcast", "  "], None);
	assert!(!ok && out.contains("1 to"), "{out}");
}

#[test]
fn the_message_of_the_day_greets_each_new_session_until_deleted() {
	let s = Server::start(&[]);
	s.add_user("alice");
	let (ok, out) = s.cli(&["motd", "set", "Backups run tonight"], None);
	assert!(ok && out.contains("set"), "{out}");
	assert_eq!(s.cli(&["motd", "show"], None).1.trim(), "Backups run tonight");
	let mut a = s.login("alice");
	a.send("<presence/>");
	a.wait_for(is_server_message("Backups run tonight"));
	let (ok, _) = s.cli(&["motd", "del"], None);
	assert!(ok);
	let mut a2 = s.login("alice");
	a2.send("<presence/>");
	a2.expect_none(Duration::from_millis(300), |e| e.name() == "message");
}

const COMMANDS: &str = "http://jabber.org/protocol/commands";
const ADMIN: &str = "http://jabber.org/protocol/admin";

fn command(c: &mut Client, node: &str, inner: &str) -> xerra::xmpp::element::Element {
	c.iq(&format!(
		"<iq type='set' to='{}'><command xmlns='{COMMANDS}' node='{ADMIN}#{node}' action='execute'>{inner}</command></iq>",
		common::DOMAIN
	))
}

fn submit(fields: &[(&str, &str)]) -> String {
	let mut x = format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{ADMIN}</value></field>");
	for (var, value) in fields {
		x.push_str(&format!("<field var='{var}'><value>{value}</value></field>"));
	}
	x + "</x>"
}

fn field_value(r: &xerra::xmpp::element::Element, var: &str) -> Option<String> {
	let x = r.child("command", COMMANDS)?.child("x", "jabber:x:data")?;
	x.children().find(|f| f.attr("var") == Some(var))?.children().next().map(|v| v.text())
}

#[test]
fn xep_0133_commands_are_for_admins_and_run_the_engine() {
	let s = Server::start(&[]);
	assert!(s.cli(&["user", "add", "--admin", "boss", "--password-stdin"], Some(PASSWORD)).0);
	s.add_user("bob");
	let mut boss = s.login("boss");
	let mut bob = s.login("bob");
	// Listed for admins only (XEP-0050 §2.2).
	let items = |c: &mut Client| {
		let r = c.iq(&format!(
			"<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#items' node='{COMMANDS}'/></iq>",
			common::DOMAIN
		));
		r.child("query", "http://jabber.org/protocol/disco#items")
			.unwrap()
			.children()
			.filter_map(|i| i.attr("node").map(str::to_owned))
			.collect::<Vec<_>>()
	};
	let listed = items(&mut boss);
	for node in [
		"add-user",
		"delete-user",
		"disable-user",
		"reenable-user",
		"change-user-password",
		"get-registered-users-num",
		"get-online-users-num",
		"get-online-users-list",
		"announce",
		"set-motd",
		"edit-motd",
		"delete-motd",
	] {
		assert!(listed.contains(&format!("{ADMIN}#{node}")), "{node} missing: {listed:?}");
	}
	assert!(!items(&mut bob).iter().any(|n| n.starts_with(ADMIN)));
	// A non-admin gets forbidden, even for the form.
	let r = command(&mut bob, "add-user", "");
	assert_eq!(common::client::error_condition(&r), "forbidden");
	// add-user: the form, then the submitted form.
	let r = command(&mut boss, "add-user", "");
	let c = r.child("command", COMMANDS).unwrap();
	assert_eq!(c.attr("status"), Some("executing"));
	assert!(field_value(&r, "FORM_TYPE").as_deref() == Some(ADMIN));
	let sid = c.attr("sessionid").unwrap().to_owned();
	let r = boss.iq(&format!(
		"<iq type='set' to='{}'><command xmlns='{COMMANDS}' node='{ADMIN}#add-user' sessionid='{sid}' action='complete'>{}</command></iq>",
		common::DOMAIN,
		submit(&[("accountjid", "carol@example.test"), ("password", "carol pw"), ("password-verify", "carol pw")])
	));
	assert_eq!(r.child("command", COMMANDS).and_then(|c| c.attr("status")), Some("completed"), "{r:?}");
	let _ = Client::login(s.port, "carol", "carol pw");
	// The engine's errors, as XMPP conditions.
	let r = command(&mut boss, "add-user", &submit(&[("accountjid", "carol@example.test"), ("password", "x")]));
	assert_eq!(common::client::error_condition(&r), "conflict");
	let r = command(&mut boss, "delete-user", &submit(&[("accountjids", "boss@example.test")]));
	assert_eq!(common::client::error_condition(&r), "forbidden", "an admin may not delete itself");
	let r = command(&mut boss, "get-registered-users-num", "");
	assert_eq!(field_value(&r, "registeredusersnum").as_deref(), Some("3"));
	let r = command(&mut boss, "get-online-users-num", "");
	assert_eq!(field_value(&r, "onlineusersnum").as_deref(), Some("2"));
	let r = command(&mut boss, "get-online-users-list", &submit(&[("max_items", "100")]));
	let x = r.child("command", COMMANDS).unwrap().child("x", "jabber:x:data").unwrap();
	let f = x.children().find(|f| f.attr("var") == Some("onlineuserjids")).unwrap();
	let jids: Vec<String> = f.children().map(|v| v.text()).collect();
	assert_eq!(jids, ["bob@example.test", "boss@example.test"]);
	// disable-user locks, reenable-user unlocks.
	let r = command(&mut boss, "disable-user", &submit(&[("accountjids", "carol@example.test")]));
	assert_eq!(r.child("command", COMMANDS).and_then(|c| c.attr("status")), Some("completed"));
	assert_eq!(sasl_ready(&s).plain("carol", "carol pw"), Err("account-disabled".into()));
	command(&mut boss, "reenable-user", &submit(&[("accountjids", "carol@example.test")]));
	assert_eq!(sasl_ready(&s).plain("carol", "carol pw"), Ok(()));
	command(&mut boss, "change-user-password", &submit(&[("accountjid", "carol@example.test"), ("password", "new pw")]));
	assert_eq!(sasl_ready(&s).plain("carol", "new pw"), Ok(()));
	// announce reaches sessions online; the motd is set, edited (its form shows it) and deleted.
	command(&mut boss, "announce", &submit(&[("announcement", "Fire drill at 3")]));
	bob.wait_for(is_server_message("Fire drill at 3"));
	command(&mut boss, "set-motd", &submit(&[("motd", "Welcome back")]));
	assert_eq!(s.cli(&["motd", "show"], None).1.trim(), "Welcome back");
	let r = command(&mut boss, "edit-motd", "");
	assert_eq!(field_value(&r, "motd").as_deref(), Some("Welcome back"));
	let r = command(&mut boss, "delete-motd", "");
	assert_eq!(r.child("command", COMMANDS).and_then(|c| c.attr("status")), Some("completed"));
	assert_eq!(s.cli(&["motd", "show"], None).1.trim(), "");
	let r = command(&mut boss, "delete-user", &submit(&[("accountjids", "carol@example.test")]));
	assert_eq!(r.child("command", COMMANDS).and_then(|c| c.attr("status")), Some("completed"));
	assert!(!s.cli(&["user", "list"], None).1.contains("carol"));
}
