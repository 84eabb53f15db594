//! XEP-0357 push notifications over real sockets, with an external
//! component (XEP-0114) as the app server: enable/disable and their errors,
//! the registration limit, notifications for offline storage and for a
//! hibernated stream-management session, what does not wake a phone,
//! restart, and an app server that refuses (§8).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::client::error_condition;
use common::{Client, Server, server_with_users};
use xerra::xmpp::element::Element;

const APP: &str = "push.example.test";
const PUSH: &str = "urn:xmpp:push:0";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const COMPONENT: &str = "jabber:component:accept";
const SM: &str = "urn:xmpp:sm:3";

fn app_server(s: &Server) -> (SocketAddr, String) {
	let addr = s.listeners.iter().find(|(k, a)| k == "component" && a.is_ipv4()).expect("component listener").1;
	let (ok, out) = s.cli(&["component", "add", APP], None);
	assert!(ok, "{out}");
	(addr, out.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().trim().to_owned())
}

fn enable(c: &mut Client, node: &str) -> Element {
	c.iq(&format!(
		"<iq type='set'><enable xmlns='{PUSH}' jid='{APP}' node='{node}'><x xmlns='jabber:x:data' type='submit'>\
		 <field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>\
		 <field var='secret'><value>s-{node}</value></field></x></enable></iq>"
	))
}

/// The next notification the app server gets: (node, message-count, the
/// publish-options secret), after answering it with `answer` (a result or
/// an error payload).
fn notification(app: &mut Client, answer: Option<&str>) -> (String, String, String) {
	let iq = app.wait_for(|e| e.name() == "iq" && e.attr("type") == Some("set"));
	assert_eq!(iq.attr("from"), Some(Server::jid("alice").as_str()), "from the account's bare JID");
	let pubsub = iq.child("pubsub", PUBSUB).expect("pubsub");
	let publish = pubsub.child("publish", PUBSUB).expect("publish");
	let form = publish.child("item", PUBSUB).and_then(|i| i.child("notification", PUSH)).and_then(|n| n.child("x", "jabber:x:data"));
	let xml = form.expect("summary form").to_xml(COMPONENT);
	assert!(xml.contains("urn:xmpp:push:summary"), "{xml}");
	assert!(!xml.contains("last-message-body") && !xml.contains("last-message-sender"), "no content for the app server: {xml}");
	let count = xml.split("var='message-count'><value>").nth(1).and_then(|r| r.split('<').next()).unwrap_or_default().to_owned();
	let secret = pubsub.child("publish-options", PUBSUB).map(|o| o.to_xml(COMPONENT)).unwrap_or_default();
	let secret = secret.split("<value>").last().and_then(|r| r.split('<').next()).unwrap_or_default().to_owned();
	let reply = match answer {
		None => format!("<iq type='result' from='{APP}' to='{}' id='{}'/>", iq.attr("from").unwrap(), iq.attr("id").unwrap()),
		Some(err) => format!("<iq type='error' from='{APP}' to='{}' id='{}'>{err}</iq>", iq.attr("from").unwrap(), iq.attr("id").unwrap()),
	};
	app.send(&reply);
	(publish.attr("node").unwrap().to_owned(), count, secret)
}

fn chat(to: &str, body: &str) -> String {
	format!("<message to='{to}' type='chat'><body>{body}</body></message>")
}

#[test]
fn push_notifications_for_offline_and_hibernated_sessions() {
	let s = server_with_users(&["alice", "bob"], &["component_port=0", "max_push_registrations=2", "sm_resume_timeout=2"]);
	let (addr, secret) = app_server(&s);
	let mut app = Client::component(addr, APP, &secret).expect("app server handshake");
	let mut alice = s.online("alice");
	let info =
		alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", Server::jid("alice")));
	assert!(info.to_xml("jabber:client").contains(PUSH), "announced on the account");

	// Bad requests, someone else's account, the limit.
	for (payload, cond) in [
		(format!("<enable xmlns='{PUSH}' node='n'/>"), "bad-request"),
		(format!("<enable xmlns='{PUSH}' jid='{APP}'/>"), "bad-request"),
		(format!("<enable xmlns='{PUSH}' jid='a@@b' node='n'/>"), "jid-malformed"),
	] {
		let e = alice.iq(&format!("<iq type='set'>{payload}</iq>"));
		assert_eq!(error_condition(&e), cond, "{payload}");
	}
	let e = alice.iq(&format!("<iq type='set' to='{}'><enable xmlns='{PUSH}' jid='{APP}' node='n'/></iq>", Server::jid("bob")));
	assert_eq!(error_condition(&e), "forbidden");
	assert_eq!(enable(&mut alice, "n1").attr("type"), Some("result"));
	assert_eq!(enable(&mut alice, "n2").attr("type"), Some("result"));
	assert_eq!(enable(&mut alice, "n1").attr("type"), Some("result"), "enabling again replaces");
	assert_eq!(error_condition(&enable(&mut alice, "n3")), "resource-constraint");
	let r = alice.iq(&format!("<iq type='set'><disable xmlns='{PUSH}' jid='{APP}' node='n2'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));

	// Offline: each message with something to read notifies, counting up;
	// chat states do not.
	drop(alice);
	let mut bob = s.online("bob");
	std::thread::sleep(Duration::from_millis(200));
	bob.send(&chat(&Server::jid("alice"), "one"));
	assert_eq!(notification(&mut app, None), ("n1".to_owned(), "1".to_owned(), "s-n1".to_owned()));
	bob.send(&format!(
		"<message to='{}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
		Server::jid("alice")
	));
	bob.send(&chat(&Server::jid("alice"), "two"));
	assert_eq!(notification(&mut app, None).1, "2");
	app.expect_none(Duration::from_millis(300), |e| e.name() == "iq");

	// Registrations survive a restart.
	let s = s.restart();
	let (ok, out) = s.cli(&["component", "list"], None);
	assert!(ok, "{out}");
	let addr = s.listeners.iter().find(|(k, a)| k == "component" && a.is_ipv4()).unwrap().1;
	let mut app = Client::component(addr, APP, &secret).expect("app server again");
	let mut bob = s.online("bob");
	bob.send(&chat(&Server::jid("alice"), "three"));
	assert_eq!(notification(&mut app, None).0, "n1");

	// A hibernated session (XEP-0198): the registration it enabled is woken.
	let mut alice = s.online("alice");
	alice.send(&format!("<enable xmlns='{SM}' resume='true'/>"));
	alice.wait_for(|e| e.is("enabled", SM));
	assert_eq!(enable(&mut alice, "phone").attr("type"), Some("result"));
	drop(alice);
	std::thread::sleep(Duration::from_millis(300));
	bob.send(&chat(&Server::jid("alice"), "while asleep"));
	let (node, count, _) = notification(&mut app, None);
	assert_eq!((node.as_str(), count.as_str()), ("phone", "1"), "counting starts over after being online");

	// An app server that refuses for good (§8): that registration goes, so
	// the sleeping session's next message wakes nobody.
	bob.send(&chat(&Server::jid("alice"), "refused"));
	let _ = notification(&mut app, Some("<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"));
	std::thread::sleep(Duration::from_millis(300));
	bob.send(&chat(&Server::jid("alice"), "after the refusal"));
	app.expect_none(Duration::from_millis(500), |e| e.name() == "iq");
	// Once resumption times out (sm_resume_timeout=2), messages are stored
	// offline and the registration that is left is notified.
	std::thread::sleep(Duration::from_millis(2500));
	bob.send(&chat(&Server::jid("alice"), "offline again"));
	let (node, _, _) = notification(&mut app, None);
	assert_eq!(node, "n1", "only the registration that was not refused is left");
	app.expect_none(Duration::from_millis(500), |e| e.name() == "iq");
}
