//! XEP-0163 PEP over real sockets: publishing with publish-options, access
//! models, limits, retract/configure/delete, restart; and notifications
//! filtered by XEP-0115 caps (+notify), with the last item on login.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::client::error_condition;
use common::{Client, DOMAIN, Server, server_with_users};
use xerra::xmpp::element::Element;
use xerra::xmpp::reader::{XmlLimits, parse_stored};

const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";
const TUNE: &str = "http://jabber.org/protocol/tune";

fn friends(s: &Server, names: &[&str]) {
	assert!(s.cli(&["group", "add", "Team"], None).0);
	for n in names {
		assert!(s.cli(&["group", "add-member", "Team", n], None).0);
	}
}

fn options(fields: &[(&str, &str)]) -> String {
	let mut x = String::from(
		"<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>\
		 <value>http://jabber.org/protocol/pubsub#publish-options</value></field>",
	);
	for (var, value) in fields {
		x.push_str(&format!("<field var='{var}'><value>{value}</value></field>"));
	}
	x + "</x></publish-options>"
}

fn publish(c: &mut Client, node: &str, id: &str, payload: &str, opts: &[(&str, &str)]) -> Element {
	let opts = if opts.is_empty() { String::new() } else { options(opts) };
	c.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='{node}'><item id='{id}'>{payload}</item></publish>{opts}</pubsub></iq>"
	))
}

fn items(c: &mut Client, owner: &str, node: &str, extra: &str) -> Element {
	c.iq(&format!("<iq type='get' to='{}'><pubsub xmlns='{PUBSUB}'><items node='{node}' {extra}/></pubsub></iq>", Server::jid(owner)))
}

fn item_ids(r: &Element) -> Vec<String> {
	let items = r.child("pubsub", PUBSUB).and_then(|p| p.child("items", PUBSUB)).unwrap_or_else(|| panic!("{}", r.to_xml("jabber:client")));
	items.children().map(|i| i.attr("id").unwrap().to_owned()).collect()
}

fn app_condition(r: &Element) -> Option<String> {
	r.child("error", "jabber:client")?.children().find(|c| c.ns() == ERRORS).map(|c| c.name().to_owned())
}

fn tune(title: &str) -> String {
	format!("<tune xmlns='{TUNE}'><title>{title}</title></tune>")
}

#[test]
fn publish_options_access_models_and_errors() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	friends(&s, &["alice", "bob"]);
	let mut alice = s.login("alice");
	// The account is a PEP service that takes publish-options.
	let info = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", alice.bare()));
	let info = info.to_xml("jabber:client");
	assert!(info.contains("category='pubsub'") && info.contains("type='pep'"), "{info}");
	assert!(info.contains("pubsub#publish-options") && info.contains("pubsub#access-whitelist"), "{info}");

	// Default access model: presence. A contact reads, a stranger may not.
	let r = publish(&mut alice, TUNE, "current", &tune("Song 1"), &[]);
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	let mut bob = s.login("bob");
	let mut carol = s.login("carol");
	let r = items(&mut bob, "alice", TUNE, "");
	assert_eq!(item_ids(&r), ["current"]);
	assert!(r.to_xml("jabber:client").contains("Song 1"));
	let r = items(&mut carol, "alice", TUNE, "");
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("not-authorized", Some("presence-subscription-required")));

	// Whitelist (bookmarks): only the owner; many items with max_items=max.
	let bm = "urn:xmpp:bookmarks:1";
	let opts = [("pubsub#access_model", "whitelist"), ("pubsub#max_items", "max"), ("pubsub#send_last_published_item", "never")];
	for room in ["a", "b", "c"] {
		let r =
			publish(&mut alice, bm, &format!("{room}@rooms.{DOMAIN}"), "<conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/>", &opts);
		assert_eq!(r.attr("type"), Some("result"));
	}
	let r = items(&mut bob, "alice", bm, "");
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("not-allowed", Some("closed-node")));
	assert_eq!(item_ids(&items(&mut alice, "alice", bm, "")).len(), 3);
	assert_eq!(item_ids(&items(&mut alice, "alice", bm, "max_items='1'")), [format!("c@rooms.{DOMAIN}")]);
	// Asking for another access model on an existing node: precondition-not-met.
	let r = publish(&mut alice, bm, "d", "<conference xmlns='urn:xmpp:bookmarks:1'/>", &[("pubsub#access_model", "open")]);
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("conflict", Some("precondition-not-met")));
	// An unsupported value is a failed precondition too, and creates nothing.
	let r = publish(&mut alice, "x", "1", "<x xmlns='urn:x'/>", &[("pubsub#access_model", "authorize")]);
	assert_eq!(app_condition(&r).as_deref(), Some("precondition-not-met"));

	// Open (OMEMO bundles and device lists): anyone reads.
	let dl = "eu.siacs.conversations.axolotl.devicelist";
	let r = publish(
		&mut alice,
		dl,
		"current",
		"<list xmlns='eu.siacs.conversations.axolotl'><device id='42'/></list>",
		&[("pubsub#access_model", "open")],
	);
	assert_eq!(r.attr("type"), Some("result"));
	assert!(items(&mut carol, "alice", dl, "").to_xml("jabber:client").contains("id='42'"));

	// Only the owner publishes; malformed publishes; missing nodes.
	let r = bob.iq(&format!(
		"<iq type='set' to='{}'><pubsub xmlns='{PUBSUB}'><publish node='{TUNE}'><item>{}</item></publish></pubsub></iq>",
		Server::jid("alice"),
		tune("x")
	));
	assert_eq!(error_condition(&r), "forbidden");
	let r = alice.iq(&format!("<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='{TUNE}'><item id='e'/></publish></pubsub></iq>"));
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("bad-request", Some("payload-required")));
	let r = alice.iq(&format!("<iq type='set'><pubsub xmlns='{PUBSUB}'><publish><item>{}</item></publish></pubsub></iq>", tune("x")));
	assert_eq!(app_condition(&r).as_deref(), Some("nodeid-required"));
	assert_eq!(error_condition(&items(&mut bob, "alice", "urn:nothing", "")), "item-not-found");
	// Without an id the server makes one and says which.
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='{TUNE}'><item>{}</item></publish></pubsub></iq>",
		tune("Song 2")
	));
	let id =
		r.child("pubsub", PUBSUB).unwrap().child("publish", PUBSUB).unwrap().child("item", PUBSUB).unwrap().attr("id").unwrap().to_owned();
	assert!(!id.is_empty());
	// max_items defaults to 1: the new item replaced the old.
	assert_eq!(item_ids(&items(&mut bob, "alice", TUNE, "")), [id]);

	// disco#items lists the nodes the asker may read.
	let r = bob.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>", Server::jid("alice")));
	let listed = r.to_xml("jabber:client");
	assert!(listed.contains(TUNE) && listed.contains(dl) && !listed.contains(bm), "{listed}");

	// Data survives a restart.
	drop((alice, bob, carol));
	let s = s.restart();
	let mut bob = s.login("bob");
	assert!(items(&mut bob, "alice", TUNE, "").to_xml("jabber:client").contains("Song 2"));
	let mut alice = s.login("alice");
	assert_eq!(item_ids(&items(&mut alice, "alice", bm, "")).len(), 3);
}

#[test]
fn retract_configure_purge_delete() {
	let s = server_with_users(&["alice", "bob"], &[]);
	friends(&s, &["alice", "bob"]);
	let mut alice = s.login("alice");
	let node = "urn:xmpp:test";
	for id in ["1", "2", "3"] {
		publish(&mut alice, node, id, "<x xmlns='urn:x'/>", &[("pubsub#max_items", "10")]);
	}
	let r = alice.iq(&format!("<iq type='set'><pubsub xmlns='{PUBSUB}'><retract node='{node}'><item id='2'/></retract></pubsub></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	assert_eq!(item_ids(&items(&mut alice, "alice", node, "")), ["1", "3"]);
	let r = alice.iq(&format!("<iq type='set'><pubsub xmlns='{PUBSUB}'><retract node='{node}'><item id='2'/></retract></pubsub></iq>"));
	assert_eq!(error_condition(&r), "item-not-found");

	// The configuration form shows what publish-options set; a new one applies.
	let owner = "http://jabber.org/protocol/pubsub#owner";
	let form =
		alice.iq(&format!("<iq type='get'><pubsub xmlns='{owner}'><configure node='{node}'/></pubsub></iq>")).to_xml("jabber:client");
	assert!(form.contains("pubsub#max_items") && form.contains("<value>10</value>") && form.contains("<value>presence</value>"), "{form}");
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{owner}'><configure node='{node}'><x xmlns='jabber:x:data' type='submit'>\
		 <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>\
		 <field var='pubsub#max_items'><value>1</value></field><field var='pubsub#access_model'><value>whitelist</value></field>\
		 </x></configure></pubsub></iq>"
	));
	assert_eq!(r.attr("type"), Some("result"));
	assert_eq!(item_ids(&items(&mut alice, "alice", node, "")), ["3"], "max_items 1 dropped the older item");
	let mut bob = s.login("bob");
	assert_eq!(error_condition(&items(&mut bob, "alice", node, "")), "not-allowed");
	// Others cannot configure or delete it.
	let r = bob.iq(&format!("<iq type='set' to='{}'><pubsub xmlns='{owner}'><delete node='{node}'/></pubsub></iq>", Server::jid("alice")));
	assert_eq!(error_condition(&r), "forbidden");
	let r = alice.iq(&format!("<iq type='set'><pubsub xmlns='{owner}'><purge node='{node}'/></pubsub></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	assert!(item_ids(&items(&mut alice, "alice", node, "")).is_empty());
	let r = alice.iq(&format!("<iq type='set'><pubsub xmlns='{owner}'><delete node='{node}'/></pubsub></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	assert_eq!(error_condition(&items(&mut alice, "alice", node, "")), "item-not-found");
	// create: a new node; an existing one is a conflict.
	let create = format!("<iq type='set'><pubsub xmlns='{PUBSUB}'><create node='{node}'/></pubsub></iq>");
	assert_eq!(alice.iq(&create).attr("type"), Some("result"));
	assert_eq!(error_condition(&alice.iq(&create)), "conflict");
}

#[test]
fn limits_on_nodes_items_and_bytes() {
	let s = server_with_users(&["alice"], &["max_pep_nodes=3", "max_pep_items=2", "max_pep_bytes=2048"]);
	let mut alice = s.login("alice");
	let max = [("pubsub#max_items", "max")];
	for n in ["n1", "n2", "n3"] {
		assert_eq!(publish(&mut alice, n, "1", "<x xmlns='urn:x'/>", &max).attr("type"), Some("result"));
	}
	let r = publish(&mut alice, "n4", "1", "<x xmlns='urn:x'/>", &max);
	assert_eq!(error_condition(&r), "resource-constraint");
	// max_items=max means max_pep_items: the two newest stay.
	for id in ["a", "b", "c"] {
		assert_eq!(publish(&mut alice, "n1", id, "<x xmlns='urn:x'/>", &max).attr("type"), Some("result"));
	}
	assert_eq!(item_ids(&items(&mut alice, "alice", "n1", "")), ["b", "c"]);
	// max_pep_bytes: one account's items in all.
	let big = format!("<x xmlns='urn:x'>{}</x>", "A".repeat(1500));
	assert_eq!(publish(&mut alice, "n2", "big", &big, &[]).attr("type"), Some("result"));
	let r = publish(&mut alice, "n3", "big", &big, &[]);
	assert_eq!(error_condition(&r), "resource-constraint");
	// Replacing the big item with a small one frees the space.
	publish(&mut alice, "n2", "big", "<x xmlns='urn:x'/>", &[]);
	assert_eq!(publish(&mut alice, "n3", "big", &big, &[]).attr("type"), Some("result"));
}

/// XEP-0115 ver of a disco#info answer, computed the XEP's way.
fn ver_of(query: &str) -> String {
	let el = parse_stored(
		query,
		"jabber:client",
		XmlLimits { max_stanza_bytes: usize::MAX, max_depth: 20, max_attrs: 20, max_elements: usize::MAX },
	)
	.unwrap();
	let s = xerra::features::caps::verification_string(&el).unwrap();
	base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, s.as_bytes()).as_ref())
}

fn disco_answer(notify: &[&str]) -> String {
	let mut q = String::from(
		"<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc' name='Test'/>\
		 <feature var='http://jabber.org/protocol/caps'/>",
	);
	for n in notify {
		q.push_str(&format!("<feature var='{n}+notify'/>"));
	}
	q + "</query>"
}

/// Sends presence with caps `ver`; if the server asks, answers with `query`.
/// Returns whether it asked.
fn caps_presence(c: &mut Client, ver: &str, query: &str) -> bool {
	c.send(&format!("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:test' ver='{ver}'/></presence>"));
	let asked = c.wait_within(Duration::from_millis(400), |s| s.name() == "iq" && s.attr("type") == Some("get"));
	let Some(q) = asked else { return false };
	assert_eq!(q.attr("from"), Some(DOMAIN));
	let node = q.child("query", "http://jabber.org/protocol/disco#info").unwrap().attr("node").unwrap().to_owned();
	assert_eq!(node, format!("urn:test#{ver}"));
	let answer = query.replacen("<query ", &format!("<query node='{node}' "), 1);
	c.send(&format!("<iq type='result' id='{}' to='{DOMAIN}'>{answer}</iq>", q.attr("id").unwrap()));
	true
}

fn is_event(el: &Element, from: &str, node: &str) -> bool {
	el.name() == "message"
		&& el.attr("from") == Some(from)
		&& el.attr("type") == Some("headline")
		&& el.child("event", EVENT).and_then(|e| e.children().next()).is_some_and(|i| i.attr("node") == Some(node))
}

#[test]
fn notifications_follow_caps_and_subscriptions() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	friends(&s, &["alice", "bob"]);
	let alice_jid = Server::jid("alice");
	let mut alice = s.login("alice");
	publish(&mut alice, TUNE, "current", &tune("Before"), &[]);
	publish(&mut alice, "secret", "current", "<x xmlns='urn:x'/>", &[("pubsub#access_model", "whitelist")]);

	// bob wants tunes: once the server has his caps he gets the last item.
	let q = disco_answer(&[TUNE, "secret"]);
	let ver = ver_of(&q);
	let mut bob = s.login("bob");
	assert!(caps_presence(&mut bob, &ver, &q), "the server asks what unknown caps mean");
	let last = bob.wait_for(|m| is_event(m, &alice_jid, TUNE));
	assert!(last.to_xml("jabber:client").contains("Before"));
	// A second bob device with the same caps is not asked again (cache).
	let mut bob2 = Client::login(s.port, "bob", common::PASSWORD);
	assert!(!caps_presence(&mut bob2, &ver, &q), "known caps are not asked again");
	bob2.wait_for(|m| is_event(m, &alice_jid, TUNE));
	// A device without +notify, and a stranger with it, get nothing.
	let plain = disco_answer(&[]);
	let mut bob3 = Client::login(s.port, "bob", common::PASSWORD);
	caps_presence(&mut bob3, &ver_of(&plain), &plain);
	let mut carol = s.login("carol");
	caps_presence(&mut carol, &ver, &q);
	// alice's own devices want it too.
	caps_presence(&mut alice, &ver, &q);
	alice.drain(Duration::from_millis(300));

	publish(&mut alice, TUNE, "current", &tune("After"), &[]);
	for c in [&mut bob, &mut bob2, &mut alice] {
		let e = c.wait_for(|m| is_event(m, &alice_jid, TUNE));
		assert!(e.to_xml("jabber:client").contains("After"));
	}
	bob3.expect_none(Duration::from_millis(400), |m| is_event(m, &alice_jid, TUNE));
	carol.expect_none(Duration::from_millis(100), |m| is_event(m, &alice_jid, TUNE));
	// Whitelist nodes notify only the owner.
	publish(&mut alice, "secret", "current", "<x xmlns='urn:x'>2</x>", &[]);
	alice.wait_for(|m| is_event(m, &alice_jid, "secret"));
	bob.expect_none(Duration::from_millis(400), |m| is_event(m, &alice_jid, "secret"));
	// Retractions are notified.
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><retract node='{TUNE}' notify='true'><item id='current'/></retract></pubsub></iq>"
	));
	assert_eq!(r.attr("type"), Some("result"));
	let e = bob.wait_for(|m| is_event(m, &alice_jid, TUNE));
	assert!(e.to_xml("jabber:client").contains("<retract id='current'/>"), "{}", e.to_xml("jabber:client"));

	// A hash that does not match its features serves only its own session:
	// the next session with it is asked again.
	let mut dave1 = Client::login(s.port, "carol", common::PASSWORD);
	assert!(caps_presence(&mut dave1, "bogus+hash=", &q));
	let mut dave2 = Client::login(s.port, "carol", common::PASSWORD);
	assert!(caps_presence(&mut dave2, "bogus+hash=", &q), "an unverified answer is not cached");
}

fn subscribe(c: &mut Client, owner: &str, node: &str, jid: &str, verb: &str) -> Element {
	c.iq(&format!("<iq type='set' to='{}'><pubsub xmlns='{PUBSUB}'><{verb} node='{node}' jid='{jid}'/></pubsub></iq>", Server::jid(owner)))
}

/// XEP-0060 §6.1/§6.2/§5.6: explicit subscriptions beside +notify.
#[test]
fn explicit_subscriptions_notify_until_ended_and_follow_access() {
	let s = server_with_users(&["alice", "bob", "carol"], &["max_pep_subscriptions=2"]);
	friends(&s, &["alice", "bob"]);
	let alice_jid = Server::jid("alice");
	let mut alice = s.online("alice");
	publish(&mut alice, TUNE, "current", &tune("First"), &[]);
	publish(&mut alice, "open", "current", "<x xmlns='urn:x'>1</x>", &[("pubsub#access_model", "open")]);
	publish(&mut alice, "secret", "current", "<x xmlns='urn:x'/>", &[("pubsub#access_model", "whitelist")]);
	let mut bob = s.online("bob");
	// bob's session has no caps (+notify): only his subscription brings events.
	let bob_full = bob.jid.clone();
	let r = subscribe(&mut bob, "alice", TUNE, &bob_full, "subscribe");
	let sub =
		r.child("pubsub", PUBSUB).and_then(|p| p.child("subscription", PUBSUB)).unwrap_or_else(|| panic!("{}", r.to_xml("jabber:client")));
	assert_eq!((sub.attr("subscription"), sub.attr("node")), (Some("subscribed"), Some(TUNE)));
	// The last item comes at once (§6.1.7), then each new one.
	let e = bob.wait_for(|m| is_event(m, &alice_jid, TUNE));
	assert!(e.to_xml("jabber:client").contains("First"));
	publish(&mut alice, TUNE, "current", &tune("Second"), &[]);
	assert!(bob.wait_for(|m| is_event(m, &alice_jid, TUNE)).to_xml("jabber:client").contains("Second"));
	// Another resource of bob's is not subscribed (the subscription named one).
	let mut bob2 = Client::login(s.port, "bob", common::PASSWORD);
	bob2.send("<presence/>");
	bob2.drain(Duration::from_millis(300));
	publish(&mut alice, TUNE, "current", &tune("Third"), &[]);
	bob.wait_for(|m| is_event(m, &alice_jid, TUNE));
	bob2.expect_none(Duration::from_millis(300), |m| is_event(m, &alice_jid, TUNE));
	// A bare JID subscription reaches every resource; subscriptions are listed.
	let bare = bob.bare();
	assert_eq!(subscribe(&mut bob2, "alice", "open", &bare, "subscribe").attr("type"), Some("result"));
	let list = bob.iq(&format!("<iq type='get' to='{alice_jid}'><pubsub xmlns='{PUBSUB}'><subscriptions/></pubsub></iq>"));
	let list = list.to_xml("jabber:client");
	assert!(list.contains(&format!("node='{TUNE}'")) && list.contains("node='open'") && list.contains(&format!("jid='{bare}'")), "{list}");
	publish(&mut alice, "open", "current", "<x xmlns='urn:x'>2</x>", &[]);
	for c in [&mut bob, &mut bob2] {
		c.wait_for(|m| is_event(m, &alice_jid, "open") && m.to_xml("jabber:client").contains(">2<"));
		// Before it, the node's last item, sent when the subscription began.
		c.drain(Duration::from_millis(100));
	}
	// The errors: another's JID, a node one may not read, none at all, the limit.
	let r = subscribe(&mut bob, "alice", "open", &Server::jid("carol"), "subscribe");
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("bad-request", Some("invalid-jid")));
	let r = subscribe(&mut bob, "alice", "secret", &bare, "subscribe");
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("not-allowed", Some("closed-node")));
	let mut carol = s.online("carol");
	let carol_jid = carol.bare();
	let r = subscribe(&mut carol, "alice", TUNE, &carol_jid, "subscribe");
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("not-authorized", Some("presence-subscription-required")));
	assert_eq!(error_condition(&subscribe(&mut bob, "alice", "nothing", &bare, "subscribe")), "item-not-found");
	publish(&mut alice, "third", "current", "<x xmlns='urn:x'/>", &[("pubsub#access_model", "open")]);
	let r = subscribe(&mut bob, "alice", "third", &bare, "subscribe");
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("policy-violation", Some("too-many-subscriptions")));
	// A node that becomes whitelist stops telling subscribers at once.
	let owner = "http://jabber.org/protocol/pubsub#owner";
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{owner}'><configure node='open'><x xmlns='jabber:x:data' type='submit'>\
		 <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>\
		 <field var='pubsub#access_model'><value>whitelist</value></field></x></configure></pubsub></iq>"
	));
	assert_eq!(r.attr("type"), Some("result"));
	publish(&mut alice, "open", "current", "<x xmlns='urn:x'>3</x>", &[]);
	bob2.expect_none(Duration::from_millis(400), |m| is_event(m, &alice_jid, "open"));
	// Unsubscribing ends it; twice is an error. Subscriptions survive a restart.
	assert_eq!(subscribe(&mut bob, "alice", "open", &bare, "unsubscribe").attr("type"), Some("result"));
	let r = subscribe(&mut bob, "alice", "open", &bare, "unsubscribe");
	assert_eq!((error_condition(&r).as_str(), app_condition(&r).as_deref()), ("unexpected-request", Some("not-subscribed")));
	drop((alice, bob, bob2, carol));
	let s = s.restart();
	let list_of = |c: &mut Client| {
		c.iq(&format!("<iq type='get' to='{alice_jid}'><pubsub xmlns='{PUBSUB}'><subscriptions/></pubsub></iq>")).to_xml("jabber:client")
	};
	let mut bob = s.login("bob");
	let list = list_of(&mut bob);
	assert!(list.contains(&format!("jid='{bob_full}'")), "{list}");
	// Deleting a node ends its subscriptions.
	let mut carol = s.login("carol");
	let carol_jid = carol.bare();
	assert_eq!(subscribe(&mut carol, "alice", "third", &carol_jid, "subscribe").attr("type"), Some("result"));
	let mut alice = s.login("alice");
	let r = alice.iq(&format!("<iq type='set'><pubsub xmlns='{owner}'><delete node='third'/></pubsub></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	assert!(!list_of(&mut carol).contains("jid="), "{}", list_of(&mut carol));
	// Deleting an account ends its subscriptions: made again, it has none.
	drop(bob);
	assert!(s.cli(&["user", "del", "bob"], None).0);
	s.add_user("bob");
	let mut bob = s.login("bob");
	assert!(!list_of(&mut bob).contains("jid="), "{}", list_of(&mut bob));
}
