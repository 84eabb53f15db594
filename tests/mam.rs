//! XEP-0313 archives over real sockets: what is archived, stanza ids,
//! paging, filters, preferences, the size limit, offline messages, restart.

mod common;

use std::time::Duration;

use common::client::error_condition;
use common::{Client, DOMAIN, Server, server_with_users};
use xerra::xmpp::element::Element;

const MAM: &str = "urn:xmpp:mam:2";
const RSM: &str = "http://jabber.org/protocol/rsm";
const SID: &str = "urn:xmpp:sid:0";

fn chat(to: &str, body: &str) -> String {
	format!("<message to='{to}' type='chat'><body>{body}</body></message>")
}

fn body(e: &Element) -> Option<String> {
	e.child("body", "jabber:client").map(Element::text)
}

/// (archive id, body) of each result, and whether the answer was complete.
fn query(c: &mut Client, form: &str, rsm: &str) -> (Vec<(String, String)>, bool) {
	let id = c.id();
	c.send(&format!("<iq type='set' id='{id}'><query xmlns='{MAM}' queryid='q{id}'>{form}{rsm}</query></iq>"));
	let mut results = Vec::new();
	loop {
		let e = c.wait_for(|e| e.attr("id") == Some(id.as_str()) || e.child("result", MAM).is_some());
		if e.name() == "iq" {
			assert_eq!(e.attr("type"), Some("result"), "{}", e.to_xml("jabber:client"));
			let fin = e.child("fin", MAM).unwrap();
			return (results, fin.attr("complete") == Some("true"));
		}
		let r = e.child("result", MAM).unwrap();
		assert_eq!(r.attr("queryid"), Some(format!("q{id}").as_str()));
		let fwd = r.child("forwarded", "urn:xmpp:forward:0").unwrap();
		assert!(fwd.child("delay", "urn:xmpp:delay").is_some());
		let m = fwd.child("message", "jabber:client").unwrap();
		results.push((r.attr("id").unwrap().to_owned(), body(m).unwrap()));
	}
}

fn with(jid: &str) -> String {
	format!(
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MAM}</value></field>\
		 <field var='with'><value>{jid}</value></field></x>"
	)
}

fn rsm(inner: &str) -> String {
	format!("<set xmlns='{RSM}'>{inner}</set>")
}

fn bodies(r: &(Vec<(String, String)>, bool)) -> Vec<&str> {
	r.0.iter().map(|(_, b)| b.as_str()).collect()
}

#[test]
fn archives_page_and_filter() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut alice = s.online("alice");
	let mut bob = s.online("bob");
	let mut carol = s.online("carol");
	let info = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", alice.bare()));
	assert!(info.to_xml("jabber:client").contains(MAM));

	let (a, b) = (Server::jid("alice"), Server::jid("bob"));
	alice.send(&chat(&b, "a1"));
	let got = bob.wait_for(|e| body(e).as_deref() == Some("a1"));
	let sid = got.child("stanza-id", SID).expect("the recipient's copy has a stanza-id");
	assert_eq!(sid.attr("by"), Some(b.as_str()));
	let a1_id = sid.attr("id").unwrap().to_owned();
	bob.send(&chat(&a, "b1"));
	alice.wait_for(|e| body(e).as_deref() == Some("b1"));
	alice.send(&chat(&b, "a2"));
	bob.wait_for(|e| body(e).as_deref() == Some("a2"));
	carol.send(&chat(&a, "c1"));
	alice.wait_for(|e| body(e).as_deref() == Some("c1"));
	// Not archived: no-store hints and chat states.
	alice.send(&format!("<message to='{b}' type='chat'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>"));
	alice.send(&format!("<message to='{b}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"));
	// A client's own stanza-id is dropped, the server's stands.
	alice.send(&format!("<message to='{b}' type='chat'><body>a3</body><stanza-id xmlns='{SID}' id='fake' by='{b}'/></message>"));
	let got = bob.wait_for(|e| body(e).as_deref() == Some("a3"));
	let ids: Vec<_> = got.children().filter(|c| c.is("stanza-id", SID)).map(|c| c.attr("id").unwrap().to_owned()).collect();
	assert!(ids.len() == 1 && ids[0] != "fake", "{ids:?}");

	let all = query(&mut alice, "", "");
	assert_eq!(bodies(&all), ["a1", "b1", "a2", "c1", "a3"]);
	assert!(all.1, "one page holds it all");
	// Bob's archive id for a1 is the stanza-id he was given.
	let bobs = query(&mut bob, &with(&a), "");
	assert_eq!(bobs.0[0], (a1_id, "a1".to_owned()));

	// Paging forward, then the last page backwards.
	let p1 = query(&mut alice, "", &rsm("<max>2</max>"));
	assert_eq!((bodies(&p1), p1.1), (vec!["a1", "b1"], false));
	let p2 = query(&mut alice, "", &rsm(&format!("<max>2</max><after>{}</after>", p1.0[1].0)));
	assert_eq!((bodies(&p2), p2.1), (vec!["a2", "c1"], false));
	let p3 = query(&mut alice, "", &rsm(&format!("<max>2</max><after>{}</after>", p2.0[1].0)));
	assert_eq!((bodies(&p3), p3.1), (vec!["a3"], true));
	let last = query(&mut alice, "", &rsm("<max>2</max><before/>"));
	assert_eq!(bodies(&last), ["c1", "a3"]);
	let before = query(&mut alice, "", &rsm(&format!("<max>5</max><before>{}</before>", last.0[0].0)));
	assert_eq!((bodies(&before), before.1), (vec!["a1", "b1", "a2"], true));
	// Filters: with, and a start in the future.
	assert_eq!(bodies(&query(&mut alice, &with(&Server::jid("carol")), "")), ["c1"]);
	let future = format!(
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MAM}</value></field>\
		 <field var='start'><value>2999-01-01T00:00:00Z</value></field></x>"
	);
	assert!(query(&mut alice, &future, "").0.is_empty());
	// Errors: an unknown id, a bad date, someone else's archive.
	let r = alice.iq(&format!("<iq type='set'><query xmlns='{MAM}'>{}</query></iq>", rsm("<after>nope</after>")));
	assert_eq!(error_condition(&r), "item-not-found");
	let bad = future.replace("2999-01-01T00:00:00Z", "yesterday");
	assert_eq!(error_condition(&alice.iq(&format!("<iq type='set'><query xmlns='{MAM}'>{bad}</query></iq>"))), "bad-request");
	let r = bob.iq(&format!("<iq type='set' to='{a}'><query xmlns='{MAM}'/></iq>"));
	assert_eq!(error_condition(&r), "forbidden");

	drop((alice, bob, carol));
	let s = s.restart();
	let mut alice = s.login("alice");
	assert_eq!(bodies(&query(&mut alice, "", "")), ["a1", "b1", "a2", "c1", "a3"]);
}

#[test]
fn preferences_offline_messages_and_the_size_limit() {
	let s = server_with_users(&["alice", "bob", "carol"], &["max_archive_messages=3"]);
	let mut alice = s.login("alice");
	let (a, b) = (Server::jid("alice"), Server::jid("bob"));
	let r = alice.iq(&format!("<iq type='set'><prefs xmlns='{MAM}' default='never'><always><jid>{b}</jid></always><never/></prefs></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	let got = alice.iq(&format!("<iq type='get'><prefs xmlns='{MAM}'/></iq>")).to_xml("jabber:client");
	assert!(got.contains("default='never'") && got.contains(&b), "{got}");
	let r = alice.iq(&format!("<iq type='set'><prefs xmlns='{MAM}' default='sometimes'/></iq>"));
	assert_eq!(error_condition(&r), "bad-request");

	// alice is not available: these go offline, and to the archive as her prefs say.
	let mut bob = s.online("bob");
	let mut carol = s.online("carol");
	bob.send(&chat(&a, "from bob"));
	carol.send(&chat(&a, "from carol"));
	assert_eq!(bodies(&query(&mut carol, "", "")), ["from carol"], "carol keeps her own copy");
	let mut phone = s.online("alice");
	let offline = phone.drain(Duration::from_millis(400));
	let from_bob = offline.iter().find(|e| body(e).as_deref() == Some("from bob")).expect("offline message");
	assert!(from_bob.child("stanza-id", SID).is_some(), "offline copies carry the stanza-id too");
	assert_eq!(bodies(&query(&mut alice, "", "")), ["from bob"]);

	// Preferences survive a restart.
	drop((alice, bob, carol, phone));
	let s = s.restart();
	let mut carol = s.online("carol");
	let mut bob = s.online("bob");
	carol.send(&chat(&a, "again from carol"));
	for i in 0..4 {
		bob.send(&chat(&a, &format!("n{i}")));
	}
	assert!(bob.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>")).attr("type") == Some("result"));
	let mut alice = s.login("alice");
	// max_archive_messages = 3: the newest three.
	assert_eq!(bodies(&query(&mut alice, "", "")), ["n1", "n2", "n3"]);
}

#[test]
fn the_server_default_can_be_no_history() {
	let s = server_with_users(&["alice", "bob"], &["mam_default=never"]);
	let mut alice = s.online("alice");
	let mut bob = s.online("bob");
	bob.send(&chat(&Server::jid("alice"), "not kept"));
	let got = alice.wait_for(|e| body(e).as_deref() == Some("not kept"));
	assert!(got.child("stanza-id", SID).is_none(), "nothing archived, so no archive id");
	assert!(query(&mut alice, "", "").0.is_empty() && query(&mut bob, "", "").0.is_empty());
	let p = alice.iq(&format!("<iq type='get'><prefs xmlns='{MAM}'/></iq>")).to_xml("jabber:client");
	assert!(p.contains("default='never'"), "{p}");
	// An account may still choose history for itself.
	alice.iq(&format!("<iq type='set'><prefs xmlns='{MAM}' default='always'/></iq>"));
	bob.send(&chat(&Server::jid("alice"), "kept"));
	alice.wait_for(|e| body(e).as_deref() == Some("kept"));
	assert_eq!(bodies(&query(&mut alice, "", "")), ["kept"]);
}

/// Every archived message of `c`'s archive, as stored.
fn archived(c: &mut Client) -> Vec<Element> {
	let id = c.id();
	c.send(&format!("<iq type='set' id='{id}'><query xmlns='{MAM}'/></iq>"));
	let mut out = Vec::new();
	loop {
		let e = c.wait_for(|e| e.attr("id") == Some(id.as_str()) || e.child("result", MAM).is_some());
		if e.name() == "iq" {
			assert_eq!(e.attr("type"), Some("result"), "{}", e.to_xml("jabber:client"));
			return out;
		}
		let fwd = e.child("result", MAM).and_then(|r| r.child("forwarded", "urn:xmpp:forward:0")).unwrap();
		out.push(fwd.child("message", "jabber:client").unwrap().clone());
	}
}

/// Issue 12: call invitations (XEP-0353, no body) reach a device that was
/// offline, and are in the history of both sides like Prosody's and
/// ejabberd's, so a missed call can be found later; chat states are not.
#[test]
fn call_invitations_are_archived() {
	const JMI: &str = "urn:xmpp:jingle-message:0";
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut alice = s.online("alice");
	let b = Server::jid("bob");
	// As Conversations sends it (§3: type chat, a store hint), and as a
	// client that leaves the hint out.
	alice.send(&format!(
		"<message to='{b}' type='chat' id='call1'><propose xmlns='{JMI}' id='c1'>\
		 <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>"
	));
	alice.send(&format!("<message to='{b}' type='chat' id='call2'><retract xmlns='{JMI}' id='c1'/></message>"));
	for (i, el) in ["accept", "reject", "proceed", "finish"].iter().enumerate() {
		alice.send(&format!("<message to='{b}' type='chat' id='jmi{i}'><{el} xmlns='{JMI}' id='c2'/></message>"));
	}
	// Not worth keeping: a chat state, and anything marked no-store.
	alice.send(&format!("<message to='{b}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"));
	alice.send(&format!("<message to='{b}' type='chat'><propose xmlns='{JMI}' id='c3'/><no-store xmlns='urn:xmpp:hints'/></message>"));
	alice.send(&chat(&b, "end"));
	// (The last has no id.)
	let ids = |msgs: &[Element]| -> Vec<String> { msgs.iter().filter_map(|m| m.attr("id")).map(str::to_owned).collect() };
	let expected = ["call1", "call2", "jmi0", "jmi1", "jmi2", "jmi3"];
	let mut bob = s.online("bob");
	bob.wait_for(|e| body(e).as_deref() == Some("end"));
	let theirs = archived(&mut bob);
	assert_eq!(ids(&theirs), expected, "{theirs:?}");
	assert_eq!(theirs.len(), expected.len() + 1, "only the calls and the body: {theirs:?}");
	assert!(theirs[0].child("propose", JMI).is_some_and(|p| p.attr("id") == Some("c1")));
	let ours = archived(&mut alice);
	assert_eq!(ids(&ours), expected, "{ours:?}");
	assert_eq!(ours.len(), expected.len() + 1, "{ours:?}");
}
