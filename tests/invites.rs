//! Onboarding without passwords over real sockets: XEP-0401 invitations
//! from the admin and from users (XEP-0050 command), XEP-0445 registration
//! with a token, XEP-0379 pre-approved contacts, and the registration modes.

mod common;

use std::time::Duration;

use common::client::error_condition;
use common::{Client, DOMAIN, PASSWORD, ROSTER, Server, server_with_users};
use xerra::xmpp::element::Element;

const REGISTER: &str = "jabber:iq:register";

/// A TLS stream, not logged in: where registration happens.
fn fresh(s: &Server) -> (Client, Element) {
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	let features = c.open();
	(c, features)
}

fn token_of(uri: &str) -> String {
	uri.split("preauth=").nth(1).unwrap().split([';', '\n', ' ']).next().unwrap().trim().to_owned()
}

fn preauth(c: &mut Client, token: &str) -> Element {
	c.iq(&format!("<iq type='set'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></iq>"))
}

fn register(c: &mut Client, user: &str, password: &str) -> Element {
	c.iq(&format!("<iq type='set'><query xmlns='{REGISTER}'><username>{user}</username><password>{password}</password></query></iq>"))
}

fn roster(c: &mut Client) -> Vec<(String, String)> {
	let r = c.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	r.child("query", ROSTER)
		.unwrap()
		.children()
		.map(|i| (i.attr("jid").unwrap().to_owned(), i.attr("subscription").unwrap().to_owned()))
		.collect()
}

#[test]
fn an_admin_invitation_registers_one_account() {
	let s = server_with_users(&["alice"], &[]);
	let (ok, out) = s.cli(&["invite", "add"], None);
	assert!(ok && out.starts_with(&format!("xmpp:{DOMAIN}?register;preauth=")), "{out}");
	let token = token_of(&out);

	let (mut c, features) = fresh(&s);
	assert!(features.child("register", "http://jabber.org/features/iq-register").is_some());
	// Without a token: no registration (the default mode is invite).
	assert_eq!(error_condition(&register(&mut c, "newbie", "secret words")), "not-allowed");
	assert_eq!(error_condition(&preauth(&mut c, "not-a-token")), "item-not-found");
	assert_eq!(preauth(&mut c, &token).attr("type"), Some("result"));
	let form = c.iq(&format!("<iq type='get'><query xmlns='{REGISTER}'/></iq>"));
	assert!(form.child("query", REGISTER).unwrap().child("username", REGISTER).is_some());
	// A taken name: conflict, and the token still works for another.
	assert_eq!(error_condition(&register(&mut c, "alice", "secret words")), "conflict");
	let r = register(&mut c, "Newbie", "secret words");
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	// Then SASL as usual, on this stream or any other.
	c.scram("newbie", "secret words", "SCRAM-SHA-256").expect("the new account logs in");
	let _ = Client::login(s.port, "newbie", "secret words");
	// Used up.
	let (mut c, _) = fresh(&s);
	assert_eq!(error_condition(&preauth(&mut c, &token)), "item-not-found");
	assert!(s.cli(&["user", "list"], None).1.contains(&format!("newbie@{DOMAIN}")));
}

/// Runs the XEP-0050 "Invite someone" command; the answer.
fn invite_command(c: &mut Client) -> Element {
	c.iq(&format!(
		"<iq type='set' to='{DOMAIN}'><command xmlns='http://jabber.org/protocol/commands' node='urn:xmpp:invite#invite' action='execute'/></iq>"
	))
}

/// The invitation URI in a completed command's answer.
fn uri_of(answer: &Element) -> String {
	let xml = answer.to_xml("jabber:client");
	assert!(xml.contains("status='completed'"), "{xml}");
	xml.split("<value>").filter_map(|v| v.split("</value>").next()).find(|v| v.starts_with("xmpp:")).unwrap().to_owned()
}

#[test]
fn a_contact_invitation_makes_friends_old_and_new() {
	let s = server_with_users(&["alice", "bob"], &[]);
	// Invitations that make accounts come from admins.
	let (ok, out) = s.cli(&["user", "admin", "alice", "on"], None);
	assert!(ok, "{out}");
	let mut alice = s.online("alice");
	assert!(roster(&mut alice).is_empty());
	// Users find the command and run it (XEP-0050).
	let items = alice.iq(&format!(
		"<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>"
	));
	assert!(items.to_xml("jabber:client").contains("urn:xmpp:invite#invite"));
	let run = |c: &mut Client| {
		let uri = uri_of(&invite_command(c));
		assert!(uri.starts_with(&format!("xmpp:alice@{DOMAIN}?roster;preauth=")) && uri.ends_with(";ibr=y"), "{uri}");
		token_of(&uri)
	};

	// A newcomer registers with it and is alice's contact at once.
	let token = run(&mut alice);
	let (mut c, _) = fresh(&s);
	preauth(&mut c, &token);
	assert_eq!(register(&mut c, "carol", "carol's words").attr("type"), Some("result"));
	let push = alice.wait_for(|e| e.name() == "iq" && e.attr("type") == Some("set") && e.child("query", ROSTER).is_some());
	assert!(push.to_xml("jabber:client").contains("subscription='both'"));
	let mut carol = Client::login(s.port, "carol", "carol's words");
	assert_eq!(roster(&mut carol), [(Server::jid("alice"), "both".to_owned())]);

	// Someone with an account subscribes with a token: approved without asking.
	let token = run(&mut alice);
	let mut bob = s.online("bob");
	bob.send(&format!(
		"<presence to='{}' type='subscribe'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></presence>",
		Server::jid("alice")
	));
	bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribed"));
	std::thread::sleep(Duration::from_millis(300));
	assert!(roster(&mut bob).contains(&(Server::jid("alice"), "both".to_owned())));
	let r = roster(&mut alice);
	assert!(r.contains(&(Server::jid("bob"), "both".to_owned())), "{r:?}");
	alice.expect_none(Duration::from_millis(200), |e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	// A token works once: a second request with it is an ordinary one.
	let mut eve = Client::login(s.port, "bob", PASSWORD);
	eve.send(&format!("<presence to='{}' type='unsubscribe'/>", Server::jid("alice")));
	std::thread::sleep(Duration::from_millis(200));
	eve.send(&format!(
		"<presence to='{}' type='subscribe'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></presence>",
		Server::jid("alice")
	));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
}

/// Issue 11: any user could mint invitations that make accounts (200 in
/// 0.2 s, each good for a registration in `registration=invite`). A user's
/// invitation now only makes contacts (XEP-0379, no `ibr=y`), and a user
/// has at most `max_invites_per_account` open at once.
#[test]
fn a_users_invitation_makes_a_contact_but_no_account() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut alice = s.online("alice");
	let uri = uri_of(&invite_command(&mut alice));
	assert!(uri.starts_with(&format!("xmpp:alice@{DOMAIN}?roster;preauth=")) && !uri.contains("ibr"), "{uri}");
	let token = token_of(&uri);
	let (mut c, _) = fresh(&s);
	assert_eq!(error_condition(&preauth(&mut c, &token)), "not-allowed");
	assert_eq!(error_condition(&register(&mut c, "mallory", "mallory's words")), "not-allowed");
	// It still makes bob alice's contact without asking her.
	let mut bob = s.online("bob");
	bob.send(&format!(
		"<presence to='{}' type='subscribe'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></presence>",
		Server::jid("alice")
	));
	bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribed"));
	// Ten open invitations at most (the default); the eleventh waits.
	for _ in 0..10 {
		uri_of(&invite_command(&mut alice));
	}
	assert_eq!(error_condition(&invite_command(&mut alice)), "resource-constraint");
	assert!(!s.cli(&["user", "list"], None).1.contains("mallory"));
}

/// XEP-0445 §3: clients (Conversations, Gajim) register with an invitation
/// only if the server announces `<register xmlns='urn:xmpp:ibr-token:0'/>`
/// (issue 12); it is announced wherever a token can register.
#[test]
fn the_invitation_stream_feature_is_announced_where_tokens_register() {
	const IBR_TOKEN: &str = "urn:xmpp:ibr-token:0";
	for (mode, announced) in [("invite", true), ("open", true), ("off", false)] {
		let s = server_with_users(&["alice"], &[&format!("registration={mode}")]);
		let (_c, features) = fresh(&s);
		assert_eq!(features.child("register", IBR_TOKEN).is_some(), announced, "{mode}: {}", features.to_xml("jabber:client"));
		// Not after authentication: registering is over by then.
		let c = s.login("alice");
		let after = c.features.clone().expect("features after SASL");
		assert!(after.child("register", IBR_TOKEN).is_none(), "{mode}");
	}
	// The whole flow of §4 with an admin's invitation and an open one.
	let s = server_with_users(&["alice"], &[]);
	let token = token_of(&s.cli(&["invite", "add"], None).1);
	let (mut c, features) = fresh(&s);
	assert!(features.child("register", IBR_TOKEN).is_some());
	c.send(&format!("<iq type='set' to='{DOMAIN}' id='pa1'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></iq>"));
	let ok = c.wait_for(|e| e.attr("id") == Some("pa1"));
	assert_eq!(ok.attr("type"), Some("result"), "{}", ok.to_xml("jabber:client"));
	// Not used up until registration succeeds: another stream may show it too.
	let (mut other, _) = fresh(&s);
	assert_eq!(preauth(&mut other, &token).attr("type"), Some("result"));
	assert_eq!(register(&mut c, "juliet", "balcony words").attr("type"), Some("result"));
	assert_eq!(error_condition(&register(&mut other, "romeo", "other words")), "not-allowed");
}

/// XEP-0445 §4: a token's expiry is checked when it is shown, and the
/// registration that follows on that stream is not refused for expiry.
#[test]
fn a_token_shown_in_time_still_registers_after_it_expires() {
	use std::time::{SystemTime, UNIX_EPOCH};
	let mut s = server_with_users(&["alice"], &[]);
	s.stop();
	// An invitation that ends 10 s from now (the CLI counts in days).
	let store = xerra::store::Store::open(&s.dir, 1 << 20).unwrap();
	let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 10;
	let invite = xerra::store::Invite { inviter: None, expires, registers: true, ..Default::default() };
	store.write_blocking(move |tx| tx.create_invite("soon-gone", &invite)).unwrap();
	// Closed before the server opens it: a dropped store lets go of the file lock only later.
	store.shutdown();
	drop(store);
	let s = s.restart();
	let (mut c, _) = fresh(&s);
	assert_eq!(preauth(&mut c, "soon-gone").attr("type"), Some("result"));
	while SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() <= expires + 1 {
		std::thread::sleep(Duration::from_millis(200));
	}
	let r = register(&mut c, "late", "late words");
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	// Shown after its end, it is refused, and used up it is gone.
	let (mut c, _) = fresh(&s);
	assert_eq!(error_condition(&preauth(&mut c, "soon-gone")), "item-not-found");
}

#[test]
fn registration_modes_and_throttle() {
	let s = server_with_users(&["alice"], &["registration=off"]);
	let (mut c, features) = fresh(&s);
	assert!(features.child("register", "http://jabber.org/features/iq-register").is_none());
	c.send(&format!("<iq type='get' id='r1'><query xmlns='{REGISTER}'/></iq>"));
	c.expect_stream_error("not-authorized");
	drop(s);
	let s = server_with_users(&["alice"], &["registration=open", "auth_failures_per_ip=3"]);
	let (mut c, _) = fresh(&s);
	assert_eq!(register(&mut c, "walkin", "walk in words").attr("type"), Some("result"));
	let _ = Client::login(s.port, "walkin", "walk in words");
	// Every attempt counts against auth_failures_per_ip (3 here).
	assert_eq!(error_condition(&register(&mut c, "walkin", "other words")), "conflict");
	assert_eq!(register(&mut c, "third", "third words").attr("type"), Some("result"));
	assert_eq!(error_condition(&register(&mut c, "fourth", "fourth words")), "policy-violation");
}

/// XEP-0077 §3.3 and §3.2 for a logged-in account: whatever `registration`
/// says, people change the password the wizard gave them, or leave.
#[test]
fn accounts_change_their_password_and_remove_themselves_in_band() {
	let s = server_with_users(&["alice", "bob"], &["registration=off"]);
	assert!(s.cli(&["group", "add", "Team"], None).0);
	for n in ["alice", "bob"] {
		assert!(s.cli(&["group", "add-member", "Team", n], None).0);
	}
	let mut alice = s.online("alice");
	let info = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	assert!(info.to_xml("jabber:client").contains(REGISTER), "announced");
	let r = alice.iq(&format!("<iq type='get'><query xmlns='{REGISTER}'/></iq>"));
	let q = r.child("query", REGISTER).unwrap();
	assert!(q.child("registered", REGISTER).is_some());
	assert_eq!(q.child("username", REGISTER).map(|u| u.text()).as_deref(), Some("alice"));
	// Someone else's password, an empty one: refused.
	assert_eq!(error_condition(&register(&mut alice, "bob", "x")), "not-allowed");
	assert_eq!(error_condition(&register(&mut alice, "alice", "")), "not-acceptable");
	assert_eq!(register(&mut alice, "alice", "a new secret").attr("type"), Some("result"));
	// The old password no longer works, the new one does.
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	assert!(c.scram("alice", PASSWORD, "SCRAM-SHA-256").is_err());
	let mut again = Client::login(s.port, "alice", "a new secret");
	// Removal: the answer, then the stream ends; contacts see alice go.
	let mut bob = s.online("bob");
	assert_eq!(roster(&mut bob).len(), 1, "alice is bob's contact");
	bob.drain(Duration::from_millis(200));
	drop(alice);
	let r = again.iq(&format!("<iq type='set'><query xmlns='{REGISTER}'><remove/></query></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	again.expect_stream_error("not-authorized");
	bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unavailable"));
	let push = bob.wait_for(|e| e.name() == "iq" && e.attr("type") == Some("set"));
	let push = push.to_xml("jabber:client");
	assert!(push.contains(&Server::jid("alice")) && push.contains("subscription='remove'"), "{push}");
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	assert!(c.scram("alice", "a new secret", "SCRAM-SHA-256").is_err(), "the account is gone");
}
