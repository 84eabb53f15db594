//! BOSH (XEP-0124/XEP-0206) at `/http-bind` on the HTTPS port, spoken by a
//! client of our own over real sockets (one TLS connection per request):
//! a session logs in, binds and chats with a TCP client through the same
//! session code; and each bound with its consequence (`bosh_max_wait`,
//! `bosh_max_hold`, the rid window, `bosh_inactivity`,
//! `bosh_max_body_bytes`, the per-address connection limit). Converse.js
//! over BOSH in Chromium is in web_client.rs.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::client::tls_config;
use common::{DOMAIN, PASSWORD, Server, server_with_users};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};
use xerra::xmpp::element::Element;
use xerra::xmpp::reader::{XmlLimits, parse_stored};

const NS: &str = "http://jabber.org/protocol/httpbind";

fn https_port(s: &Server) -> u16 {
	s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an HTTPS listener")
}

/// One POST to /http-bind: the status and the body.
fn post(port: u16, body: &str) -> (u16, String) {
	let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
	let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
	let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
	let mut tls = StreamOwned::new(conn, tcp);
	let req = format!(
		"POST /http-bind HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
		body.len()
	);
	tls.write_all(req.as_bytes()).unwrap();
	let mut raw = Vec::new();
	let _ = tls.read_to_end(&mut raw);
	let text = String::from_utf8_lossy(&raw).into_owned();
	let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
	let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
	(status, body)
}

fn parse(body: &str) -> Element {
	parse_stored(body, "jabber:client", XmlLimits::unlimited()).unwrap_or_else(|| panic!("not XML: {body}"))
}

/// A BOSH session of ours.
struct Bosh {
	port: u16,
	sid: String,
	rid: AtomicU64,
}

impl Bosh {
	/// Makes a session; the creation response.
	fn create(port: u16, extra: &str) -> (Option<Bosh>, Element) {
		let rid = 1_000_000u64;
		let (status, text) = post(
			port,
			&format!(
				"<body xmlns='{NS}' rid='{rid}' to='{DOMAIN}' xml:lang='en' ver='1.6' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'{extra}/>"
			),
		);
		assert_eq!(status, 200, "{text}");
		let el = parse(&text);
		let bosh = el.attr("sid").map(|sid| Bosh { port, sid: sid.to_owned(), rid: AtomicU64::new(rid + 1) });
		(bosh, el)
	}

	fn next_rid(&self) -> u64 {
		self.rid.fetch_add(1, Ordering::SeqCst)
	}

	/// Sends `payload` with the next rid (and `attrs`); the response body.
	fn send(&self, payload: &str, attrs: &str) -> Element {
		self.send_rid(self.next_rid(), payload, attrs)
	}

	fn send_rid(&self, rid: u64, payload: &str, attrs: &str) -> Element {
		let (status, text) = post(self.port, &format!("<body xmlns='{NS}' rid='{rid}' sid='{}'{attrs}>{payload}</body>", self.sid));
		assert_eq!(status, 200, "{text}");
		parse(&text)
	}

	/// Polls (empty requests) until a response holds an element named `name`.
	fn until(&self, name: &str) -> Element {
		let deadline = Instant::now() + Duration::from_secs(60);
		loop {
			let b = self.send("", "");
			assert_ne!(b.attr("type"), Some("terminate"), "{}", b.to_xml(""));
			if let Some(el) = b.children().find(|c| c.name() == name) {
				return el.clone();
			}
			assert!(Instant::now() < deadline, "no {name}");
		}
	}
}

fn login(port: u16, user: &str) -> (Bosh, String) {
	let (bosh, created) = Bosh::create(port, " wait='10' hold='1'");
	let bosh = bosh.unwrap_or_else(|| panic!("no session: {}", created.to_xml("")));
	let features = created.children().find(|c| c.name() == "features").cloned().unwrap_or_else(|| bosh.until("features"));
	let mechs: Vec<String> = features.children().flat_map(|m| m.children().map(|c| c.text())).collect();
	assert!(mechs.iter().any(|m| m == "PLAIN") && !mechs.iter().any(|m| m.ends_with("-PLUS")), "no channel binding over BOSH: {mechs:?}");
	let auth = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{PASSWORD}"));
	let r = bosh.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"), "");
	let success = r.children().any(|c| c.name() == "success");
	let success = success || bosh.until("success").name() == "success";
	assert!(success);
	// XEP-0206 §5: a restart, answered with the new features.
	let r = bosh.send("", " xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'");
	let features = r.children().find(|c| c.name() == "features").cloned().unwrap_or_else(|| bosh.until("features"));
	assert!(features.children().any(|c| c.name() == "bind"), "{}", features.to_xml(""));
	let r = bosh.send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", "");
	let iq = r.children().find(|c| c.name() == "iq").cloned().unwrap_or_else(|| bosh.until("iq"));
	let jid = iq.children().next().and_then(|b| b.children().next()).map(|j| j.text()).expect("a bound JID");
	assert!(jid.starts_with(&format!("{user}@{DOMAIN}/")), "{jid}");
	(bosh, jid)
}

/// A session made, logged in (PLAIN: no channel binding across requests),
/// restarted, bound, chatting both ways with a TCP client, then ended by
/// the client; its sid is then unknown.
#[test]
fn a_bosh_session_logs_in_and_chats() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let port = https_port(&s);
	let (created_bosh, created) = Bosh::create(port, " wait='600' hold='5'");
	let c = created_bosh.expect("a session");
	for (k, v) in
		[("wait", "60"), ("hold", "1"), ("requests", "2"), ("inactivity", "60"), ("polling", "2"), ("ver", "1.11"), ("from", DOMAIN)]
	{
		assert_eq!(created.attr(k), Some(v), "{k} in {}", created.to_xml(""));
	}
	assert!(created.attr("authid").is_some_and(|a| !a.is_empty()));
	drop(c);

	let mut bob = s.online("bob");
	let (alice, jid) = login(port, "alice");
	alice.send(
		&format!(
			"<presence xmlns='jabber:client'/><message xmlns='jabber:client' to='{}' type='chat'><body>over bosh</body></message>",
			Server::jid("bob")
		),
		"",
	);
	let m = bob.wait_for(|e| e.name() == "message");
	assert_eq!(m.attr("from"), Some(jid.as_str()));
	// A held request gets bob's answer as soon as it comes.
	let held = {
		let alice = Bosh { port, sid: alice.sid.clone(), rid: AtomicU64::new(alice.rid.load(Ordering::SeqCst)) };
		std::thread::spawn(move || alice.until("message"))
	};
	std::thread::sleep(Duration::from_millis(300));
	bob.send(&format!("<message to='{jid}' type='chat'><body>back over bosh</body></message>"));
	let got = held.join().unwrap();
	assert_eq!(got.children().find(|c| c.name() == "body").map(|b| b.text()).as_deref(), Some("back over bosh"));
}

/// `type='terminate'` ends the session (and the client's presence); the sid is then unknown.
#[test]
fn a_terminated_session_is_gone() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let port = https_port(&s);
	let (alice, _) = login(port, "alice");
	let r = alice.send("<presence xmlns='jabber:client' type='unavailable'/>", " type='terminate'");
	assert_eq!(r.attr("type"), Some("terminate"), "{}", r.to_xml(""));
	let r = alice.send("", "");
	assert_eq!((r.attr("type"), r.attr("condition")), (Some("terminate"), Some("item-not-found")), "{}", r.to_xml(""));
}

/// `bosh_max_wait`: an empty request is answered empty after the wait;
/// `bosh_max_hold` 1: a second request answers the first at once; a rid
/// no longer remembered or beyond the window ends the session (`item-not-found`).
#[test]
fn wait_hold_and_the_rid_window() {
	let s = server_with_users(&["alice"], &["bosh_max_wait=2"]);
	let port = https_port(&s);
	let (alice, _) = login(port, "alice");
	let t = Instant::now();
	let r = alice.send("", "");
	let took = t.elapsed();
	assert!(r.children().next().is_none() && r.attr("type").is_none(), "{}", r.to_xml(""));
	assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(20), "held {took:?}");

	let first = {
		let a = Bosh { port, sid: alice.sid.clone(), rid: AtomicU64::new(alice.next_rid()) };
		std::thread::spawn(move || {
			let t = Instant::now();
			let r = a.send("", "");
			(t.elapsed(), r)
		})
	};
	std::thread::sleep(Duration::from_millis(300));
	let t = Instant::now();
	let _second = alice.send("", "");
	let (first_took, r) = first.join().unwrap();
	assert!(r.attr("type").is_none());
	// The first came back when the second came, well before its wait.
	assert!(first_took < Duration::from_millis(1500) + Duration::from_millis(300), "first held {first_took:?}");
	assert!(t.elapsed() >= Duration::from_millis(1500), "the second is held");

	// A rid answered long ago (no longer remembered) ends the session.
	let old = alice.rid.load(Ordering::SeqCst) - 5;
	let r = alice.send_rid(old, "", "");
	assert_eq!((r.attr("type"), r.attr("condition")), (Some("terminate"), Some("item-not-found")), "{}", r.to_xml(""));
	let (bosh, _) = login(port, "alice");
	let far = bosh.rid.load(Ordering::SeqCst) + 5;
	let r = bosh.send_rid(far, "", "");
	assert_eq!((r.attr("type"), r.attr("condition")), (Some("terminate"), Some("item-not-found")), "{}", r.to_xml(""));
}

/// `bosh_inactivity`: a session with no request held for that long ends.
#[test]
fn an_inactive_session_ends() {
	let s = server_with_users(&["alice", "bob"], &["bosh_inactivity=2"]);
	let port = https_port(&s);
	let mut bob = s.online("bob");
	let (alice, _) = login(port, "alice");
	alice.send("<presence xmlns='jabber:client'/>", "");
	std::thread::sleep(Duration::from_secs(5));
	let r = alice.send("", "");
	assert_eq!((r.attr("type"), r.attr("condition")), (Some("terminate"), Some("item-not-found")), "{}", r.to_xml(""));
	// Its session ended: a message to it waits offline, not in a lost queue.
	bob.send(&format!("<message to='{}' type='chat'><body>later</body></message>", Server::jid("alice")));
	let mut again = s.online("alice");
	let m = again.wait_for(|e| e.name() == "message");
	assert_eq!(m.child("body", "jabber:client").map(|b| b.text()).as_deref(), Some("later"));
}

/// `bosh_max_body_bytes`: 413; a session counts as a client connection
/// (`max_connections_per_ip`); a body that is not BOSH, or another domain,
/// ends at once.
#[test]
fn bodies_and_sessions_are_bounded() {
	let s = server_with_users(&["alice"], &["bosh_max_body_bytes=4096", "max_connections_per_ip=1"]);
	let port = https_port(&s);
	let (status, _) = post(port, &format!("<body xmlns='{NS}' rid='1' to='{DOMAIN}'>{}</body>", "x".repeat(5000)));
	assert_eq!(status, 413);
	let (status, text) = post(port, "<nonsense/>");
	assert_eq!(status, 200);
	assert_eq!(parse(&text).attr("condition"), Some("bad-request"), "{text}");
	let (status, text) = post(port, &format!("<body xmlns='{NS}' rid='1' to='elsewhere.test'/>"));
	assert_eq!((status, parse(&text).attr("condition")), (200, Some("host-unknown")), "{text}");
	let (first, _) = Bosh::create(port, " wait='5'");
	assert!(first.is_some());
	let (second, el) = Bosh::create(port, "");
	assert!(second.is_none());
	assert_eq!((el.attr("type"), el.attr("condition")), (Some("terminate"), Some("policy-violation")), "{}", el.to_xml(""));
}

/// `hold='0'`: every request is answered at once, the creation response
/// still with its stream id and features.
#[test]
fn hold_zero_answers_at_once() {
	let s = server_with_users(&["alice"], &[]);
	let port = https_port(&s);
	let (bosh, created) = Bosh::create(port, " wait='60' hold='0'");
	let bosh = bosh.expect("a session");
	assert_eq!((created.attr("hold"), created.attr("requests")), (Some("0"), Some("1")), "{}", created.to_xml(""));
	assert!(created.attr("authid").is_some_and(|a| !a.is_empty()), "{}", created.to_xml(""));
	let t = Instant::now();
	let r = bosh.send("", "");
	assert!(r.attr("type").is_none() && t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

/// Empty requests are the client's keepalive: a session that only polls
/// outlives `idle_timeout` (the core sees each as whitespace).
#[test]
fn polling_keeps_a_session_alive() {
	let s = server_with_users(&["alice"], &["idle_timeout=3", "bosh_max_wait=1"]);
	let port = https_port(&s);
	let (alice, _) = login(port, "alice");
	let until = Instant::now() + Duration::from_secs(7);
	while Instant::now() < until {
		let r = alice.send("", "");
		assert_ne!(r.attr("type"), Some("terminate"), "{}", r.to_xml(""));
	}
	let r = alice.send("<iq xmlns='jabber:client' type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>", "");
	let iq = r.children().find(|c| c.name() == "iq").cloned().unwrap_or_else(|| alice.until("iq"));
	assert_eq!(iq.attr("type"), Some("result"), "{}", iq.to_xml(""));
}

/// A stream error from the session code ends the BOSH session with
/// `remote-stream-error`, the error inside (XEP-0206 §7).
#[test]
fn a_stream_error_ends_the_session() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let port = https_port(&s);
	let (alice, _) = login(port, "alice");
	let forged =
		format!("<message xmlns='jabber:client' from='{}/x' to='{}'><body>forged</body></message>", Server::jid("bob"), Server::jid("bob"));
	let mut r = alice.send(&forged, "");
	let deadline = Instant::now() + Duration::from_secs(30);
	while r.attr("type") != Some("terminate") && Instant::now() < deadline {
		r = alice.send("", "");
	}
	assert_eq!((r.attr("type"), r.attr("condition")), (Some("terminate"), Some("remote-stream-error")), "{}", r.to_xml(""));
	let error = r.children().find(|c| c.name() == "error").expect("the stream error inside");
	assert!(error.children().any(|c| c.name() == "invalid-from"), "{}", r.to_xml(""));
	let r = alice.send("", "");
	assert_eq!(r.attr("condition"), Some("item-not-found"), "{}", r.to_xml(""));
}

/// XEP-0124 §14.3: a client whose connection broke sends the same request
/// again. Answered already: the same response again (the chat goes on);
/// still held: the held one answers at once with a recoverable error and
/// the copy gets the data; too many repeats: policy-violation.
#[test]
fn a_request_sent_again_after_a_broken_connection_is_answered_again() {
	let s = server_with_users(&["alice", "bob"], &["bosh_max_wait=5"]);
	let port = https_port(&s);
	let mut bob = s.online("bob");
	let (alice, jid) = login(port, "alice");
	let rid = alice.next_rid();
	let payload = format!("<message xmlns='jabber:client' to='{}' type='chat'><body>once</body></message>", Server::jid("bob"));
	let first = alice.send_rid(rid, &payload, "");
	let again = alice.send_rid(rid, &payload, "");
	assert_eq!(again.to_xml(""), first.to_xml(""), "the same response");
	// Sent once, though the request came twice.
	bob.wait_for(|e| e.name() == "message");
	assert!(bob.drain(Duration::from_millis(500)).iter().all(|e| e.name() != "message"), "delivered twice");

	// Held, then sent again: the first copy answers at once, the second waits and gets the message.
	let rid = alice.next_rid();
	let held = {
		let a = Bosh { port, sid: alice.sid.clone(), rid: AtomicU64::new(0) };
		std::thread::spawn(move || a.send_rid(rid, "", ""))
	};
	std::thread::sleep(Duration::from_millis(300));
	let copy = {
		let a = Bosh { port, sid: alice.sid.clone(), rid: AtomicU64::new(0) };
		std::thread::spawn(move || a.send_rid(rid, "", ""))
	};
	let superseded = held.join().unwrap();
	assert_eq!(superseded.attr("type"), Some("error"), "{}", superseded.to_xml(""));
	bob.send(&format!("<message to='{jid}' type='chat'><body>to the copy</body></message>"));
	let got = copy.join().unwrap();
	assert!(got.to_xml("").contains("to the copy"), "{}", got.to_xml(""));

	// A client that only repeats itself is cut off.
	let mut last = got;
	for _ in 0..20 {
		last = alice.send_rid(rid, "", "");
		if last.attr("type") == Some("terminate") {
			break;
		}
	}
	assert_eq!((last.attr("type"), last.attr("condition")), (Some("terminate"), Some("policy-violation")), "{}", last.to_xml(""));
}
