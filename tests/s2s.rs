//! Federation between two Xerra servers over real sockets (example.test
//! and other.test on loopback, told where each other listens with
//! `s2s_hosts`): dialback both ways over TLS, chat, presence
//! subscriptions across servers, queries, an unreachable domain, and bad
//! input on the server-to-server port (no TLS, forged dialback keys, wrong
//! domains).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::client::error_condition;
use common::{Client, DOMAIN, PASSWORD, Server};
use xerra::xmpp::element::Element;

const OTHER: &str = "other.test";
const DB: &str = "jabber:server:dialback";

fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Two servers that know where the other listens.
fn pair() -> (Server, Server, u16) {
	let (pa, pb) = (free_port(), free_port());
	let a = Server::start(&[&format!("s2s_port={pa}"), &format!("s2s_hosts={OTHER}=127.0.0.1:{pb},dead.test=127.0.0.1:1")]);
	let b = Server::start(&[
		&format!("domain={OTHER}"),
		&format!("s2s_port={pb}"),
		&format!("s2s_hosts={DOMAIN}=127.0.0.1:{pa},rooms.{DOMAIN}=127.0.0.1:{pa}"),
	]);
	a.add_user("alice");
	b.add_user("romeo");
	(a, b, pa)
}

fn romeo_online(b: &Server) -> Client {
	let mut c = Client::login_at(b.port, OTHER, "romeo", PASSWORD);
	c.send("<presence/>");
	let me = c.jid.clone();
	c.wait_for(|s| s.name() == "presence" && s.attr("from") == Some(me.as_str()));
	c
}

fn is_body(body: &'static str) -> impl Fn(&Element) -> bool {
	move |e| e.name() == "message" && e.child("body", "jabber:client").is_some_and(|b| b.text() == body)
}

#[test]
fn two_servers_chat_subscribe_and_query_each_other() {
	let (a, b, _) = pair();
	let mut alice = a.online("alice");
	let mut romeo = romeo_online(&b);
	let romeo_bare = format!("romeo@{OTHER}");

	// Chat both ways (the first stanza makes each server dial the other).
	alice.send(&format!("<message to='{romeo_bare}' type='chat'><body>hello from example</body></message>"));
	let m = romeo.wait_for(is_body("hello from example"));
	assert_eq!(m.attr("from"), Some(alice.jid.as_str()));
	romeo.send(&format!("<message to='{}' type='chat'><body>hello from other</body></message>", alice.jid));
	let m = alice.wait_for(is_body("hello from other"));
	assert_eq!(m.attr("from"), Some(romeo.jid.as_str()));
	assert!(a.log_text().contains("authenticated by dialback"), "{}", a.log_text());
	assert!(b.log_text().contains("authenticated by dialback"), "{}", b.log_text());

	// A subscription across servers ends in both, with presence each way.
	alice.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	romeo.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	alice.send(&format!("<presence to='{romeo_bare}' type='subscribe'/>"));
	romeo.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe") && e.attr("from") == Some(&Server::jid("alice")));
	romeo.send(&format!("<presence to='{}' type='subscribed'/>", Server::jid("alice")));
	alice.wait_for(|e| e.name() == "iq" && e.to_xml("jabber:client").contains("subscription='to'"));
	alice.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(romeo.jid.as_str()) && e.attr("type").is_none());
	romeo.send(&format!("<presence to='{}' type='subscribe'/>", Server::jid("alice")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	alice.send(&format!("<presence to='{romeo_bare}' type='subscribed'/>"));
	romeo.wait_for(|e| e.name() == "iq" && e.to_xml("jabber:client").contains("subscription='both'"));
	romeo.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(alice.jid.as_str()) && e.attr("type").is_none());
	alice.send("<presence><status>at lunch</status></presence>");
	romeo.wait_for(|e| e.name() == "presence" && e.child("status", "jabber:client").is_some_and(|s| s.text() == "at lunch"));
	// The subscription is stored on both sides.
	let roster = alice.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>").to_xml("jabber:client");
	assert!(roster.contains(&romeo_bare) && roster.contains("subscription='both'"), "{roster}");

	// Queries to the other server and to an account there.
	let info = alice.iq(&format!("<iq type='get' to='{OTHER}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	assert_eq!(info.attr("type"), Some("result"), "{info:?}");
	assert!(info.to_xml("jabber:client").contains("category='server'"));
	let v = alice.iq(&format!("<iq type='get' to='{romeo_bare}'><vCard xmlns='vcard-temp'/></iq>"));
	assert_eq!(v.attr("type"), Some("result"), "{v:?}");
	// But nothing that is the other account's own business.
	let r = alice.iq(&format!("<iq type='get' to='{romeo_bare}'><query xmlns='jabber:iq:roster'/></iq>"));
	assert_eq!(error_condition(&r), "service-unavailable");

	// A room here with an occupant from the other server (its link
	// speaks for rooms.example.test, proved by its own dialback).
	let room = format!("team@rooms.{DOMAIN}");
	alice.send(&format!("<presence to='{room}/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
	alice.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	romeo.send(&format!("<presence to='{room}/romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
	romeo.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("{room}/alice")));
	romeo.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	alice.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("{room}/romeo")));
	romeo.send(&format!("<message to='{room}' type='groupchat'><body>hi room</body></message>"));
	let m = alice.wait_for(is_body("hi room"));
	assert_eq!(m.attr("from"), Some(format!("{room}/romeo").as_str()));
	alice.send(&format!("<message to='{room}' type='groupchat'><body>welcome romeo</body></message>"));
	let m = romeo.wait_for(is_body("welcome romeo"));
	assert_eq!(m.attr("from"), Some(format!("{room}/alice").as_str()));
	// Occupants' vCards, each fetched from the account's own server; the
	// answer comes from the occupant JID, real JIDs stay hidden.
	assert_eq!(romeo.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Romeo M.</FN></vCard></iq>").attr("type"), Some("result"));
	assert_eq!(alice.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice L.</FN></vCard></iq>").attr("type"), Some("result"));
	let v = alice.iq(&format!("<iq type='get' to='{room}/romeo'><vCard xmlns='vcard-temp'/></iq>"));
	assert_eq!(v.attr("from"), Some(format!("{room}/romeo").as_str()));
	assert!(v.to_xml("jabber:client").contains("<FN>Romeo M.</FN>"), "{v:?}");
	let v = romeo.iq(&format!("<iq type='get' to='{room}/alice'><vCard xmlns='vcard-temp'/></iq>"));
	assert!(v.to_xml("jabber:client").contains("<FN>Alice L.</FN>"), "{v:?}");
	romeo.send(&format!("<presence to='{room}/romeo' type='unavailable'/>"));
	alice.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("{room}/romeo")) && e.attr("type") == Some("unavailable"));

	// Going offline reaches the other server too.
	drop(romeo);
	alice.wait_for(|e| {
		e.name() == "presence" && e.attr("type") == Some("unavailable") && e.attr("from").is_some_and(|f| f.starts_with("romeo@"))
	});

	// A domain whose server cannot be reached: the sender hears so.
	alice.send("<message to='x@dead.test' type='chat' id='d1'><body>anyone?</body></message>");
	let e = alice.wait_for(|e| e.attr("id") == Some("d1"));
	assert_eq!(error_condition(&e), "remote-server-not-found");
	// A special-use name that no route names is not even looked up.
	alice.send("<message to='x@nowhere.test' type='chat' id='d2'><body>anyone?</body></message>");
	let e = alice.wait_for(|e| e.attr("id") == Some("d2"));
	assert_eq!(error_condition(&e), "remote-server-not-found");
}

/// A raw server-to-server stream to `addr`, claiming to be `from`.
fn s2s_client(addr: SocketAddr, from: &str, to: &str) -> (Client, Element) {
	let mut c = Client::connect_addr(addr);
	c.domain = to.to_owned();
	let header = format!(
		"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='{DB}' from='{from}' to='{to}' version='1.0'>"
	);
	let features = c.open_with(&header);
	(c, features)
}

#[test]
fn the_s2s_port_refuses_what_it_cannot_trust() {
	let (a, _b, pa) = pair();
	let addr: SocketAddr = format!("127.0.0.1:{pa}").parse().unwrap();
	let mut alice = a.online("alice");

	// A domain this server does not serve.
	let mut c = Client::connect_addr(addr);
	c.send("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='nobody.test' version='1.0'>");
	c.expect_stream_error("host-unknown");

	// Features: STARTTLS (required) and dialback; stanzas before TLS are refused.
	let (mut c, features) = s2s_client(addr, "evil.test", DOMAIN);
	assert!(features.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls").is_some());
	assert!(features.child("dialback", "urn:xmpp:features:dialback").is_some());
	c.send(&format!("<message from='x@evil.test' to='{}'><body>spoof</body></message>", Server::jid("alice")));
	c.expect_stream_error("policy-violation");

	// After TLS, stanzas still need dialback first.
	let (mut c, _) = s2s_client(addr, OTHER, DOMAIN);
	c.starttls();
	let header = format!(
		"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='{DB}' from='{OTHER}' to='{DOMAIN}' version='1.0'>"
	);
	let features = c.open_with(&header);
	assert!(features.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls").is_none(), "TLS is on");
	c.send(&format!("<message from='romeo@{OTHER}' to='{}'><body>spoof</body></message>", Server::jid("alice")));
	c.expect_stream_error("not-authorized");

	// A forged key for other.test: this server asks other.test's server,
	// which never made it, and refuses.
	let (mut c, _) = s2s_client(addr, OTHER, DOMAIN);
	c.starttls();
	c.open_with(&header);
	c.send(&format!("<db:result from='{OTHER}' to='{DOMAIN}'>0123456789abcdef</db:result>"));
	let r = c.wait_for(|e| e.is("result", DB));
	assert_eq!(r.attr("type"), Some("invalid"));
	c.expect_stream_error("not-authorized");
	alice.expect_none(Duration::from_millis(300), |e| e.name() == "message");

	// Before a peer has proved itself, only small stanzas (16 KiB).
	let (mut c, _) = s2s_client(addr, OTHER, DOMAIN);
	c.send(&format!("<db:verify from='{OTHER}' to='{DOMAIN}' id='x'>{}</db:verify>", "a".repeat(20_000)));
	c.expect_stream_error("policy-violation");

	// Claiming to be this server's own domain, or something that is no domain.
	for from in [DOMAIN.to_owned(), format!("rooms.{DOMAIN}"), "user@evil.test".to_owned()] {
		let (mut c, _) = s2s_client(addr, OTHER, DOMAIN);
		c.starttls();
		c.open_with(&header);
		c.send(&format!("<db:result from='{from}' to='{DOMAIN}'>0123456789abcdef</db:result>"));
		c.expect_stream_error("invalid-from");
	}

	// Asking this server about a key it never made.
	let (mut c, _) = s2s_client(addr, OTHER, DOMAIN);
	c.send(&format!("<db:verify from='{OTHER}' to='{DOMAIN}' id='abc'>0123456789abcdef</db:verify>"));
	let v = c.wait_for(|e| e.is("verify", DB));
	assert_eq!(v.attr("type"), Some("invalid"));
	assert_eq!(v.attr("id"), Some("abc"));

	// The server is unharmed.
	let r = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
}

#[test]
fn a_server_that_does_not_answer_fills_its_queue_then_everything_bounces() {
	// A "server" that takes the connection and never says a word.
	let silent = TcpListener::bind("127.0.0.1:0").unwrap();
	let port = silent.local_addr().unwrap().port();
	let a = Server::start(&[
		&format!("s2s_port={}", free_port()),
		&format!("s2s_hosts=mute.test=127.0.0.1:{port}"),
		"s2s_queue_len=8",
		"negotiation_timeout=3",
	]);
	a.add_user("alice");
	let mut alice = a.online("alice");
	for i in 0..9 {
		alice.send(&format!("<message to='x@mute.test' type='chat' id='q{i}'><body>{i}</body></message>"));
	}
	// The ninth finds the queue full at once ...
	let e = alice.wait_for(|e| e.attr("id") == Some("q8"));
	assert_eq!(error_condition(&e), "remote-server-timeout");
	let (_conn, _) = silent.accept().unwrap();
	// ... and when the peer never finishes the stream, the eight come back.
	for i in 0..8 {
		let id = format!("q{i}");
		let e = alice.wait_for(|e| e.attr("id") == Some(id.as_str()));
		assert_eq!(error_condition(&e), "remote-server-not-found", "{id}");
	}
	// A new stanza tries again.
	alice.send("<message to='x@mute.test' type='chat' id='again'><body>?</body></message>");
	let (_conn2, _) = silent.accept().unwrap();
}

#[test]
fn a_room_lets_go_of_an_occupant_whose_server_is_gone() {
	let (a, mut b, _) = pair();
	let mut alice = a.online("alice");
	let mut romeo = romeo_online(&b);
	let room = format!("team@rooms.{DOMAIN}");
	alice.send(&format!("<presence to='{room}/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
	alice.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	romeo.send(&format!("<presence to='{room}/romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
	romeo.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	alice.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("{room}/romeo")));
	// The other server dies without a word; the room's next message
	// cannot reach romeo, and he is taken out (status 333).
	b.kill9();
	std::thread::sleep(Duration::from_millis(300));
	alice.send(&format!("<message to='{room}' type='groupchat'><body>still there?</body></message>"));
	let gone = alice
		.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("{room}/romeo")) && e.attr("type") == Some("unavailable"));
	assert!(gone.to_xml("jabber:client").contains("code='333'"), "{gone:?}");
}

/// Issue 11: one counter served clients and peers, so peers that never
/// finished their streams locked every client out.
#[test]
fn peer_connections_do_not_use_up_client_connections() {
	use std::io::Write;
	let port = free_port();
	let s = Server::start(&[&format!("s2s_port={port}"), "max_connections=3", "s2s_max_connections_per_ip=5"]);
	s.add_user("alice");
	let header = format!(
		"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='{DB}' from='{OTHER}' to='{DOMAIN}' version='1.0'>"
	);
	let _peers: Vec<std::net::TcpStream> = (0..5)
		.map(|_| {
			let mut t = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
			t.write_all(header.as_bytes()).unwrap();
			t
		})
		.collect();
	std::thread::sleep(Duration::from_millis(300));
	let mut alice = s.login("alice");
	assert_eq!(alice.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
	// Peers have their own limits: s2s_max_connections_per_ip here.
	let mut sixth = Client::connect_addr(format!("127.0.0.1:{port}").parse().unwrap());
	sixth.expect_stream_error("policy-violation");
}

/// Issue 11: a peer that sent `<starttls/>` and then half a TLS
/// ClientHello was never timed out (the handshake ran outside the
/// negotiation deadline), so such connections piled up for good.
#[test]
fn a_peer_that_stalls_in_the_tls_handshake_is_dropped() {
	use std::io::{Read, Write};
	let port = free_port();
	let _a = Server::start(&[&format!("s2s_port={port}"), "negotiation_timeout=2"]);
	let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
	let header = format!(
		"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='{DB}' from='{OTHER}' to='{DOMAIN}' version='1.0'>"
	);
	tcp.write_all(header.as_bytes()).unwrap();
	tcp.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let mut got = Vec::new();
	let mut buf = [0u8; 4096];
	while !String::from_utf8_lossy(&got).contains("<proceed") {
		let n = tcp.read(&mut buf).expect("proceed");
		assert!(n > 0, "closed before <proceed/>");
		got.extend_from_slice(&buf[..n]);
	}
	// A TLS record header announcing 512 bytes of handshake, then a few of them.
	tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]).unwrap();
	let start = std::time::Instant::now();
	tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
	let closed = match tcp.read(&mut buf) {
		Ok(0) => true,
		Ok(_) => false,
		Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
	};
	assert!(closed, "still open after {:?}", start.elapsed());
}

/// Issue 11: the peer's `from` and `to` are normalized before any lookup
/// (case, a trailing dot), so our own domain in capitals is no stranger
/// and a peer's name in capitals is looked up where the lowercase one is.
#[test]
fn peer_names_are_normalized_before_any_lookup() {
	let (_a, _b, pa) = pair();
	let addr: SocketAddr = format!("127.0.0.1:{pa}").parse().unwrap();
	// Our domain, spelt otherwise, is still ours.
	let (mut c, features) = s2s_client(addr, OTHER, "EXAMPLE.Test.");
	assert!(features.child("dialback", "urn:xmpp:features:dialback").is_some(), "{}", features.to_xml("jabber:server"));
	c.domain = DOMAIN.to_owned();
	c.starttls();
	let header = format!(
		"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='{DB}' from='{OTHER}' to='{DOMAIN}' version='1.0'>"
	);
	c.open_with(&header);
	// A peer claiming our own domain in another spelling is refused at once.
	c.send(&format!("<db:result from='Example.TEST.' to='{DOMAIN}'>0123456789abcdef</db:result>"));
	c.expect_stream_error("invalid-from");
	// other.test in capitals is asked at other.test's address, which never
	// made this key: an answer (invalid), not a failure to find the server.
	let (mut c, _) = s2s_client(addr, OTHER, DOMAIN);
	c.starttls();
	c.open_with(&header);
	c.send("<db:result from='OTHER.TEST.' to='EXAMPLE.TEST'>0123456789abcdef</db:result>");
	let r = c.wait_for(|e| e.is("result", DB));
	assert_eq!(
		(r.attr("type"), r.attr("from"), r.attr("to")),
		(Some("invalid"), Some(DOMAIN), Some(OTHER)),
		"{}",
		r.to_xml("jabber:server")
	);
}

/// Issue 12: a directed presence (a room join) to a server that cannot be
/// reached is answered with `remote-server-not-found` like a message, to
/// the session that sent it only; presence broadcast to contacts there
/// brings no errors back.
#[test]
fn a_join_to_an_unreachable_server_bounces_but_broadcast_presence_does_not() {
	let (a, mut b, _) = pair();
	let mut alice = a.online("alice");
	let mut other_device = a.online("alice");
	let mut romeo = romeo_online(&b);
	// Romeo follows alice's presence: her broadcasts go to his server.
	romeo.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	romeo.send(&format!("<presence to='{}' type='subscribe'/>", Server::jid("alice")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	alice.send(&format!("<presence to='romeo@{OTHER}' type='subscribed'/>"));
	romeo.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(alice.jid.as_str()) && e.attr("type").is_none());
	// His server goes away.
	b.kill9();
	std::thread::sleep(Duration::from_millis(300));
	alice.send("<presence><show>away</show></presence>");
	alice.send("<presence to='team@dead.test/alice' id='join1'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
	let e = alice.wait_for(|e| e.attr("id") == Some("join1"));
	assert_eq!((e.name(), e.attr("type")), ("presence", Some("error")), "{e:?}");
	assert_eq!(error_condition(&e), "remote-server-not-found");
	assert_eq!(e.attr("from"), Some("team@dead.test/alice"));
	// A message after the broadcast, on the same failed link, comes back;
	// the broadcast before it did not.
	alice.send(&format!("<message to='romeo@{OTHER}' type='chat' id='m1'><body>there?</body></message>"));
	loop {
		let e = alice.stanza();
		assert!(!(e.name() == "presence" && e.attr("type") == Some("error")), "a broadcast bounced: {e:?}");
		if e.attr("id") == Some("m1") {
			assert_eq!(e.attr("type"), Some("error"), "{e:?}");
			break;
		}
	}
	other_device.expect_none(Duration::from_millis(500), |e| e.attr("type") == Some("error"));
}
