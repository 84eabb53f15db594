//! RFC 6121 over real sockets: rosters, subscriptions, presence, message
//! and iq routing, offline messages; plus disco, ping, version and time.

mod common;

use std::time::Duration;

use common::client::{Client, error_condition};
use common::{DOMAIN, ROSTER, is_push, push_item, server_with_users};
use xerra::xmpp::element::Element;

const SHORT: Duration = Duration::from_millis(300);

fn roster_query(r: &Element) -> &Element {
	r.child("query", ROSTER).unwrap_or_else(|| panic!("no roster query in {}", r.to_xml("jabber:client")))
}

fn items(r: &Element) -> Vec<(String, String)> {
	roster_query(r).children().map(|i| (i.attr("jid").unwrap().to_string(), i.attr("subscription").unwrap().to_string())).collect()
}

fn get_roster(c: &mut Client) -> Element {
	let r = c.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	r
}

fn jid(name: &str) -> String {
	format!("{name}@{DOMAIN}")
}

fn presence_from(who: &str, ty: Option<&str>) -> impl Fn(&Element) -> bool {
	let who = who.to_string();
	let ty = ty.map(str::to_string);
	move |e| e.name() == "presence" && e.attr("from").is_some_and(|f| f.starts_with(&who)) && e.attr("type") == ty.as_deref()
}

fn message_body(e: &Element) -> String {
	e.child("body", "jabber:client").map(|b| b.text()).unwrap_or_default()
}

/// alice and bob subscribed to each other, both online (after roster gets).
fn mutual(s: &common::Server) -> (Client, Client) {
	let mut a = s.online("alice");
	let mut b = s.online("bob");
	get_roster(&mut a);
	get_roster(&mut b);
	a.send(&format!("<presence to='{}' type='subscribe'/>", jid("bob")));
	b.wait_for(presence_from(&jid("alice"), Some("subscribe")));
	b.send(&format!("<presence to='{}' type='subscribed'/>", jid("alice")));
	b.send(&format!("<presence to='{}' type='subscribe'/>", jid("alice")));
	a.wait_for(presence_from(&jid("bob"), Some("subscribe")));
	a.send(&format!("<presence to='{}' type='subscribed'/>", jid("bob")));
	// Each ends up seeing the other's presence.
	a.wait_for(presence_from(&jid("bob"), None));
	b.wait_for(presence_from(&jid("alice"), None));
	a.drain(SHORT);
	b.drain(SHORT);
	(a, b)
}

#[test]
fn roster_set_get_push_and_versioning() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut a1 = s.login("alice");
	let mut a2 = s.login("alice");
	let r = get_roster(&mut a1);
	assert!(items(&r).is_empty());
	let v0 = roster_query(&r).attr("ver").unwrap().to_string();
	get_roster(&mut a2);
	let r = a1.iq("<iq type='set'><query xmlns='jabber:iq:roster'><item jid='Bob@Example.Test' name='Bob'><group>Work</group><group>Friends</group></item></query></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	// Both interested resources get the push, with the prepared JID.
	for c in [&mut a1, &mut a2] {
		let item = push_item(c);
		assert_eq!(item.attr("jid"), Some(jid("bob").as_str()));
		assert_eq!(item.attr("name"), Some("Bob"));
		assert_eq!(item.attr("subscription"), Some("none"));
		assert_eq!(item.children().map(|g| g.text()).collect::<Vec<_>>(), ["Work", "Friends"]);
	}
	let r = get_roster(&mut a1);
	let v1 = roster_query(&r).attr("ver").unwrap().to_string();
	assert_ne!(v0, v1);
	assert_eq!(items(&r), [(jid("bob"), "none".to_string())]);
	// Same version: empty result; old version: the full roster again.
	let r = a1.iq(&format!("<iq type='get'><query xmlns='jabber:iq:roster' ver='{v1}'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	assert!(r.child("query", ROSTER).is_none());
	let r = a1.iq(&format!("<iq type='get'><query xmlns='jabber:iq:roster' ver='{v0}'/></iq>"));
	assert_eq!(items(&r).len(), 1);
	// Rename, then remove.
	a1.iq("<iq type='set'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Robert'/></query></iq>");
	assert_eq!(push_item(&mut a2).attr("name"), Some("Robert"));
	push_item(&mut a1);
	let r = a1.iq("<iq type='set'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='remove'/></query></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	assert_eq!(push_item(&mut a2).attr("subscription"), Some("remove"));
	assert!(items(&get_roster(&mut a1)).is_empty());
}

#[test]
fn roster_errors() {
	let s = server_with_users(&["alice", "bob"], &["max_roster_items=2"]);
	let mut a = s.login("alice");
	let set = |a: &mut Client, inner: &str| a.iq(&format!("<iq type='set'><query xmlns='jabber:iq:roster'>{inner}</query></iq>"));
	assert_eq!(error_condition(&set(&mut a, "<item jid='a@example.test'/><item jid='b@example.test'/>")), "bad-request");
	assert_eq!(error_condition(&set(&mut a, "<item jid='b@example.test'><group>x</group><group>x</group></item>")), "bad-request");
	assert_eq!(error_condition(&set(&mut a, "<item jid='b@example.test'><group></group></item>")), "not-acceptable");
	assert_eq!(error_condition(&set(&mut a, "<item jid='@bad'/>")), "jid-malformed");
	assert_eq!(error_condition(&set(&mut a, "<item jid='alice@example.test'/>")), "not-allowed");
	assert_eq!(error_condition(&set(&mut a, "<item jid='nobody@example.test' subscription='remove'/>")), "item-not-found");
	let r = a.iq("<iq type='get' to='bob@example.test'><query xmlns='jabber:iq:roster'/></iq>");
	assert_eq!(error_condition(&r), "forbidden");
	// max_roster_items=2
	assert_eq!(set(&mut a, "<item jid='c1@example.test'/>").attr("type"), Some("result"));
	assert_eq!(set(&mut a, "<item jid='c2@example.test'/>").attr("type"), Some("result"));
	assert_eq!(error_condition(&set(&mut a, "<item jid='c3@example.test'/>")), "not-allowed");
	// A client may not set the subscription itself (RFC 6121 §2.1.2.5).
	set(&mut a, "<item jid='c1@example.test' subscription='both'/>");
	let r = get_roster(&mut a);
	assert!(items(&r).iter().all(|(_, sub)| sub == "none"), "{:?}", items(&r));
}

#[test]
fn subscription_handshake_with_pushes() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.online("alice");
	let mut b = s.online("bob");
	get_roster(&mut a);
	get_roster(&mut b);
	a.send("<presence to='bob@example.test' type='subscribe'><status>hi, it's alice</status></presence>");
	// Alice's roster gains bob with ask='subscribe' (RFC 6121 §3.1.2).
	let item = push_item(&mut a);
	assert_eq!((item.attr("subscription"), item.attr("ask")), (Some("none"), Some("subscribe")));
	// Bob gets the request from alice's bare JID, with the status.
	let req = b.wait_for(presence_from(&jid("alice"), Some("subscribe")));
	assert_eq!(req.attr("from"), Some(jid("alice").as_str()));
	assert_eq!(req.child("status", "jabber:client").unwrap().text(), "hi, it's alice");
	// Bob has no roster item for alice yet (§3.1.3): no push.
	b.expect_none(SHORT, is_push);
	b.send("<presence to='alice@example.test' type='subscribed'/>");
	let item = push_item(&mut b);
	assert_eq!((item.attr("jid"), item.attr("subscription")), (Some(jid("alice").as_str()), Some("from")));
	a.wait_for(presence_from(&jid("bob"), Some("subscribed")));
	let item = push_item(&mut a);
	assert_eq!((item.attr("subscription"), item.attr("ask")), (Some("to"), None));
	// Alice now sees bob's presence (§3.1.5).
	a.wait_for(presence_from(&jid("bob"), None));
	// The other direction.
	b.send("<presence to='alice@example.test' type='subscribe'/>");
	assert_eq!(push_item(&mut b).attr("ask"), Some("subscribe"));
	a.wait_for(presence_from(&jid("bob"), Some("subscribe")));
	a.send("<presence to='bob@example.test' type='subscribed'/>");
	assert_eq!(push_item(&mut a).attr("subscription"), Some("both"));
	assert_eq!(push_item(&mut b).attr("subscription"), Some("both"));
	b.wait_for(presence_from(&jid("alice"), None));
	assert_eq!(items(&get_roster(&mut a)), [(jid("bob"), "both".into())]);
	assert_eq!(items(&get_roster(&mut b)), [(jid("alice"), "both".into())]);
	// A repeated subscribe is answered by the server for bob (A.3.1); the
	// answer changes nothing on alice's side, so only bob's presence shows
	// up again (A.3.3), and bob is not asked twice.
	a.send("<presence to='bob@example.test' type='subscribe'/>");
	a.wait_for(presence_from(&jid("bob"), None));
	a.expect_none(SHORT, presence_from(&jid("bob"), Some("subscribed")));
	b.expect_none(SHORT, presence_from(&jid("alice"), Some("subscribe")));
}

#[test]
fn unsubscribe_and_revoke() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let (mut a, mut b) = mutual(&s);
	// Alice stops receiving bob's presence: she gets bob's unavailable.
	a.send("<presence to='bob@example.test' type='unsubscribe'/>");
	assert_eq!(push_item(&mut a).attr("subscription"), Some("from"));
	b.wait_for(presence_from(&jid("alice"), Some("unsubscribe")));
	assert_eq!(push_item(&mut b).attr("subscription"), Some("to"));
	a.wait_for(presence_from(&jid("bob"), Some("unavailable")));
	// Alice revokes bob's subscription to her: bob gets her unavailable.
	a.send("<presence to='bob@example.test' type='unsubscribed'/>");
	assert_eq!(push_item(&mut a).attr("subscription"), Some("none"));
	b.wait_for(presence_from(&jid("alice"), Some("unsubscribed")));
	assert_eq!(push_item(&mut b).attr("subscription"), Some("none"));
	b.wait_for(presence_from(&jid("alice"), Some("unavailable")));
	// Presence no longer flows.
	a.send("<presence><show>away</show></presence>");
	b.expect_none(SHORT, presence_from(&jid("alice"), None));
}

#[test]
fn removing_a_contact_ends_both_subscriptions() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let (mut a, mut b) = mutual(&s);
	let r = a.iq("<iq type='set'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='remove'/></query></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	b.wait_for(presence_from(&jid("alice"), Some("unsubscribe")));
	b.wait_for(presence_from(&jid("alice"), Some("unsubscribed")));
	b.wait_for(presence_from(&jid("alice"), Some("unavailable")));
	assert!(items(&get_roster(&mut a)).is_empty());
	assert_eq!(items(&get_roster(&mut b)), [(jid("alice"), "none".into())]);
}

#[test]
fn pre_approval_and_unknown_contacts() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.online("alice");
	let mut b = s.online("bob");
	get_roster(&mut a);
	get_roster(&mut b);
	// Bob pre-approves alice (RFC 6121 §3.4): an item with approved='true'.
	b.send("<presence to='alice@example.test' type='subscribed'/>");
	let item = push_item(&mut b);
	assert_eq!((item.attr("approved"), item.attr("subscription")), (Some("true"), Some("none")));
	a.expect_none(SHORT, presence_from(&jid("bob"), Some("subscribed")));
	// Alice's request is approved at once; bob is not asked.
	a.send("<presence to='bob@example.test' type='subscribe'/>");
	a.wait_for(presence_from(&jid("bob"), Some("subscribed")));
	b.expect_none(SHORT, presence_from(&jid("alice"), Some("subscribe")));
	assert_eq!(items(&get_roster(&mut b)), [(jid("alice"), "from".into())]);
	// A request to an account that does not exist is refused (§3.1.3).
	a.send("<presence to='ghost@example.test' type='subscribe'/>");
	a.wait_for(presence_from(&jid("ghost"), Some("unsubscribed")));
	// A domain nobody serves here (no component; no federation yet).
	a.send("<presence to='someone@elsewhere.test' type='subscribe'/>");
	let e = a.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("error"));
	assert_eq!(error_condition(&e), "remote-server-not-found");
}

#[test]
fn subscription_request_to_offline_user_is_delivered_at_login() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.online("alice");
	a.send("<presence to='bob@example.test' type='subscribe'><status>remember me</status></presence>");
	a.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	let mut b = s.online("bob");
	let req = b.wait_for(presence_from(&jid("alice"), Some("subscribe")));
	assert_eq!(req.child("status", "jabber:client").unwrap().text(), "remember me");
	// Not again once answered.
	b.send("<presence to='alice@example.test' type='subscribed'/>");
	a.wait_for(presence_from(&jid("bob"), Some("subscribed")));
	drop(b);
	let mut b = s.online("bob");
	b.expect_none(SHORT, presence_from(&jid("alice"), Some("subscribe")));
}

#[test]
fn presence_broadcast_probe_and_unavailable_on_disconnect() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let (mut a, mut b) = mutual(&s);
	// A second resource of bob: it learns alice's presence by probe at once.
	let mut b2 = s.login("bob");
	b2.send("<presence><priority>3</priority></presence>");
	let p = b2.wait_for(presence_from(&jid("alice"), None));
	assert_eq!(p.attr("from"), Some(a.jid.as_str()));
	// ...and bob's first resource sees its sibling come online.
	b.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(b2.jid.as_str()));
	// Alice goes away: both of bob's resources hear it.
	a.send("<presence><show>away</show><status>lunch</status></presence>");
	for c in [&mut b, &mut b2] {
		let p = c.wait_for(presence_from(&jid("alice"), None));
		assert_eq!(p.child("show", "jabber:client").unwrap().text(), "away");
	}
	// Alice disconnects without a word: unavailable to both.
	drop(a);
	for c in [&mut b, &mut b2] {
		c.wait_for(presence_from(&jid("alice"), Some("unavailable")));
	}
}

#[test]
fn explicit_unavailable_and_directed_presence() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let (mut a, mut b) = mutual(&s);
	let mut carol = s.online("carol");
	// Directed presence to carol, who is no contact (RFC 6121 §4.6).
	a.send("<presence to='carol@example.test'><status>psst</status></presence>");
	carol.wait_for(presence_from(&jid("alice"), None));
	// Unavailable goes to contacts and to carol, who got directed presence.
	a.send("<presence type='unavailable'/>");
	b.wait_for(presence_from(&jid("alice"), Some("unavailable")));
	carol.wait_for(presence_from(&jid("alice"), Some("unavailable")));
	// Unavailable sessions get no chat messages; they go offline instead.
	b.send("<message to='alice@example.test' type='chat'><body>are you there?</body></message>");
	a.expect_none(SHORT, |e| e.name() == "message");
	a.send("<presence/>");
	let m = a.wait_for(|e| e.name() == "message");
	assert_eq!(message_body(&m), "are you there?");
	assert!(m.child("delay", "urn:xmpp:delay").is_some());
}

#[test]
fn probe_from_client_is_answered_only_for_subscriptions() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let (mut a, b) = mutual(&s);
	a.send("<presence to='bob@example.test' type='probe'/>");
	let p = a.wait_for(presence_from(&jid("bob"), None));
	assert_eq!(p.attr("from"), Some(b.jid.as_str()));
	let mut carol = s.online("carol");
	carol.send("<presence to='alice@example.test' type='probe'/>");
	carol.expect_none(SHORT, presence_from(&jid("alice"), None));
	drop(b);
	a.wait_for(presence_from(&jid("bob"), Some("unavailable")));
	a.send("<presence to='bob@example.test' type='probe'/>");
	a.wait_for(presence_from(&jid("bob"), Some("unavailable")));
}

#[test]
fn messages_to_bare_jid_follow_priority_and_type() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.online("alice");
	let mut low = s.login("bob");
	low.send("<presence><priority>1</priority></presence>");
	let mut high = s.login("bob");
	high.send("<presence><priority>5</priority></presence>");
	let mut neg = s.login("bob");
	neg.send("<presence><priority>-1</priority></presence>");
	for c in [&mut low, &mut high, &mut neg] {
		c.drain(SHORT);
	}
	a.send("<message to='bob@example.test' type='chat'><body>to the best</body></message>");
	let m = high.wait_for(|e| e.name() == "message");
	assert_eq!(message_body(&m), "to the best");
	assert_eq!(m.attr("from"), Some(a.jid.as_str()));
	low.expect_none(SHORT, |e| e.name() == "message");
	neg.expect_none(SHORT, |e| e.name() == "message");
	// Headlines go to every non-negative resource.
	a.send("<message to='bob@example.test' type='headline'><body>news</body></message>");
	high.wait_for(|e| e.name() == "message");
	low.wait_for(|e| e.name() == "message");
	neg.expect_none(SHORT, |e| e.name() == "message");
	// To a full JID: only that resource, even with negative priority.
	a.send(&format!("<message to='{}' type='chat'><body>just you</body></message>", neg.jid));
	assert_eq!(message_body(&neg.wait_for(|e| e.name() == "message")), "just you");
	// A full JID that does not exist: chat falls back to the bare JID.
	a.send("<message to='bob@example.test/nonexistent' type='chat'><body>fallback</body></message>");
	assert_eq!(message_body(&high.wait_for(|e| e.name() == "message")), "fallback");
	// groupchat to a user is refused.
	a.send("<message to='bob@example.test' type='groupchat' id='g1'><body>x</body></message>");
	let e = a.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!((e.attr("id"), error_condition(&e).as_str()), (Some("g1"), "service-unavailable"));
}

#[test]
fn message_errors_and_self_messages() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.online("alice");
	let cases = [
		("ghost@example.test", "service-unavailable"),
		("someone@elsewhere.test", "remote-server-not-found"),
		("example.test", "service-unavailable"),
	];
	for (to, cond) in cases {
		a.send(&format!("<message to='{to}' type='chat' id='m'><body>x</body></message>"));
		let e = a.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
		assert_eq!(error_condition(&e), cond, "{to}");
		assert_eq!(e.attr("from"), Some(to));
	}
	// An error message is never answered with another error.
	a.send("<message to='ghost@example.test' type='error'><body>x</body></message>");
	a.expect_none(SHORT, |e| e.name() == "message");
	// A message with no `to` is for one's own account.
	let mut a2 = s.online("alice");
	a.drain(SHORT);
	a.send("<message type='chat'><body>note to self</body></message>");
	let got = a2.wait_for(|e| e.name() == "message");
	assert_eq!(message_body(&got), "note to self");
}

#[test]
fn offline_messages_with_delay_and_cap() {
	let s = server_with_users(&["alice", "bob"], &["max_offline_messages=3"]);
	let mut a = s.online("alice");
	for i in 0..3 {
		a.send(&format!("<message to='bob@example.test' type='chat'><body>m{i}</body></message>"));
	}
	// Chat states alone are not worth storing and do not count.
	a.send("<message to='bob@example.test' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
	// The fourth real message exceeds the cap.
	a.send("<message to='bob@example.test' type='chat' id='over'><body>m3</body></message>");
	let e = a.wait_for(|e| e.name() == "message" && e.attr("type") == Some("error"));
	assert_eq!((e.attr("id"), error_condition(&e).as_str()), (Some("over"), "service-unavailable"));
	// Headlines are not stored.
	a.send("<message to='bob@example.test' type='headline'><body>gone</body></message>");
	// Negative priority: nothing is delivered yet.
	let mut b = s.login("bob");
	b.send("<presence><priority>-5</priority></presence>");
	b.expect_none(SHORT, |e| e.name() == "message");
	b.send("<presence><priority>0</priority></presence>");
	drop(b);
	let mut b = s.login("bob");
	b.send("<presence/>");
	let mut got = Vec::new();
	for _ in 0..3 {
		let m = b.wait_for(|e| e.name() == "message");
		let delay = m.child("delay", "urn:xmpp:delay").expect("delay stamp");
		assert_eq!(delay.attr("from"), Some(DOMAIN));
		assert!(delay.attr("stamp").unwrap().ends_with('Z'));
		assert_eq!(m.attr("from"), Some(a.jid.as_str()));
		got.push(message_body(&m));
	}
	assert_eq!(got, ["m0", "m1", "m2"]);
	b.expect_none(SHORT, |e| e.name() == "message");
	// Delivered means deleted.
	drop(b);
	let mut b = s.login("bob");
	b.send("<presence/>");
	b.expect_none(SHORT, |e| e.name() == "message");
}

#[test]
fn iq_routing_between_clients() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let (mut a, mut b) = mutual(&s);
	// An iq to a full JID goes to that client; its answer comes back.
	a.send(&format!("<iq type='get' id='v1' to='{}'><query xmlns='jabber:iq:version'/></iq>", b.jid));
	let q = b.wait_for(|e| e.name() == "iq" && e.attr("id") == Some("v1"));
	assert_eq!(q.attr("from"), Some(a.jid.as_str()));
	b.send(&format!("<iq type='result' id='v1' to='{}'><query xmlns='jabber:iq:version'><name>test</name></query></iq>", a.jid));
	let r = a.wait_for(|e| e.name() == "iq" && e.attr("id") == Some("v1"));
	assert_eq!((r.attr("type"), r.attr("from")), (Some("result"), Some(b.jid.as_str())));
	// To a resource that does not exist: service-unavailable.
	let r = a.iq("<iq type='get' to='bob@example.test/nope'><query xmlns='jabber:iq:version'/></iq>");
	assert_eq!(error_condition(&r), "service-unavailable");
	// Unknown payloads to the server and to accounts.
	let r = a.iq("<iq type='get' to='example.test'><query xmlns='urn:example:unknown'/></iq>");
	assert_eq!(error_condition(&r), "service-unavailable");
	let r = a.iq("<iq type='get' to='bob@example.test'><query xmlns='urn:example:unknown'/></iq>");
	assert_eq!(error_condition(&r), "service-unavailable");
	let r = a.iq("<iq type='get' to='ghost@example.test'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(error_condition(&r), "service-unavailable");
	// Account disco: contacts may look, strangers may not.
	let r = a.iq("<iq type='get' to='bob@example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	let id = r
		.child("query", "http://jabber.org/protocol/disco#info")
		.unwrap()
		.child("identity", "http://jabber.org/protocol/disco#info")
		.unwrap();
	assert_eq!((id.attr("category"), id.attr("type")), (Some("account"), Some("registered")));
}

#[test]
fn server_disco_ping_version_time() {
	let s = server_with_users(&["alice", "carol"], &[]);
	let mut a = s.login("alice");
	let r = a.iq("<iq type='get' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	let q = r.child("query", "http://jabber.org/protocol/disco#info").unwrap();
	let id = q.child("identity", "http://jabber.org/protocol/disco#info").unwrap();
	assert_eq!((id.attr("category"), id.attr("type")), (Some("server"), Some("im")));
	let features: Vec<&str> = q.children().filter_map(|f| f.attr("var")).collect();
	for f in [
		"http://jabber.org/protocol/disco#info",
		"http://jabber.org/protocol/disco#items",
		"urn:xmpp:ping",
		"jabber:iq:version",
		"urn:xmpp:time",
		"msgoffline",
	] {
		assert!(features.contains(&f), "{f} missing from {features:?}");
	}
	let r = a.iq("<iq type='get' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>");
	assert_eq!(error_condition(&r), "item-not-found");
	let r = a.iq("<iq type='get' to='example.test'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	for to in ["example.test", "alice@example.test"] {
		let r = a.iq(&format!("<iq type='get' to='{to}'><ping xmlns='urn:xmpp:ping'/></iq>"));
		assert_eq!(r.attr("type"), Some("result"), "{to}");
	}
	let r = a.iq("<iq type='get' to='example.test'><query xmlns='jabber:iq:version'/></iq>");
	let q = r.child("query", "jabber:iq:version").unwrap();
	assert_eq!(q.child("name", "jabber:iq:version").unwrap().text(), "Xerra");
	let r = a.iq("<iq type='get' to='example.test'><time xmlns='urn:xmpp:time'/></iq>");
	let t = r.child("time", "urn:xmpp:time").unwrap();
	assert_eq!(t.child("tzo", "urn:xmpp:time").unwrap().text(), "+00:00");
	let utc = t.child("utc", "urn:xmpp:time").unwrap().text();
	let parsed = time::OffsetDateTime::parse(&utc, &time::format_description::well_known::Rfc3339).unwrap();
	assert!((time::OffsetDateTime::now_utc() - parsed).abs() < time::Duration::minutes(1));
	// Account disco for a stranger is refused.
	let r = a.iq("<iq type='get' to='carol@example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	assert_eq!(error_condition(&r), "service-unavailable");
}

/// Issue 12: clients look for some features on the server's JID rather
/// than the account's (Profanity for MAM, poezio for private storage), as
/// Prosody (private storage, roster) and ejabberd (MAM) announce them there.
#[test]
fn the_server_announces_archive_and_private_storage() {
	const INFO: &str = "http://jabber.org/protocol/disco#info";
	let s = server_with_users(&["alice"], &[]);
	let mut a = s.login("alice");
	let vars = |r: &Element| -> Vec<String> {
		r.child("query", INFO).unwrap().children().filter_map(|f| f.attr("var")).map(str::to_owned).collect()
	};
	let server = vars(&a.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='{INFO}'/></iq>")));
	for f in ["urn:xmpp:mam:2", "urn:xmpp:sid:0", "jabber:iq:private", "jabber:iq:roster"] {
		assert!(server.iter().any(|v| v == f), "{f} missing from the server's {server:?}");
	}
	// Only what the queries support: no before-id/after-id/ids (XEP-0313 §7.1).
	assert!(!server.iter().any(|v| v == "urn:xmpp:mam:2#extended"), "{server:?}");
	// The account keeps its own.
	let account = vars(&a.iq(&format!("<iq type='get' to='{}'><query xmlns='{INFO}'/></iq>", jid("alice"))));
	for f in ["urn:xmpp:mam:2", "urn:xmpp:sid:0"] {
		assert!(account.iter().any(|v| v == f), "{f} missing from the account's {account:?}");
	}
}

/// XEP-0115 §6.3: the server's caps in the stream features match its
/// disco#info, which answers for `node#ver`; XEP-0157 contact addresses.
#[test]
fn server_caps_in_stream_features_and_contact_addresses() {
	const INFO: &str = "http://jabber.org/protocol/disco#info";
	let s = server_with_users(&["alice"], &["contact_addresses=admin=xmpp:boss@example.test,abuse=mailto:it@example.org"]);
	let mut a = s.login("alice");
	let features = a.features.clone().expect("features after SASL");
	let c = features.child("c", "http://jabber.org/protocol/caps").unwrap_or_else(|| panic!("{}", features.to_xml("jabber:client")));
	assert_eq!(c.attr("hash"), Some("sha-1"));
	let (node, ver) = (c.attr("node").unwrap().to_owned(), c.attr("ver").unwrap().to_owned());
	let r = a.iq("<iq type='get' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	let q = r.child("query", INFO).unwrap();
	let computed = xerra::features::caps::verification_string(q).unwrap();
	let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, computed.as_bytes());
	assert_eq!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sha1.as_ref()), ver, "ver hashes the disco#info");
	// The contact form is part of what is hashed.
	let form = q.children().map(|x| x.to_xml("jabber:client")).find(|x| x.contains("<value>http://jabber.org/network/serverinfo</value>"));
	let form = form.expect("a serverinfo form");
	assert!(form.contains("admin-addresses") && form.contains("xmpp:boss@example.test"), "{form}");
	assert!(form.contains("abuse-addresses") && form.contains("mailto:it@example.org"), "{form}");
	// node#ver is answered with the same features; another ver is not ours.
	let r = a.iq(&format!("<iq type='get' to='example.test'><query xmlns='{INFO}' node='{node}#{ver}'/></iq>"));
	let q2 = r.child("query", INFO).unwrap();
	assert_eq!(q2.attr("node"), Some(format!("{node}#{ver}").as_str()));
	assert_eq!(xerra::features::caps::verification_string(q2).unwrap(), computed);
	let r = a.iq(&format!("<iq type='get' to='example.test'><query xmlns='{INFO}' node='{node}#AAAA'/></iq>"));
	assert_eq!(error_condition(&r), "item-not-found");
	// Without contact addresses there is no form (and so another ver).
	let plain = server_with_users(&["alice"], &[]);
	let b = plain.login("alice");
	let ver2 = b.features.as_ref().and_then(|f| f.child("c", "http://jabber.org/protocol/caps")).and_then(|c| c.attr("ver")).unwrap();
	assert_ne!(ver2, ver);
}

#[test]
fn offline_flush_bigger_than_the_queue_limit() {
	// Offline delivery is pulled from storage in batches, so it is not held
	// to session_queue_len (which protects against senders, not storage).
	let s = server_with_users(&["alice", "bob"], &["session_queue_len=8", "max_offline_messages=100"]);
	let mut a = s.online("alice");
	for i in 0..60 {
		a.send(&format!("<message to='bob@example.test' type='chat'><body>n{i}</body></message>"));
	}
	a.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	let mut b = s.online("bob");
	let got: Vec<String> = (0..60).map(|_| message_body(&b.wait_for(|e| e.name() == "message"))).collect();
	assert_eq!(got, (0..60).map(|i| format!("n{i}")).collect::<Vec<_>>());
	assert_eq!(b.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
}

#[test]
fn a_client_that_does_not_read_is_disconnected_not_buffered() {
	// Room for everything offline once bob is cut off: otherwise the
	// bounces of a full offline store would fill alice's own queue (she does
	// not read while flooding) and cut her off too, depending on timing.
	let s = server_with_users(&["alice", "bob"], &["session_queue_len=8", "max_offline_messages=5000", "max_offline_bytes=67108864"]);
	let mut b = s.online("bob");
	let mut a = s.online("alice");
	// Bob stops reading; alice floods him with 20 MB.
	let body = "z".repeat(10_000);
	for _ in 0..2000 {
		if !a.try_send(&format!("<message to='{}' type='chat'><body>{body}</body></message>", b.jid)) {
			break;
		}
	}
	a.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	// When bob reads again he finds the stream ended for him.
	b.expect_stream_error("policy-violation");
	// Alice is fine.
	assert_eq!(a.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
}

#[test]
fn pipelined_requests_see_each_others_writes() {
	// Several stanzas in one TCP read: a roster get right after a set must
	// see the set, and messages batched into one commit keep their order.
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut a = s.login("alice");
	a.send(concat!(
		"<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='bob@example.test'/></query></iq>",
		"<iq type='get' id='g1'><query xmlns='jabber:iq:roster'/></iq>",
		"<message to='bob@example.test' type='chat'><body>1</body></message>",
		"<message to='bob@example.test' type='chat'><body>2</body></message>",
		"<message to='bob@example.test' type='chat'><body>3</body></message>",
		"<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
	));
	let g = a.wait_for(|e| e.attr("id") == Some("g1"));
	assert_eq!(items(&g), [(jid("bob"), "none".to_string())]);
	a.wait_for(|e| e.attr("id") == Some("p1"));
	let mut b = s.online("bob");
	let got: Vec<String> = (0..3).map(|_| message_body(&b.wait_for(|e| e.name() == "message"))).collect();
	assert_eq!(got, ["1", "2", "3"]);
}
