//! XEP-0045 rooms over real sockets: joining, talking, history, subject,
//! private messages, nick changes, configuration, members-only, passwords,
//! moderation, kick and ban, invitations, self-ping, the room archive,
//! persistence across restarts, destruction and the limits.

mod common;

use std::time::Duration;

use common::client::error_condition;
use common::{Client, DOMAIN, Server, server_with_users};
use xerra::xmpp::element::Element;

const MUC: &str = "http://jabber.org/protocol/muc";
const USER: &str = "http://jabber.org/protocol/muc#user";
const OWNER: &str = "http://jabber.org/protocol/muc#owner";
const ADMIN: &str = "http://jabber.org/protocol/muc#admin";

fn rooms() -> String {
	format!("rooms.{DOMAIN}")
}

fn room(name: &str) -> String {
	format!("{name}@{}", rooms())
}

fn codes(e: &Element) -> Vec<String> {
	e.child("x", USER)
		.map(|x| x.children().filter(|c| c.name() == "status").map(|c| c.attr("code").unwrap().to_owned()).collect())
		.unwrap_or_default()
}

fn item(e: &Element) -> Element {
	e.child("x", USER).and_then(|x| x.child("item", USER)).cloned().unwrap_or_else(|| panic!("no item in {}", e.to_xml("jabber:client")))
}

/// Joins; returns everything received up to and including the subject.
fn join(c: &mut Client, name: &str, nick: &str, inner: &str) -> Vec<Element> {
	c.send(&format!("<presence to='{}/{nick}'><x xmlns='{MUC}'>{inner}</x></presence>", room(name)));
	let mut got = Vec::new();
	loop {
		let e = c.wait_for(|_| true);
		let done = e.name() == "message" && e.child("subject", "jabber:client").is_some();
		let failed = e.attr("type") == Some("error");
		got.push(e);
		if done || failed {
			return got;
		}
	}
}

fn join_error(c: &mut Client, name: &str, nick: &str, inner: &str) -> String {
	let got = join(c, name, nick, inner);
	let last = got.last().unwrap();
	assert_eq!(last.attr("type"), Some("error"), "{}", last.to_xml("jabber:client"));
	error_condition(last)
}

fn say(c: &mut Client, name: &str, body: &str) {
	c.send(&format!("<message to='{}' type='groupchat'><body>{body}</body></message>", room(name)));
}

fn is_groupchat(body: &'static str) -> impl Fn(&Element) -> bool {
	move |e| {
		e.name() == "message" && e.attr("type") == Some("groupchat") && e.child("body", "jabber:client").is_some_and(|b| b.text() == body)
	}
}

fn from_nick(e: &Element, name: &str, nick: &str) -> bool {
	e.attr("from") == Some(format!("{}/{nick}", room(name)).as_str())
}

fn configure(c: &mut Client, name: &str, fields: &[(&str, &str)]) -> Element {
	let mut x = String::from(
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>",
	);
	for (var, v) in fields {
		x.push_str(&format!("<field var='{var}'><value>{v}</value></field>"));
	}
	x.push_str("</x>");
	c.iq(&format!("<iq type='set' to='{}'><query xmlns='{OWNER}'>{x}</query></iq>", room(name)))
}

fn admin(c: &mut Client, name: &str, item: &str) -> Element {
	c.iq(&format!("<iq type='set' to='{}'><query xmlns='{ADMIN}'>{item}</query></iq>", room(name)))
}

#[test]
fn join_talk_history_subject_nick_and_leave() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut alice = s.login("alice");
	// The service is listed by the server and says what it is.
	let items = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
	assert!(items.to_xml("jabber:client").contains(&rooms()));
	let info = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", rooms()));
	assert!(info.to_xml("jabber:client").contains("category='conference'"));

	let got = join(&mut alice, "team", "Alice", "");
	let own = got.iter().find(|e| e.name() == "presence" && codes(e).contains(&"110".to_owned())).unwrap();
	assert!(codes(own).contains(&"201".to_owned()), "a new room says so");
	assert_eq!(item(own).attr("affiliation"), Some("owner"));
	assert_eq!(item(own).attr("role"), Some("moderator"));
	alice.send(&format!("<message to='{}' type='groupchat'><subject>Q4 plans</subject></message>", room("team")));
	alice.wait_for(|e| e.child("subject", "jabber:client").is_some_and(|s| s.text() == "Q4 plans"));
	say(&mut alice, "team", "hello");
	let echo = alice.wait_for(is_groupchat("hello"));
	assert!(from_nick(&echo, "team", "Alice"));
	assert!(echo.child("stanza-id", "urn:xmpp:sid:0").is_some_and(|i| i.attr("by") == Some(room("team").as_str())));

	// bob joins: occupants, himself (110), history with delay, then the subject.
	let mut bob = s.login("bob");
	let got = join(&mut bob, "team", "Bob", "<history maxstanzas='10'/>");
	let alice_seen = got.iter().find(|e| e.name() == "presence" && from_nick(e, "team", "Alice")).unwrap();
	assert_eq!(item(alice_seen).attr("jid"), None, "semi-anonymous: participants do not see real JIDs");
	let hist = got.iter().find(|e| is_groupchat("hello")(e)).expect("history");
	assert!(hist.child("delay", "urn:xmpp:delay").is_some());
	assert_eq!(got.last().unwrap().child("subject", "jabber:client").unwrap().text(), "Q4 plans");
	let bob_seen = alice.wait_for(|e| e.name() == "presence" && from_nick(e, "team", "Bob"));
	assert!(item(&bob_seen).attr("jid").unwrap().starts_with("bob@"), "moderators see real JIDs");

	// Nicks are unique, and needed.
	let mut carol = s.login("carol");
	assert_eq!(join_error(&mut carol, "team", "Bob", ""), "conflict");
	carol.send(&format!("<presence to='{}'><x xmlns='{MUC}'/></presence>", room("team")));
	let e = carol.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&e), "jid-malformed");
	// A message to a room one is not in, and to a room that does not exist.
	carol.send(&format!("<message to='{}' type='groupchat'><body>hi</body></message>", room("team")));
	assert_eq!(error_condition(&carol.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"))), "not-acceptable");
	carol.send(&format!("<message to='{}' type='groupchat'><body>hi</body></message>", room("nowhere")));
	assert_eq!(error_condition(&carol.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"))), "item-not-found");

	// Talking, private messages, a nick change.
	say(&mut bob, "team", "hi all");
	alice.wait_for(is_groupchat("hi all"));
	bob.send(&format!("<message to='{}/Alice' type='chat'><body>psst</body></message>", room("team")));
	let pm = alice.wait_for(|e| e.child("body", "jabber:client").is_some_and(|b| b.text() == "psst"));
	assert!(from_nick(&pm, "team", "Bob") && pm.child("x", USER).is_some());
	bob.send(&format!("<presence to='{}/Robert'/>", room("team")));
	let left = alice.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Bob"));
	assert!(codes(&left).contains(&"303".to_owned()));
	assert_eq!(item(&left).attr("nick"), Some("Robert"));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type").is_none() && from_nick(e, "team", "Robert"));

	// A disconnect leaves the room; the last one out ends a temporary room.
	drop(bob);
	alice.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Robert"));
	alice.send(&format!("<presence to='{}/Alice' type='unavailable'/>", room("team")));
	let me = alice.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Alice"));
	assert!(codes(&me).contains(&"110".to_owned()));
	let r = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", room("team")));
	assert_eq!(error_condition(&r), "item-not-found");
}

#[test]
fn members_only_invitations_moderation_kick_ban_and_persistence() {
	let s = server_with_users(&["alice", "bob", "carol", "dave"], &[]);
	let mut alice = s.login("alice");
	join(&mut alice, "board", "Alice", "");
	let r = configure(
		&mut alice,
		"board",
		&[("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_membersonly", "1"), ("muc#roomconfig_roomname", "The Board")],
	);
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	alice.wait_for(|e| e.name() == "message" && codes(e).contains(&"104".to_owned()));
	// Only owners configure.
	let mut carol = s.online("carol");
	let r = carol.iq(&format!("<iq type='get' to='{}'><query xmlns='{OWNER}'/></iq>", room("board")));
	assert_eq!(error_condition(&r), "forbidden");
	assert_eq!(join_error(&mut carol, "board", "Carol", ""), "registration-required");

	// A mediated invitation from the owner makes carol a member.
	alice.send(&format!(
		"<message to='{}'><x xmlns='{USER}'><invite to='{}'><reason>join us</reason></invite></x></message>",
		room("board"),
		Server::jid("carol")
	));
	let inv = carol.wait_for(|e| e.child("x", USER).is_some_and(|x| x.child("invite", USER).is_some()));
	assert_eq!(inv.attr("from"), Some(room("board").as_str()));
	let got = join(&mut carol, "board", "Carol", "");
	assert_eq!(got.last().unwrap().attr("type"), Some("groupchat"));
	say(&mut carol, "board", "thanks");
	alice.wait_for(is_groupchat("thanks"));

	// Membership by the admin list; kick and ban.
	assert_eq!(
		admin(&mut alice, "board", &format!("<item jid='{}' affiliation='member'/>", Server::jid("bob"))).attr("type"),
		Some("result")
	);
	let list = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='{ADMIN}'><item affiliation='member'/></query></iq>", room("board")));
	let members = list.to_xml("jabber:client");
	assert!(members.contains("bob@") && members.contains("carol@"), "{members}");
	let mut bob = s.login("bob");
	join(&mut bob, "board", "Bob", "");
	// carol (a member, not a moderator) may not kick.
	assert_eq!(error_condition(&admin(&mut carol, "board", "<item nick='Bob' role='none'/>")), "not-allowed");
	assert_eq!(admin(&mut alice, "board", "<item nick='Bob' role='none'><reason>cool off</reason></item>").attr("type"), Some("result"));
	let kicked = bob.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "board", "Bob"));
	assert!(codes(&kicked).contains(&"307".to_owned()) && codes(&kicked).contains(&"110".to_owned()));
	join(&mut bob, "board", "Bob", "");
	let r = admin(&mut alice, "board", &format!("<item jid='{}' affiliation='outcast'/>", Server::jid("bob")));
	assert_eq!(r.attr("type"), Some("result"));
	let banned = bob.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "board", "Bob"));
	assert!(codes(&banned).contains(&"301".to_owned()));
	assert_eq!(join_error(&mut bob, "board", "Bob", ""), "forbidden");
	// The only owner cannot step down.
	assert_eq!(
		error_condition(&admin(&mut alice, "board", &format!("<item jid='{}' affiliation='member'/>", Server::jid("alice")))),
		"conflict"
	);

	// XEP-0410 self-ping.
	let ping =
		|c: &mut Client, nick: &str| c.iq(&format!("<iq type='get' to='{}/{nick}'><ping xmlns='urn:xmpp:ping'/></iq>", room("board")));
	assert_eq!(ping(&mut carol, "Carol").attr("type"), Some("result"));
	assert_eq!(error_condition(&ping(&mut bob, "Bob")), "not-acceptable");

	// The room, its members and its history survive a restart.
	drop((alice, bob, carol));
	let s = s.restart();
	let mut carol = s.login("carol");
	let got = join(&mut carol, "board", "Carol", "");
	assert!(got.iter().any(|e| is_groupchat("thanks")(e)), "history after a restart");
	let info = carol.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", room("board")));
	let info = info.to_xml("jabber:client");
	assert!(info.contains("muc_persistent") && info.contains("muc_membersonly") && info.contains("The Board"), "{info}");
	// The room archive (XEP-0313) for its members.
	let r = carol.iq(&format!("<iq type='set' to='{}'><query xmlns='urn:xmpp:mam:2' queryid='r1'/></iq>", room("board")));
	assert_eq!(r.attr("type"), Some("result"));
	let mut dave = s.login("dave");
	let r = dave.iq(&format!("<iq type='set' to='{}'><query xmlns='urn:xmpp:mam:2'/></iq>", room("board")));
	assert_eq!(error_condition(&r), "forbidden");

	// The owner destroys it; occupants are told; it stays gone.
	let mut alice = s.login("alice");
	join(&mut alice, "board", "Alice", "");
	let r = alice
		.iq(&format!("<iq type='set' to='{}'><query xmlns='{OWNER}'><destroy><reason>done</reason></destroy></query></iq>", room("board")));
	assert_eq!(r.attr("type"), Some("result"));
	let d =
		carol.wait_for(|e| e.attr("type") == Some("unavailable") && e.child("x", USER).is_some_and(|x| x.child("destroy", USER).is_some()));
	assert!(d.to_xml("jabber:client").contains("done"));
	drop((alice, carol, dave));
	let s = s.restart();
	let mut alice = s.login("alice");
	let r = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", room("board")));
	assert_eq!(error_condition(&r), "item-not-found");
}

#[test]
fn passwords_moderation_hidden_rooms_and_limits() {
	let s = server_with_users(&["alice", "bob", "carol"], &["muc_max_rooms=2", "muc_max_occupants=2", "muc_history_messages=2"]);
	let mut alice = s.login("alice");
	join(&mut alice, "vault", "Alice", "");
	let r = configure(
		&mut alice,
		"vault",
		&[
			("muc#roomconfig_passwordprotectedroom", "1"),
			("muc#roomconfig_roomsecret", "open sesame"),
			("muc#roomconfig_moderatedroom", "1"),
			("muc#roomconfig_publicroom", "0"),
		],
	);
	assert_eq!(r.attr("type"), Some("result"));
	for i in 0..3 {
		say(&mut alice, "vault", &format!("m{i}"));
	}
	// Handled (each waits for its archive commit) before bob joins.
	alice.wait_for(is_groupchat("m2"));
	let mut bob = s.login("bob");
	assert_eq!(join_error(&mut bob, "vault", "Bob", ""), "not-authorized");
	let got = join(&mut bob, "vault", "Bob", "<password>open sesame</password>");
	let hist: Vec<String> = got
		.iter()
		.filter(|e| e.child("delay", "urn:xmpp:delay").is_some())
		.map(|e| e.child("body", "jabber:client").unwrap().text())
		.collect();
	assert_eq!(hist, ["m1", "m2"], "muc_history_messages");
	// Moderated: bob is a visitor until given voice.
	let own = got.iter().find(|e| e.name() == "presence" && codes(e).contains(&"110".to_owned())).unwrap();
	assert_eq!(item(own).attr("role"), Some("visitor"));
	say(&mut bob, "vault", "may I?");
	let e = bob.wait_for(|e| e.attr("type") == Some("error"));
	assert_eq!(error_condition(&e), "forbidden");
	assert_eq!(admin(&mut alice, "vault", "<item nick='Bob' role='participant'/>").attr("type"), Some("result"));
	bob.wait_for(|e| e.name() == "presence" && from_nick(e, "vault", "Bob") && item(e).attr("role") == Some("participant"));
	say(&mut bob, "vault", "thank you");
	alice.wait_for(is_groupchat("thank you"));
	// Hidden rooms are not listed; full rooms refuse more.
	let items = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>", rooms()));
	assert!(!items.to_xml("jabber:client").contains("vault@"));
	let mut carol = s.login("carol");
	assert_eq!(join_error(&mut carol, "vault", "Carol", "<password>open sesame</password>"), "service-unavailable");
	// muc_max_rooms = 2.
	join(&mut carol, "second", "Carol", "");
	assert_eq!(join_error(&mut carol, "third", "Carol", ""), "not-allowed");
	carol.expect_none(Duration::from_millis(100), |_| false);
}

#[test]
fn voice_requests_and_registration_with_reserved_nicks() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut alice = s.online("alice");
	let mut bob = s.online("bob");
	let mut carol = s.online("carol");
	join(&mut alice, "town", "alice", "");
	let r = configure(&mut alice, "town", &[("muc#roomconfig_moderatedroom", "1"), ("muc#roomconfig_persistentroom", "1")]);
	assert_eq!(r.attr("type"), Some("result"));

	// §7.10: bob registers, becomes a member, and his nick is reserved.
	let form = bob.iq(&format!("<iq type='get' to='{}'><query xmlns='jabber:iq:register'/></iq>", room("town")));
	assert!(form.to_xml("jabber:client").contains("muc#register_roomnick"), "{form:?}");
	let submit = |nick: &str| {
		format!(
			"<iq type='set' to='{}'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>\
			 <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>\
			 <field var='muc#register_roomnick'><value>{nick}</value></field></x></query></iq>",
			room("town")
		)
	};
	assert_eq!(bob.iq(&submit("Bobby")).attr("type"), Some("result"));
	let again = bob.iq(&format!("<iq type='get' to='{}'><query xmlns='jabber:iq:register'/></iq>", room("town")));
	let xml = again.to_xml("jabber:client");
	assert!(xml.contains("<registered/>") && xml.contains("Bobby"), "{xml}");
	let members =
		alice.iq(&format!("<iq type='get' to='{}'><query xmlns='{ADMIN}'><item affiliation='member'/></query></iq>", room("town")));
	assert!(members.to_xml("jabber:client").contains(&Server::jid("bob")), "{members:?}");
	// §7.12: the reserved nick can be looked up; nobody else gets it.
	let nick = bob.iq(&format!(
		"<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>",
		room("town")
	));
	assert!(nick.to_xml("jabber:client").contains("name='Bobby'"), "{nick:?}");
	assert_eq!(error_condition(&carol.iq(&submit("Bobby"))), "conflict");
	assert_eq!(join_error(&mut carol, "town", "Bobby", ""), "conflict");

	// An occupant's vCard, through the room (real JIDs stay hidden).
	let card = alice.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice Adams</FN></vCard></iq>");
	assert_eq!(card.attr("type"), Some("result"));
	join(&mut bob, "town", "Bobby", "");
	let v = bob.iq(&format!("<iq type='get' to='{}/alice'><vCard xmlns='vcard-temp'/></iq>", room("town")));
	assert!(v.to_xml("jabber:client").contains("Alice Adams"), "{v:?}");
	assert_eq!(v.attr("from"), Some(format!("{}/alice", room("town")).as_str()));
	let missing = bob.iq(&format!("<iq type='get' to='{}/nobody'><vCard xmlns='vcard-temp'/></iq>", room("town")));
	assert_eq!(error_condition(&missing), "item-not-found");
	bob.send(&format!("<presence to='{}/Bobby' type='unavailable'/>", room("town")));

	// §7.13: carol, a visitor in the moderated room, asks for voice; the
	// moderator gets the form, approves, and carol may speak.
	join(&mut carol, "town", "carol", "");
	say(&mut carol, "town", "may I?");
	let refused = carol.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&refused), "forbidden");
	carol.send(&format!(
		"<message to='{}'><x xmlns='jabber:x:data' type='submit'>\
		 <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>\
		 <field var='muc#role'><value>participant</value></field></x></message>",
		room("town")
	));
	let ask = alice.wait_for(|e| e.name() == "message" && e.child("x", "jabber:x:data").is_some());
	let ask_xml = ask.to_xml("jabber:client");
	assert!(
		ask_xml.contains("muc#request") && ask_xml.contains("<value>carol</value>") && ask_xml.contains(&Server::jid("carol")),
		"{ask_xml}"
	);
	alice.send(&format!(
		"<message to='{}'><x xmlns='jabber:x:data' type='submit'>\
		 <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>\
		 <field var='muc#role'><value>participant</value></field>\
		 <field var='muc#roomnick'><value>carol</value></field>\
		 <field var='muc#request_allow'><value>true</value></field></x></message>",
		room("town")
	));
	let p = carol.wait_for(|e| e.name() == "presence" && from_nick(e, "town", "carol") && item(e).attr("role") == Some("participant"));
	assert_eq!(item(&p).attr("role"), Some("participant"));
	say(&mut carol, "town", "thank you");
	alice.wait_for(is_groupchat("thank you"));

	// Reserved nicks and membership survive a restart; bob joins under his.
	drop((alice, bob, carol));
	let s = s.restart();
	let mut bob = s.online("bob");
	let got = join(&mut bob, "town", "Bobby", "");
	assert!(got.iter().all(|e| e.attr("type") != Some("error")), "{got:?}");
	// Unregistering gives the nick back.
	let r = bob.iq(&format!("<iq type='set' to='{}'><query xmlns='jabber:iq:register'><remove/></query></iq>", room("town")));
	assert_eq!(r.attr("type"), Some("result"));
	let mut carol = s.online("carol");
	let got = join(&mut carol, "town", "Bobby2", "");
	assert!(got.iter().all(|e| e.attr("type") != Some("error")), "{got:?}");
	assert_eq!(error_condition(&carol.iq(&submit("Bobby"))), "conflict", "Bobby is in the room under that nick still");
}

const OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";

fn occupant_id(e: &Element) -> String {
	let id = e.children().filter(|c| c.is("occupant-id", OCCUPANT_ID)).map(|c| c.attr("id").unwrap().to_owned()).collect::<Vec<_>>();
	assert_eq!(id.len(), 1, "one occupant id, the room's: {}", e.to_xml("jabber:client"));
	id[0].clone()
}

/// XEP-0421: one id per account in a room, whatever its nick, on what it
/// says and its presence; what clients put there themselves is dropped.
#[test]
fn occupant_ids_are_the_rooms_and_stay_the_same() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut alice = s.login("alice");
	let mut bob = s.login("bob");
	join(&mut alice, "lobby", "Alice", "");
	configure(&mut alice, "lobby", &[("muc#roomconfig_persistentroom", "1")]);
	let got = join(&mut bob, "lobby", "Bob", "");
	let alice_id = occupant_id(got.iter().find(|e| from_nick(e, "lobby", "Alice")).unwrap());
	let bob_id = occupant_id(got.iter().find(|e| from_nick(e, "lobby", "Bob")).unwrap());
	assert_ne!(alice_id, bob_id);
	assert!(!alice_id.contains("alice"), "the id tells nothing of the account");
	// A message with a forged id gets the room's instead.
	alice.send(&format!(
		"<message to='{}' type='groupchat'><body>hi</body><occupant-id xmlns='{OCCUPANT_ID}' id='{bob_id}'/></message>",
		room("lobby")
	));
	let m = bob.wait_for(is_groupchat("hi"));
	assert_eq!(occupant_id(&m), alice_id);
	// A private message carries it too.
	alice.send(&format!("<message to='{}/Bob' type='chat'><body>psst</body></message>", room("lobby")));
	let pm = bob.wait_for(|e| e.attr("type") == Some("chat"));
	assert_eq!(occupant_id(&pm), alice_id);
	// A new nick, the same id (on the unavailable and the new presence).
	alice.send(&format!("<presence to='{}/Ally'/>", room("lobby")));
	let gone = bob.wait_for(|e| from_nick(e, "lobby", "Alice") && e.attr("type") == Some("unavailable"));
	let back = bob.wait_for(|e| from_nick(e, "lobby", "Ally"));
	assert_eq!((occupant_id(&gone), occupant_id(&back)), (alice_id.clone(), alice_id.clone()));
	// A persistent room keeps its ids across a restart; history has them.
	drop((alice, bob));
	let s = s.restart();
	let mut alice = s.login("alice");
	let got = join(&mut alice, "lobby", "Alice", "");
	assert_eq!(occupant_id(got.iter().find(|e| from_nick(e, "lobby", "Alice") && e.name() == "presence").unwrap()), alice_id);
	let old = got.iter().find(|e| is_groupchat("hi")(e)).expect("history");
	assert_eq!(occupant_id(old), alice_id);
}

const VCARD: &str = "vcard-temp";
// A 1x1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn avatar_hashes(c: &mut Client, name: &str) -> Vec<String> {
	let info = c.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", room(name)));
	let q = info.child("query", "http://jabber.org/protocol/disco#info").unwrap();
	assert!(q.children().any(|f| f.attr("var") == Some(VCARD)), "vcard-temp is announced");
	let form = q.child("x", "jabber:x:data").unwrap();
	form.children()
		.filter(|f| f.attr("var") == Some("muc#roominfo_avatarhash"))
		.flat_map(|f| f.children().map(|v| v.text()).collect::<Vec<_>>())
		.collect()
}

/// XEP-0486: a room's picture is its vCard; owners set it, anyone reads it,
/// and the room's info says its hash.
#[test]
fn room_avatars_are_set_by_owners_and_seen_by_all() {
	let s = server_with_users(&["alice", "bob"], &["max_vcard_bytes=4096"]);
	let mut alice = s.login("alice");
	let mut bob = s.login("bob");
	join(&mut alice, "team", "Alice", "");
	configure(&mut alice, "team", &[("muc#roomconfig_persistentroom", "1")]);
	join(&mut bob, "team", "Bob", "");
	// An empty vCard and no hash before anyone sets one.
	let r = bob.iq(&format!("<iq type='get' to='{}'><vCard xmlns='{VCARD}'/></iq>", room("team")));
	assert!(r.child("vCard", VCARD).is_some_and(|v| v.children().next().is_none()));
	assert!(avatar_hashes(&mut bob, "team").is_empty());
	let card = format!("<vCard xmlns='{VCARD}'><PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO></vCard>");
	let set = |c: &mut Client, card: &str| c.iq(&format!("<iq type='set' to='{}'>{card}</iq>", room("team")));
	// Only owners; not too big.
	assert_eq!(error_condition(&set(&mut bob, &card)), "forbidden");
	let big = format!("<vCard xmlns='{VCARD}'><DESC>{}</DESC></vCard>", "x".repeat(5000));
	assert_eq!(error_condition(&set(&mut alice, &big)), "not-acceptable");
	assert_eq!(set(&mut alice, &card).attr("type"), Some("result"));
	// Occupants learn the configuration changed (status 104), then look.
	let notice = bob.wait_for(|e| e.name() == "message" && codes(e).contains(&"104".to_owned()));
	assert_eq!(notice.attr("from"), Some(room("team").as_str()));
	let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, PNG).unwrap();
	let sha1: String =
		ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &png).as_ref().iter().map(|b| format!("{b:02x}")).collect();
	assert_eq!(avatar_hashes(&mut bob, "team"), std::slice::from_ref(&sha1));
	let r = bob.iq(&format!("<iq type='get' to='{}'><vCard xmlns='{VCARD}'/></iq>", room("team")));
	assert!(r.to_xml("jabber:client").contains(PNG));
	// Kept with a persistent room.
	drop((alice, bob));
	let s = s.restart();
	let mut alice = s.login("alice");
	assert_eq!(avatar_hashes(&mut alice, "team"), [sha1]);
	// An empty vCard takes the picture away.
	assert_eq!(set(&mut alice, &format!("<vCard xmlns='{VCARD}'/>")).attr("type"), Some("result"));
	assert!(avatar_hashes(&mut alice, "team").is_empty());
}

/// `xerra room list` and `xerra room destroy`: the admin sees every room
/// and can end one (its occupants are told, its history and archive go),
/// with the server running or stopped.
#[test]
fn the_admin_lists_and_destroys_rooms() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut alice = s.online("alice");
	let mut bob = s.online("bob");
	join(&mut alice, "junk", "a", "");
	join(&mut bob, "junk", "b", "");
	say(&mut alice, "junk", "spam");
	bob.wait_for(is_groupchat("spam"));
	join(&mut alice, "keep", "a", "");
	assert_eq!(
		configure(&mut alice, "keep", &[("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_roomname", "Keep me")]).attr("type"),
		Some("result")
	);
	let (ok, out) = s.cli(&["room", "list"], None);
	assert!(ok, "{out}");
	assert!(out.contains(&format!("{}: temporary, 2 occupants, history 1 messages", room("junk"))), "{out}");
	assert!(out.contains(&format!("{} \"Keep me\": persistent, 1 occupants", room("keep"))), "{out}");

	let (ok, out) = s.cli(&["room", "destroy", &room("junk"), "--reason", "spam"], None);
	assert!(ok, "{out}");
	// XEP-0045 §10.9: every occupant leaves with <destroy/> and the reason.
	let gone = bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unavailable"));
	let destroy = gone.child("x", USER).and_then(|x| x.child("destroy", USER)).expect("destroy");
	assert_eq!(destroy.child("reason", USER).map(Element::text).as_deref(), Some("spam"));
	let (_, out) = s.cli(&["room", "list"], None);
	assert!(!out.contains("junk"), "{out}");
	let (ok, out) = s.cli(&["room", "destroy", "junk"], None);
	assert!(!ok && out.contains("no room"), "{out}");

	// Stopped: the persistent rooms, and destroying one for good (the
	// domain is stored, as the first-boot wizard does).
	drop((alice, bob));
	assert!(s.cli(&["config", "set", "domain", DOMAIN], None).0);
	let mut s = s;
	assert!(s.stop());
	let (ok, out) = common::cli(&s.dir, &["room", "list"], None);
	assert!(ok && out.contains(&room("keep")), "{out}");
	let (ok, out) = common::cli(&s.dir, &["room", "destroy", "keep"], None);
	assert!(ok, "{out}");
	let s = s.restart_after_kill();
	let (_, out) = s.cli(&["room", "list"], None);
	assert!(!out.contains("keep"), "{out}");
}

const MAM: &str = "urn:xmpp:mam:2";

/// The room archive's messages (bodies, or "[encrypted]"), queried by `c`;
/// Err(condition) if refused.
fn archive_of(c: &mut Client, name: &str) -> Result<Vec<String>, String> {
	let id = c.id();
	c.send(&format!("<iq type='set' id='{id}' to='{}'><query xmlns='{MAM}' queryid='q'/></iq>", room(name)));
	let mut got = Vec::new();
	loop {
		let e = c.wait_for(|e| e.attr("id") == Some(id.as_str()) || e.child("result", MAM).is_some());
		if e.name() == "iq" {
			return if e.attr("type") == Some("result") { Ok(got) } else { Err(error_condition(&e)) };
		}
		let m = e
			.child("result", MAM)
			.and_then(|r| r.child("forwarded", "urn:xmpp:forward:0"))
			.and_then(|f| f.child("message", "jabber:client"));
		let m = m.expect("a forwarded message");
		got.push(match m.child("body", "jabber:client") {
			Some(b) => b.text(),
			None if m.child("encrypted", "eu.siacs.conversations.axolotl").is_some() => "[encrypted]".to_owned(),
			None => format!("[other] {}", m.to_xml("jabber:client")),
		});
	}
}

/// Issue 12: join history keeps what the room's archive keeps: messages
/// with a body or an encrypted payload, not chat states nor what is marked
/// no-store/no-permanent-store (XEP-0334).
#[test]
fn history_and_archive_keep_the_same_messages_and_not_chat_states() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut alice = s.login("alice");
	let mut bob = s.login("bob");
	join(&mut alice, "chatter", "Alice", "");
	join(&mut bob, "chatter", "Bob", "");
	let to = room("chatter");
	let states = "http://jabber.org/protocol/chatstates";
	alice.send(&format!("<message to='{to}' type='groupchat'><composing xmlns='{states}'/></message>"));
	say(&mut alice, "chatter", "kept");
	alice.send(&format!("<message to='{to}' type='groupchat'><paused xmlns='{states}'/></message>"));
	alice.send(&format!("<message to='{to}' type='groupchat'><body>not stored</body><no-store xmlns='urn:xmpp:hints'/></message>"));
	alice.send(&format!("<message to='{to}' type='groupchat'><body>not kept</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>"));
	alice.send(&format!(
		"<message to='{to}' type='groupchat'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted></message>"
	));
	alice.send(&format!("<message to='{to}' type='groupchat'><active xmlns='{states}'/></message>"));
	say(&mut alice, "chatter", "last");
	// Everything is still delivered live.
	let live: Vec<Element> = (0..8).map(|_| bob.wait_for(|e| e.name() == "message" && e.attr("type") == Some("groupchat"))).collect();
	assert!(live.iter().any(|e| e.child("composing", states).is_some()), "chat states still reach the occupants");
	assert!(is_groupchat("last")(live.last().unwrap()));

	let mut carol = s.login("carol");
	let got = join(&mut carol, "chatter", "Carol", "<history maxstanzas='20'/>");
	let history: Vec<String> = got
		.iter()
		.filter(|e| e.name() == "message" && e.child("delay", "urn:xmpp:delay").is_some())
		.map(|m| match m.child("body", "jabber:client") {
			Some(b) => b.text(),
			None if m.child("encrypted", "eu.siacs.conversations.axolotl").is_some() => "[encrypted]".to_owned(),
			None => format!("[other] {}", m.to_xml("jabber:client")),
		})
		.collect();
	assert_eq!(history, ["kept", "[encrypted]", "last"]);
	assert_eq!(archive_of(&mut carol, "chatter").unwrap(), history, "the archive keeps the same");
}

/// Issue 12: an open room's archive may be read without joining (poezio
/// asks before it joins); a members-only room's by its members; never by
/// those banned.
#[test]
fn the_archive_of_an_open_room_is_readable_without_joining() {
	let s = server_with_users(&["alice", "bob", "carol", "dave"], &[]);
	let mut alice = s.login("alice");
	join(&mut alice, "open", "Alice", "");
	say(&mut alice, "open", "hello world");
	alice.wait_for(is_groupchat("hello world"));
	let mut bob = s.login("bob");
	assert_eq!(archive_of(&mut bob, "open").unwrap(), ["hello world"], "anyone may read an open room's archive");
	assert_eq!(
		admin(&mut alice, "open", &format!("<item jid='{}' affiliation='outcast'/>", Server::jid("bob"))).attr("type"),
		Some("result")
	);
	assert_eq!(archive_of(&mut bob, "open").unwrap_err(), "forbidden", "but not those banned");
	// A password keeps the archive as it keeps the room.
	join(&mut alice, "locked", "Alice", "");
	let r = configure(&mut alice, "locked", &[("muc#roomconfig_passwordprotectedroom", "1"), ("muc#roomconfig_roomsecret", "pw")]);
	assert_eq!(r.attr("type"), Some("result"));
	let mut dave = s.login("dave");
	assert_eq!(archive_of(&mut dave, "locked").unwrap_err(), "forbidden");

	// Members-only: members, joined or not; nobody else.
	join(&mut alice, "club", "Alice", "");
	let r = configure(&mut alice, "club", &[("muc#roomconfig_membersonly", "1")]);
	assert_eq!(r.attr("type"), Some("result"));
	say(&mut alice, "club", "members");
	alice.wait_for(is_groupchat("members"));
	assert_eq!(
		admin(&mut alice, "club", &format!("<item jid='{}' affiliation='member'/>", Server::jid("carol"))).attr("type"),
		Some("result")
	);
	let mut carol = s.login("carol");
	assert_eq!(archive_of(&mut carol, "club").unwrap(), ["members"]);
	assert_eq!(archive_of(&mut dave, "club").unwrap_err(), "forbidden");
}

/// Issue 12: a room that does not exist says so with a text (Gajim 1.7's
/// "Start chat" shows only the error's text), from the room's address
/// (Gajim's "Create group chat" then joins that address to make it), and
/// the room so made is configured the way Gajim does it.
#[test]
fn a_missing_room_says_so_in_words_and_gajim_makes_it() {
	let s = server_with_users(&["alice"], &[]);
	let mut alice = s.login("alice");
	for q in ["disco#info", "disco#items"] {
		let r = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/{q}'/></iq>", room("newroom")));
		assert_eq!(error_condition(&r), "item-not-found", "{q}");
		assert_eq!(r.attr("from"), Some(room("newroom").as_str()));
		let text =
			r.child("error", "jabber:client").and_then(|e| e.child("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).map(Element::text);
		assert!(text.is_some_and(|t| t.len() > 10), "{q}: {}", r.to_xml("jabber:client"));
	}
	// Gajim's MUC.create: presence with <x/>, then on 201 the form, filled
	// and sent back whole (with types, labels and options).
	alice.send(&format!("<presence to='{}/Alice'><x xmlns='{MUC}'/><show>chat</show></presence>", room("newroom")));
	let own = alice.wait_for(|e| e.name() == "presence" && codes(e).contains(&"110".to_owned()));
	assert!(codes(&own).contains(&"201".to_owned()));
	let form = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='{OWNER}'/></iq>", room("newroom")));
	let mut x = form.child("query", OWNER).and_then(|q| q.child("x", "jabber:x:data")).cloned().expect("a form");
	x.set_attr("type", "submit");
	let mut xml = x.to_xml("jabber:client");
	for (var, v) in
		[("muc#roomconfig_persistentroom", "true"), ("muc#roomconfig_membersonly", "true"), ("muc#roomconfig_publicroom", "false")]
	{
		let at = xml.find(&format!("var='{var}'")).unwrap_or_else(|| panic!("{var} in {xml}"));
		let v0 = at + xml[at..].find("<value>").unwrap() + "<value>".len();
		let v1 = v0 + xml[v0..].find("</value>").unwrap();
		xml.replace_range(v0..v1, v);
	}
	let r = alice.iq(&format!("<iq type='set' to='{}'><query xmlns='{OWNER}'>{xml}</query></iq>", room("newroom")));
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	let info = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", room("newroom")));
	let info = info.to_xml("jabber:client");
	assert!(info.contains("muc_persistent") && info.contains("muc_membersonly") && info.contains("muc_hidden"), "{info}");
	// §10.1.2: an instant room, accepted as it is with an empty form.
	join(&mut alice, "instant", "Alice", "");
	let r = alice.iq(&format!(
		"<iq type='set' to='{}'><query xmlns='{OWNER}'><x xmlns='jabber:x:data' type='submit'/></query></iq>",
		room("instant")
	));
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
}

fn is_presence_from(name: &'static str, nick: &'static str) -> impl Fn(&Element) -> bool {
	move |e| e.name() == "presence" && from_nick(e, name, nick)
}

/// XEP-0045 §7.2.9 (issue 12): one account in a room from two devices under
/// one nick is one occupant with two sessions: seen once by the others,
/// both get what is said and private messages, a session leaving removes
/// only that session; kicks and bans take every session; another account
/// still gets `conflict`; nick changes follow the same rule.
#[test]
fn one_account_is_in_a_room_from_several_devices_under_one_nick() {
	let s = server_with_users(&["alice", "bob", "carol"], &["muc_max_sessions_per_occupant=2"]);
	let mut bob = s.login("bob");
	let mut desk = s.login("alice");
	let mut phone = s.login("alice");
	join(&mut bob, "team", "Bob", "");
	say(&mut bob, "team", "before");
	bob.wait_for(is_groupchat("before"));
	join(&mut desk, "team", "Alice", "");
	bob.wait_for(is_presence_from("team", "Alice"));
	// The second device joins the same occupant: everything a join gives.
	let got = join(&mut phone, "team", "Alice", "<history maxstanzas='5'/>");
	assert!(got.iter().all(|e| e.attr("type") != Some("error")), "{got:?}");
	let own: Vec<&Element> = got.iter().filter(|e| e.name() == "presence" && codes(e).contains(&"110".to_owned())).collect();
	assert_eq!(own.len(), 1, "{got:?}");
	assert!(from_nick(own[0], "team", "Alice") && !codes(own[0]).contains(&"201".to_owned()));
	assert_eq!(got.iter().filter(|e| e.name() == "presence").count(), 2, "Bob and itself, once: {got:?}");
	assert!(got.iter().any(|e| is_groupchat("before")(e)), "history");
	// Nobody sees a second Alice.
	bob.expect_none(Duration::from_millis(300), is_presence_from("team", "Alice"));
	desk.expect_none(Duration::from_millis(100), is_presence_from("team", "Alice"));
	// Another account may not have the nick.
	let mut carol = s.login("carol");
	assert_eq!(join_error(&mut carol, "team", "Alice", ""), "conflict");
	// What is said reaches every session, once each.
	say(&mut bob, "team", "hi both");
	desk.wait_for(is_groupchat("hi both"));
	phone.wait_for(is_groupchat("hi both"));
	say(&mut phone, "team", "from the phone");
	let m = bob.wait_for(is_groupchat("from the phone"));
	assert!(from_nick(&m, "team", "Alice"));
	desk.wait_for(is_groupchat("from the phone"));
	phone.wait_for(is_groupchat("from the phone"));
	bob.expect_none(Duration::from_millis(100), is_groupchat("from the phone"));
	// Private messages to the nick too; from either session, as Alice.
	bob.send(&format!("<message to='{}/Alice' type='chat'><body>psst</body></message>", room("team")));
	let is_psst = |e: &Element| e.child("body", "jabber:client").is_some_and(|b| b.text() == "psst");
	desk.wait_for(is_psst);
	phone.wait_for(is_psst);
	phone.send(&format!("<message to='{}/Bob' type='chat'><body>back</body></message>", room("team")));
	let pm = bob.wait_for(|e| e.child("body", "jabber:client").is_some_and(|b| b.text() == "back"));
	assert!(from_nick(&pm, "team", "Alice"));
	// More sessions than muc_max_sessions_per_occupant: the nick is taken.
	let mut third = s.login("alice");
	assert_eq!(join_error(&mut third, "team", "Alice", ""), "conflict");

	// One session leaves: it is told, the others see nothing, the other
	// session stays in.
	phone.send(&format!("<presence to='{}/Alice' type='unavailable'/>", room("team")));
	let me = phone.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Alice"));
	assert!(codes(&me).contains(&"110".to_owned()));
	bob.expect_none(Duration::from_millis(300), |e| e.attr("type") == Some("unavailable"));
	say(&mut bob, "team", "still there?");
	desk.wait_for(is_groupchat("still there?"));
	phone.expect_none(Duration::from_millis(200), is_groupchat("still there?"));

	// A nick change by one session: a nick of another account is refused,
	// a new one makes a new occupant (the old stays with the other session),
	// one held by the same account joins it.
	join(&mut phone, "team", "Alice", "");
	phone.send(&format!("<presence to='{}/Bob'/>", room("team")));
	let e = phone.wait_for(|e| e.attr("type") == Some("error"));
	assert_eq!(error_condition(&e), "conflict");
	phone.send(&format!("<presence to='{}/Ally'/>", room("team")));
	let left = phone.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Alice"));
	assert!(codes(&left).contains(&"303".to_owned()) && codes(&left).contains(&"110".to_owned()));
	phone.wait_for(|e| is_presence_from("team", "Ally")(e) && codes(e).contains(&"110".to_owned()));
	bob.wait_for(is_presence_from("team", "Ally"));
	bob.expect_none(Duration::from_millis(200), |e| e.attr("type") == Some("unavailable"));
	desk.send(&format!("<presence to='{}/Ally'/>", room("team")));
	let gone = bob.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Alice"));
	assert!(codes(&gone).contains(&"303".to_owned()));
	desk.wait_for(|e| is_presence_from("team", "Ally")(e) && codes(e).contains(&"110".to_owned()));
	say(&mut bob, "team", "hello Ally");
	desk.wait_for(is_groupchat("hello Ally"));
	phone.wait_for(is_groupchat("hello Ally"));

	// A kick takes every session.
	assert_eq!(admin(&mut bob, "team", "<item nick='Ally' role='none'/>").attr("type"), Some("result"));
	for c in [&mut desk, &mut phone] {
		let k = c.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Ally"));
		assert!(codes(&k).contains(&"307".to_owned()) && codes(&k).contains(&"110".to_owned()));
	}
	// So does a ban.
	join(&mut desk, "team", "Alice", "");
	join(&mut phone, "team", "Alice", "");
	let r = admin(&mut bob, "team", &format!("<item jid='{}' affiliation='outcast'/>", Server::jid("alice")));
	assert_eq!(r.attr("type"), Some("result"));
	for c in [&mut desk, &mut phone] {
		let b = c.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Alice"));
		assert!(codes(&b).contains(&"301".to_owned()));
	}
	assert_eq!(join_error(&mut phone, "team", "Alice", ""), "forbidden");
}

/// Logged in with stream management (resumable) and `resource` bound.
fn resumable(s: &Server, user: &str, resource: Option<&str>) -> Client {
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	c.scram(user, common::PASSWORD, "SCRAM-SHA-256").expect("authentication");
	c.open();
	c.bind(resource).expect("bind");
	c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
	c.wait_for(|e| e.name() == "enabled");
	c
}

/// Issue 12: a client whose connection vanished stays online for
/// `sm_resume_timeout`, but its account, back from a new connection (with
/// another resource or the same one), joins its rooms under its nick at once.
#[test]
fn a_vanished_session_does_not_keep_its_account_out_of_its_rooms() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.login("bob");
	join(&mut bob, "team", "Bob", "");
	let mut old = resumable(&s, "alice", Some("laptop"));
	join(&mut old, "team", "Alice", "");
	bob.wait_for(is_presence_from("team", "Alice"));
	// The connection dies without a word; the session waits to be resumed.
	drop(old);
	std::thread::sleep(Duration::from_millis(300));
	let mut other = s.login("alice");
	let got = join(&mut other, "team", "Alice", "");
	assert!(got.iter().all(|e| e.attr("type") != Some("error")), "another resource: {got:?}");
	bob.expect_none(Duration::from_millis(300), is_presence_from("team", "Alice"));
	// The same resource again: the new session replaces the waiting one, in
	// the room too.
	let mut again = resumable(&s, "alice", Some("laptop"));
	// The replaced session was the one others saw: now they see the other.
	let seen = bob.wait_for(is_presence_from("team", "Alice"));
	assert_eq!(seen.attr("type"), None, "{}", seen.to_xml("jabber:client"));
	let got = join(&mut again, "team", "Alice", "");
	assert!(got.iter().all(|e| e.attr("type") != Some("error")), "the same resource: {got:?}");
	say(&mut bob, "team", "welcome back");
	again.wait_for(is_groupchat("welcome back"));
	other.wait_for(is_groupchat("welcome back"));
	// Alice leaves with her last session.
	again.send(&format!("<presence to='{}/Alice' type='unavailable'/>", room("team")));
	again.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Alice"));
	bob.expect_none(Duration::from_millis(300), |e| e.attr("type") == Some("unavailable"));
	drop(other);
	let gone = bob.wait_for(|e| e.attr("type") == Some("unavailable") && from_nick(e, "team", "Alice"));
	assert!(!codes(&gone).contains(&"110".to_owned()));
}

/// Issue 13: `xerra room persist NAME on|off` keeps a room the admin wants
/// (stored, kept empty and over a restart) or lets it go.
#[test]
fn the_admin_makes_a_room_persistent_or_temporary() {
	let s = server_with_users(&["alice"], &[]);
	let mut alice = s.online("alice");
	join(&mut alice, "team", "a", "");
	let (ok, out) = s.cli(&["room", "persist", "team", "on"], None);
	assert!(ok && out.contains("is persistent"), "{out}");
	alice.send(&format!("<presence to='{}/a' type='unavailable'/>", room("team")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unavailable"));
	drop(alice);
	let s = s.restart();
	let (_, out) = s.cli(&["room", "list"], None);
	assert!(out.contains(&format!("{}: persistent, 0 occupants", room("team"))), "{out}");
	// Temporary and empty: gone, also from storage.
	let (ok, out) = s.cli(&["room", "persist", &room("team"), "off"], None);
	assert!(ok && out.contains("is temporary"), "{out}");
	assert!(!s.cli(&["room", "list"], None).1.contains("team"));
	let s = s.restart();
	assert!(!s.cli(&["room", "list"], None).1.contains("team"));
	let (ok, out) = s.cli(&["room", "persist", "nothere", "on"], None);
	assert!(!ok && out.contains("no room"), "{out}");
}
