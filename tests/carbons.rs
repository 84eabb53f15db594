//! XEP-0280 Message Carbons over real sockets: enabled resources get
//! `<received/>` copies of chat to the account and `<sent/>` copies of chat
//! from its other resources; private, no-copy and other types are not copied.

mod common;

use std::time::Duration;

use common::{DOMAIN, Server, server_with_users};
use xerra::xmpp::element::Element;

const CARBONS: &str = "urn:xmpp:carbons:2";

/// Logs in, sends presence with `priority`, enables carbons if asked.
fn device(s: &Server, user: &str, priority: i8, carbons: bool) -> common::Client {
	let mut c = s.login(user);
	c.send(&format!("<presence><priority>{priority}</priority></presence>"));
	let me = c.jid.clone();
	c.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(me.as_str()));
	if carbons {
		assert_eq!(c.iq("<iq type='set'><enable xmlns='urn:xmpp:carbons:2'/></iq>").attr("type"), Some("result"));
	}
	c
}

/// The forwarded message inside a carbon of `kind` ("sent" or "received").
fn forwarded(e: &Element, kind: &str) -> Option<Element> {
	e.child(kind, CARBONS)?.child("forwarded", "urn:xmpp:forward:0")?.child("message", "jabber:client").cloned()
}

fn is_carbon(e: &Element) -> bool {
	e.name() == "message" && (e.child("sent", CARBONS).is_some() || e.child("received", CARBONS).is_some())
}

#[test]
fn carbons_copy_chat_to_every_enabled_device() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.online("bob");
	let r = bob.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	assert!(r.to_xml("jabber:client").contains(CARBONS));
	let mut phone = device(&s, "alice", 1, true);
	let mut laptop = device(&s, "alice", 0, true);
	let mut old = device(&s, "alice", 0, false);
	// Chat to alice's bare JID goes to the phone (highest priority); the
	// laptop gets a <received/> copy, the resource without carbons nothing.
	bob.send(&format!("<message to='{}' type='chat'><body>hi</body></message>", Server::jid("alice")));
	let m = phone.wait_for(|e| e.name() == "message");
	assert!(!is_carbon(&m));
	let c = laptop.wait_for(is_carbon);
	assert_eq!(c.attr("from"), Some(Server::jid("alice").as_str()));
	assert_eq!(c.attr("to"), Some(laptop.jid.as_str()));
	let inner = forwarded(&c, "received").expect("a received carbon");
	assert_eq!(inner.child("body", "jabber:client").unwrap().text(), "hi");
	assert!(inner.attr("from").unwrap().starts_with("bob@"));
	old.expect_none(Duration::from_millis(300), is_carbon);
	// What the phone sends, the laptop sees as <sent/>; the phone gets no copy of its own.
	phone.send(&format!("<message to='{}' type='chat'><body>on my way</body></message>", Server::jid("bob")));
	bob.wait_for(|e| e.name() == "message");
	let c = laptop.wait_for(is_carbon);
	let inner = forwarded(&c, "sent").expect("a sent carbon");
	assert_eq!(inner.attr("from"), Some(phone.jid.as_str()));
	assert_eq!(inner.child("body", "jabber:client").unwrap().text(), "on my way");
	phone.expect_none(Duration::from_millis(300), is_carbon);
	// To a full JID: the other enabled device still gets a copy.
	bob.send(&format!("<message to='{}' type='chat'><body>direct</body></message>", phone.jid));
	phone.wait_for(|e| e.name() == "message" && !is_carbon(e));
	assert!(forwarded(&laptop.wait_for(is_carbon), "received").is_some());
	// Not copied: <private/>, a no-copy hint, headlines, normal messages without a body.
	for extra in [
		"<message to='{}' type='chat'><body>p</body><private xmlns='urn:xmpp:carbons:2'/></message>",
		"<message to='{}' type='chat'><body>n</body><no-copy xmlns='urn:xmpp:hints'/></message>",
		"<message to='{}' type='headline'><body>h</body></message>",
		"<message to='{}'><subject>s</subject></message>",
	] {
		bob.send(&extra.replace("{}", &Server::jid("alice")));
	}
	phone.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	laptop.expect_none(Duration::from_millis(300), is_carbon);
	// Disabled: no more copies.
	assert_eq!(laptop.iq("<iq type='set'><disable xmlns='urn:xmpp:carbons:2'/></iq>").attr("type"), Some("result"));
	bob.send(&format!("<message to='{}' type='chat'><body>again</body></message>", Server::jid("alice")));
	phone.wait_for(|e| e.name() == "message");
	laptop.expect_none(Duration::from_millis(300), is_carbon);
	// Only for oneself.
	let r = bob.iq(&format!("<iq type='set' to='{}'><enable xmlns='urn:xmpp:carbons:2'/></iq>", Server::jid("alice")));
	assert_eq!(common::client::error_condition(&r), "forbidden");
}
