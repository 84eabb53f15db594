//! XEP-0114 external components over real sockets: the handshake and its
//! failures, stanzas both ways (messages, iq, presence subscriptions and
//! probes), what a component may not do, removal, restart and the queue
//! limit.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::client::error_condition;
use common::{Client, DOMAIN, Server, server_with_users};
use xerra::xmpp::element::Element;

const GW: &str = "gw.example.test";
const COMPONENT: &str = "jabber:component:accept";

fn component_addr(s: &Server) -> SocketAddr {
	s.listeners.iter().find(|(k, a)| k == "component" && a.is_ipv4()).expect("component listener").1
}

/// `xerra component add DOMAIN`, returning the secret it printed.
fn add_component(s: &Server, domain: &str) -> String {
	let (ok, out) = s.cli(&["component", "add", domain], None);
	assert!(ok, "{out}");
	out.lines().find_map(|l| l.strip_prefix("secret: ")).expect("secret printed").trim().to_owned()
}

fn is_message_with(body: &'static str) -> impl Fn(&Element) -> bool {
	move |e| e.name() == "message" && e.children().any(|c| c.name() == "body" && c.text() == body)
}

#[test]
fn component_handshake_and_routing() {
	let s = server_with_users(&["alice", "bob"], &["component_port=0"]);
	let addr = component_addr(&s);
	let secret = add_component(&s, GW);
	let (ok, out) = s.cli(&["component", "add", GW], None);
	assert!(!ok && out.contains("exists"), "{out}");
	let (ok, out) = s.cli(&["component", "add", DOMAIN], None);
	assert!(!ok && out.contains("served by Xerra"), "{out}");

	// Handshake failures are stream errors.
	assert_eq!(Client::component(addr, GW, "wrong").err().as_deref(), Some("not-authorized"));
	assert_eq!(Client::component(addr, "nobody.example.test", &secret).err().as_deref(), Some("host-unknown"));
	let mut gw = Client::component(addr, GW, &secret).expect("handshake");
	assert_eq!(Client::component(addr, GW, &secret).err().as_deref(), Some("conflict"));
	let (ok, out) = s.cli(&["component", "list"], None);
	assert!(ok && out.contains(&format!("{GW} (connected)")), "{out}");

	// A user's message reaches the component, in the component namespace.
	let mut alice = s.online("alice");
	alice.send(&format!("<message to='bot@{GW}' type='chat' id='m1'><body>hello bot</body></message>"));
	let m = gw.wait_for(is_message_with("hello bot"));
	assert_eq!(m.ns(), COMPONENT);
	assert_eq!(m.attr("from"), Some(alice.jid.as_str()));
	// And the component's answer reaches her, and her archive.
	gw.send(&format!("<message from='bot@{GW}/r' to='{}' type='chat' id='m2'><body>hello alice</body></message>", Server::jid("alice")));
	let back = alice.wait_for(is_message_with("hello alice"));
	assert_eq!(back.attr("from"), Some(format!("bot@{GW}/r").as_str()));
	assert!(back.child("stanza-id", "urn:xmpp:sid:0").is_some(), "archived for alice: {back:?}");

	// iq both ways: a user's request to the component and its answer.
	alice.send(&format!("<iq type='get' to='{GW}' id='q1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	let q = gw.wait_for(|e| e.name() == "iq" && e.attr("id") == Some("q1"));
	gw.send(&format!(
		"<iq type='result' from='{GW}' to='{}' id='q1'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='gateway' type='irc' name='Bot'/></query></iq>",
		q.attr("from").unwrap()
	));
	let r = alice.wait_for(|e| e.name() == "iq" && e.attr("id") == Some("q1"));
	assert_eq!(r.attr("type"), Some("result"));
	assert!(r.to_xml("jabber:client").contains("gateway"));
	// The component may ask the server for public things ...
	gw.send(&format!("<iq type='get' from='{GW}' to='{DOMAIN}' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	let d = gw.wait_for(|e| e.attr("id") == Some("d1"));
	assert_eq!(d.attr("type"), Some("result"), "{d:?}");
	// ... but not act as an account: no roster, no private data.
	for (id, to, payload) in [
		("x1", Server::jid("alice"), "<query xmlns='jabber:iq:roster'/>"),
		("x2", DOMAIN.to_owned(), "<query xmlns='jabber:iq:private'><a xmlns='x'/></query>"),
		("x3", Server::jid("alice"), "<blocklist xmlns='urn:xmpp:blocking'/>"),
	] {
		gw.send(&format!("<iq type='get' from='alice@{GW}' to='{to}' id='{id}'>{payload}</iq>"));
		let mut e = gw.wait_for(|e| e.attr("id") == Some(id));
		assert_eq!(e.attr("type"), Some("error"), "{e:?}");
		e.rename_ns(COMPONENT, "jabber:client");
		assert_eq!(error_condition(&e), "service-unavailable");
	}
	// To a domain nobody serves: remote-server-not-found, for users and components.
	alice.send("<message to='x@elsewhere.example' type='chat' id='n1'><body>?</body></message>");
	let e = alice.wait_for(|e| e.attr("id") == Some("n1"));
	assert_eq!(error_condition(&e), "remote-server-not-found");

	// Presence subscriptions with a contact on the component (RFC 6121 §3).
	alice.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	alice.send(&format!("<presence to='bot@{GW}' type='subscribe'/>"));
	let sub = gw.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	assert_eq!(sub.attr("from"), Some(Server::jid("alice").as_str()), "stamped with the bare JID");
	gw.send(&format!("<presence from='bot@{GW}' to='{}' type='subscribed'/>", Server::jid("alice")));
	let push = alice.wait_for(|e| e.name() == "iq" && e.to_xml("jabber:client").contains("subscription='to'"));
	assert_eq!(push.attr("type"), Some("set"));
	gw.send(&format!("<presence from='bot@{GW}/r' to='{}'><status>beep</status></presence>", Server::jid("alice")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("bot@{GW}/r")));
	// The component asks back; alice approves and it gets her presence.
	gw.send(&format!("<presence from='bot@{GW}' to='{}' type='subscribe'/>", Server::jid("alice")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	alice.send(&format!("<presence to='bot@{GW}' type='subscribed'/>"));
	gw.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribed"));
	gw.wait_for(|e| e.name() == "presence" && e.attr("type").is_none() && e.attr("from") == Some(alice.jid.as_str()));
	// Leaving: the subscriber hears it; coming back: a probe goes out, and
	// the component's probe is answered.
	drop(alice);
	gw.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unavailable"));
	let mut alice = s.online("alice");
	gw.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("probe"));
	gw.send(&format!("<presence from='bot@{GW}' to='{}' type='probe'/>", Server::jid("alice")));
	gw.wait_for(|e| e.name() == "presence" && e.attr("type").is_none() && e.attr("from") == Some(alice.jid.as_str()));
	// Someone without a subscription gets nothing for a probe, and a
	// subscription request for nobody is refused.
	gw.send(&format!("<presence from='eve@{GW}' to='{}' type='probe'/>", Server::jid("alice")));
	gw.send(&format!("<presence from='eve@{GW}' to='ghost@{DOMAIN}' type='subscribe'/>"));
	let refused = gw.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("unsubscribed"));
	assert_eq!(refused.attr("from"), Some(format!("ghost@{DOMAIN}").as_str()));
	gw.expect_none(Duration::from_millis(300), |e| e.attr("to") == Some(&format!("eve@{GW}")) && e.attr("type").is_none());

	// Stream errors for what a component must not send.
	let mut bad = s.cli(&["component", "add", "bad.example.test"], None);
	assert!(bad.0, "{}", bad.1);
	let bad_secret = bad.1.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().trim().to_owned();
	for (stanza, condition) in [
		(format!("<message to='{}'><body>x</body></message>", Server::jid("alice")), "improper-addressing"),
		(format!("<message from='x@{GW}' to='{}'><body>x</body></message>", Server::jid("alice")), "invalid-from"),
		("<message from='bad.example.test'><body>x</body></message>".to_owned(), "improper-addressing"),
		("<foo from='bad.example.test' to='example.test'/>".to_owned(), "unsupported-stanza-type"),
	] {
		let mut c = Client::component(addr, "bad.example.test", &bad_secret).expect("handshake");
		c.send(&stanza);
		c.expect_stream_error(condition);
	}
	alice.expect_none(Duration::from_millis(300), |e| e.name() == "message" && e.attr("from").is_some_and(|f| f.contains(GW)));
	bad = s.cli(&["component", "del", "bad.example.test"], None);
	assert!(bad.0, "{}", bad.1);

	// Removing the component disconnects it; it is gone after a restart too.
	let (ok, out) = s.cli(&["component", "del", GW], None);
	assert!(ok, "{out}");
	gw.expect_stream_error("not-authorized");
	assert_eq!(Client::component(addr, GW, &secret).err().as_deref(), Some("host-unknown"));
	let secret2 = add_component(&s, GW);
	let s = s.restart();
	let addr = component_addr(&s);
	let (ok, out) = s.cli(&["component", "list"], None);
	assert!(ok && out.trim() == GW, "{out}");
	let mut gw = Client::component(addr, GW, &secret2).expect("handshake after restart");
	let mut bob = s.online("bob");
	bob.send(&format!("<message to='bot@{GW}' type='chat'><body>still there</body></message>"));
	gw.wait_for(is_message_with("still there"));
}

#[test]
fn component_queue_limit_disconnects_a_component_that_does_not_read() {
	let s = server_with_users(&["alice"], &["component_port=0", "component_queue_len=8", "mam_default=never"]);
	let secret = add_component(&s, GW);
	let mut gw = Client::component(component_addr(&s), GW, &secret).expect("handshake");
	let mut alice = s.online("alice");
	// Big messages fill the socket buffers, then the queue.
	let body = "x".repeat(60_000);
	let mut refused = None;
	for i in 0..400 {
		alice.send(&format!("<message to='bot@{GW}' id='f{i}' type='chat'><body>{body}</body></message>"));
		if let Some(e) = alice.wait_within(Duration::from_millis(5), |e| e.attr("type") == Some("error")) {
			refused = Some(e);
			break;
		}
	}
	let refused = refused.expect("a message was refused once the queue was full");
	assert_eq!(error_condition(&refused), "remote-server-timeout");
	gw.expect_stream_error("policy-violation");
	// Alice's session is unharmed.
	let r = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
}

/// Issue 11: one per-address counter served clients and components, so
/// clients from 127.0.0.1 locked the box's own components out.
#[test]
fn client_connections_do_not_lock_components_out() {
	let s = server_with_users(&["alice"], &["component_port=0", "max_connections_per_ip=3", "component_max_connections=1"]);
	let addr = component_addr(&s);
	let secret = add_component(&s, GW);
	let _clients: Vec<Client> = (0..3).map(|_| Client::connect(s.port)).collect();
	std::thread::sleep(Duration::from_millis(200));
	let gw = Client::component(addr, GW, &secret);
	assert!(gw.is_ok(), "{:?}", gw.err());
	// Clients still have their own limit, and components theirs.
	let mut c = Client::connect(s.port);
	c.expect_stream_error("policy-violation");
	let mut second = Client::connect_addr(addr);
	second.expect_stream_error("policy-violation");
}
