//! XEP-0388 SASL2 with XEP-0386 Bind2 and inline XEP-0198 / XEP-0280 /
//! XEP-0352 over real sockets: SCRAM (and -PLUS) through `<authenticate/>`,
//! one round trip from password to a bound, stream-managed session, inline
//! resumption, and failures counted like RFC 6120 SASL.

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Client, DOMAIN, PASSWORD, Server, server_with_users};
use ring::{digest, hmac, pbkdf2};
use xerra::xmpp::element::Element;

const SASL2: &str = "urn:xmpp:sasl:2";
const BIND2: &str = "urn:xmpp:bind:0";
const SM: &str = "urn:xmpp:sm:3";

/// TLS up, features read.
fn secure(s: &Server) -> Client {
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	let f = c.open();
	assert!(f.child("authentication", SASL2).is_some(), "SASL2 is offered: {f:?}");
	c
}

/// A SCRAM exchange through SASL2 with `inline`; returns the `<success/>`
/// (server signature checked) or the condition.
fn scram2(c: &mut Client, user: &str, password: &str, mech: &str, inline: &str) -> Result<Element, String> {
	let outcome = scram2_raw(c, user, password, mech, inline)?;
	assert!(outcome.is("success", SASL2), "{outcome:?}");
	if let Some(jid) = outcome.child("authorization-identifier", SASL2) {
		c.jid = jid.text();
	}
	// No restart: the features of the signed-in stream follow at once.
	let f = c.stanza();
	assert_eq!(f.name(), "features", "{f:?}");
	Ok(outcome)
}

/// The SCRAM exchange up to what follows the client-final-message (its
/// additional data checked as the server signature); failures as Err.
fn scram2_raw(c: &mut Client, user: &str, password: &str, mech: &str, inline: &str) -> Result<Element, String> {
	let plus = mech.ends_with("-PLUS");
	let gs2 = if plus { "p=tls-exporter,," } else { "n,," };
	let nonce = "fyko+d2lbbFgONRv9qkxdawL";
	let first_bare = format!("n={user},r={nonce}");
	c.send(&format!(
		"<authenticate xmlns='{SASL2}' mechanism='{mech}'><initial-response>{}</initial-response>{inline}</authenticate>",
		B64.encode(format!("{gs2}{first_bare}"))
	));
	let ch = c.stanza();
	if ch.name() == "failure" {
		return Err(condition(&ch));
	}
	assert!(ch.is("challenge", SASL2), "{ch:?}");
	let server_first = String::from_utf8(B64.decode(ch.text()).unwrap()).unwrap();
	let cb = if plus { c.exporter().expect("TLS 1.3 exporter") } else { Vec::new() };
	let sha256 = mech.starts_with("SCRAM-SHA-256");
	let (client_final, server_final) = common::client::scram_client(sha256, password, gs2, &first_bare, &server_first, &cb);
	c.send(&format!("<response xmlns='{SASL2}'>{}</response>", B64.encode(client_final)));
	let outcome = c.stanza();
	if outcome.name() == "failure" {
		return Err(condition(&outcome));
	}
	let v = String::from_utf8(B64.decode(outcome.child("additional-data", SASL2).unwrap().text()).unwrap()).unwrap();
	assert_eq!(v, server_final, "server signature");
	Ok(outcome)
}

fn condition(failure: &Element) -> String {
	failure.children().find(|e| e.ns() == "urn:ietf:params:xml:ns:xmpp-sasl").map(|e| e.name().to_owned()).unwrap_or_default()
}

const UA: &str =
	"<user-agent id='0c4d4a9e-1d54-4c53-8b2c-d0e7b2e0f4a1'><software>xerra-tests</software><device>bench</device></user-agent>";

fn bind2(extra: &str) -> String {
	format!("{UA}<bind xmlns='{BIND2}'><tag>Tests</tag>{extra}</bind>")
}

fn chat(to: &str, body: &str) -> String {
	format!("<message type='chat' to='{to}'><body>{body}</body></message>")
}

fn body_of(e: &Element) -> Option<String> {
	e.child("body", "jabber:client").map(|b| b.text())
}

#[test]
fn one_round_trip_to_a_bound_managed_session_with_carbons() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut c = secure(&s);
	let extra = "<enable xmlns='urn:xmpp:carbons:2'/><enable xmlns='urn:xmpp:sm:3' resume='true'/>";
	let ok = scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256", &bind2(extra)).expect("login");
	let jid = ok.child("authorization-identifier", SASL2).unwrap().text();
	assert!(jid.starts_with(&format!("alice@{DOMAIN}/Tests.")), "{jid}");
	let enabled = ok.child("bound", BIND2).and_then(|b| b.child("enabled", SM)).expect("SM enabled inline");
	assert_eq!(enabled.attr("resume"), Some("true"));
	// The session works, is counted by SM, and carbons are on: bob's other
	// resource... alice's second device sees what alice's first one receives.
	let mut phone = s.online("alice");
	let mut bob = s.online("bob");
	bob.send(&chat(&phone.jid.clone(), "to the phone"));
	phone.wait_for(|e| body_of(e).as_deref() == Some("to the phone"));
	let carbon = c.wait_for(|e| e.child("received", "urn:xmpp:carbons:2").is_some());
	assert_eq!(carbon.attr("to"), Some(jid.as_str()));
	c.send(&format!("<r xmlns='{SM}'/>"));
	assert_eq!(c.wait_for(|e| e.is("a", SM)).attr("h"), Some("0"));
}

#[test]
fn scram_plus_and_sha1_work_through_sasl2() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = secure(&s);
	assert!(scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256-PLUS", &bind2("")).is_ok());
	let r = c.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	let mut c = secure(&s);
	assert!(scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-1", "").is_ok());
	// Without Bind2 the client binds as in RFC 6120, on the same stream.
	assert!(c.bind(Some("desk")).is_ok());
}

#[test]
fn failures_count_against_the_connection_as_with_sasl() {
	let s = server_with_users(&["alice"], &["auth_retries_per_connection=2"]);
	let mut c = secure(&s);
	assert_eq!(scram2(&mut c, "alice", "wrong", "SCRAM-SHA-256", "").unwrap_err(), "not-authorized");
	assert_eq!(scram2(&mut c, "alice", "wrong", "SCRAM-SHA-256", "").unwrap_err(), "not-authorized");
	c.expect_stream_error("policy-violation");
	assert!(s.log_text().contains("login failed for alice"), "failed SASL2 logins are logged");
	let mut c = secure(&s);
	c.send(&format!("<authenticate xmlns='{SASL2}' mechanism='DIGEST-MD5'/>"));
	assert_eq!(condition(&c.stanza()), "invalid-mechanism");
}

#[test]
fn resumes_inline_and_falls_back_to_bind2() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.online("bob");
	let mut c = secure(&s);
	let ok = scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256", &bind2("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")).unwrap();
	let previd = ok.child("bound", BIND2).and_then(|b| b.child("enabled", SM)).and_then(|e| e.attr("id")).unwrap().to_owned();
	let jid = c.jid.clone();
	c.send("<presence/>");
	c.wait_for(|e| e.name() == "presence");
	drop(c);
	std::thread::sleep(Duration::from_millis(300));
	bob.send(&chat(&jid, "while away"));

	let mut again = secure(&s);
	let resume = format!("<resume xmlns='{SM}' previd='{previd}' h='1'/>");
	let ok = scram2(&mut again, "alice", PASSWORD, "SCRAM-SHA-256", &format!("{resume}{}", bind2(""))).unwrap();
	let resumed = ok.child("resumed", SM).expect("resumed inline");
	assert_eq!((resumed.attr("previd"), resumed.attr("h")), (Some(previd.as_str()), Some("1")));
	assert_eq!(ok.child("authorization-identifier", SASL2).unwrap().text(), jid, "the same session");
	assert!(ok.child("bound", BIND2).is_none(), "no new binding when resumed");
	again.wait_for(|e| body_of(e).as_deref() == Some("while away"));

	// A stale id: <failed/> inside the success, and the Bind2 request is done instead.
	let mut third = secure(&s);
	let ok = scram2(&mut third, "alice", PASSWORD, "SCRAM-SHA-256", &format!("<resume xmlns='{SM}' previd='nope' h='0'/>{}", bind2("")))
		.unwrap();
	assert!(ok.child("failed", SM).is_some(), "{ok:?}");
	assert!(ok.child("bound", BIND2).is_some(), "{ok:?}");
	let r = third.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
}

#[test]
fn inactive_inline_holds_presence_until_active() {
	let s = server_with_users(&["alice", "bob"], &[]);
	assert!(s.cli(&["group", "add", "Team"], None).0);
	for n in ["alice", "bob"] {
		assert!(s.cli(&["group", "add-member", "Team", n], None).0);
	}
	let mut c = secure(&s);
	scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256", &bind2("<inactive xmlns='urn:xmpp:csi:0'/>")).unwrap();
	// Even the echo of its own presence waits while it is inactive.
	c.send("<presence/>");
	let _bob = s.online("bob");
	let from_bob = |e: &Element| e.name() == "presence" && e.attr("from").is_some_and(|f| f.starts_with("bob@"));
	c.expect_none(Duration::from_millis(800), from_bob);
	c.send("<active xmlns='urn:xmpp:csi:0'/>");
	c.wait_for(from_bob);
}

// ---- FAST (XEP-0484) ----

const FAST: &str = "urn:xmpp:fast:0";
const HT: &str = "HT-SHA-256-NONE";

fn ua(id: &str) -> String {
	format!("<user-agent id='{id}'><software>xerra-tests</software><device>{id}</device></user-agent>")
}

/// A password login from device `id` asking for a token; returns it.
fn token_for(s: &Server, user: &str, id: &str) -> String {
	let mut c = secure(s);
	let ok =
		scram2(&mut c, user, PASSWORD, "SCRAM-SHA-256", &format!("{}<request-token xmlns='{FAST}' mechanism='{HT}'/>", ua(id))).unwrap();
	let t = ok.child("token", FAST).expect("a FAST token");
	assert!(t.attr("expiry").is_some_and(|e| e.ends_with('Z')), "{t:?}");
	t.attr("token").unwrap().to_owned()
}

/// One HT-SHA-256-NONE round trip; Ok(success) or Err(condition).
fn fast(c: &mut Client, user: &str, token: &str, inline: &str) -> Result<Element, String> {
	let proof = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes()), b"Initiator");
	let initial = B64.encode([user.as_bytes(), b"\0", proof.as_ref()].concat());
	c.send(&format!(
		"<authenticate xmlns='{SASL2}' mechanism='{HT}'><initial-response>{initial}</initial-response>{inline}</authenticate>"
	));
	let r = c.stanza();
	if r.name() == "failure" {
		return Err(condition(&r));
	}
	assert!(r.is("success", SASL2), "{r:?}");
	let fin = B64.decode(r.child("additional-data", SASL2).unwrap().text()).unwrap();
	let want = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes()), b"Responder");
	assert_eq!(fin, want.as_ref(), "the server proves it holds the token");
	c.jid = r.child("authorization-identifier", SASL2).unwrap().text();
	assert_eq!(c.stanza().name(), "features");
	Ok(r)
}

fn fast_login(s: &Server, user: &str, token: &str, id: &str) -> Result<Element, String> {
	let mut c = secure(s);
	let f = c.features.clone().unwrap();
	let offered = f.child("authentication", SASL2).and_then(|a| a.child("inline", SASL2)).and_then(|i| i.child("fast", FAST));
	assert!(offered.is_some_and(|f| f.children().any(|m| m.text() == HT)), "FAST is offered inline: {f:?}");
	fast(&mut c, user, token, &format!("{}<fast xmlns='{FAST}'/>", ua(id)))
}

#[test]
fn a_fast_token_logs_in_without_the_password_and_binds_inline() {
	let s = server_with_users(&["alice"], &[]);
	let token = token_for(&s, "alice", "phone");
	let mut c = secure(&s);
	let ok = fast(&mut c, "alice", &token, &format!("{}<fast xmlns='{FAST}'/><bind xmlns='{BIND2}'><tag>Phone</tag></bind>", ua("phone")))
		.unwrap();
	assert!(ok.child("bound", BIND2).is_some(), "{ok:?}");
	assert!(ok.child("token", FAST).is_none(), "no new token early in its life");
	let r = c.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	// Tied to its device and its account: another id, another user, a forgery fail.
	assert_eq!(fast_login(&s, "alice", &token, "laptop").unwrap_err(), "not-authorized");
	assert_eq!(fast_login(&s, "alice", "forged", "phone").unwrap_err(), "not-authorized");
	// Without a user-agent FAST is refused, and no token is issued.
	let mut c = secure(&s);
	assert_eq!(fast(&mut c, "alice", &token, "").unwrap_err(), "not-authorized");
	let mut c = secure(&s);
	let ok = scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256", &format!("<request-token xmlns='{FAST}' mechanism='{HT}'/>")).unwrap();
	assert!(ok.child("token", FAST).is_none(), "a token needs a user-agent id");
}

/// HT-SHA-256-ENDP (offered first on TLS): the token is bound to the
/// box's certificate (RFC 5929 tls-server-end-point, its SHA-256), so the
/// same token without that binding, or sent as -NONE, does not log in.
#[test]
fn an_endp_token_is_bound_to_the_servers_certificate() {
	const ENDP: &str = "HT-SHA-256-ENDP";
	let s = server_with_users(&["alice"], &[]);
	let mut c = secure(&s);
	let f = c.features.clone().unwrap();
	let fast_el = f.child("authentication", SASL2).and_then(|a| a.child("inline", SASL2)).and_then(|i| i.child("fast", FAST)).unwrap();
	let offered: Vec<String> = fast_el.children().map(|m| m.text()).collect();
	assert_eq!(offered, [ENDP, HT], "-ENDP first");
	let ok =
		scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256", &format!("{}<request-token xmlns='{FAST}' mechanism='{ENDP}'/>", ua("phone")))
			.unwrap();
	let token = ok.child("token", FAST).and_then(|t| t.attr("token")).expect("a token").to_owned();
	let endp = |c: &mut Client, cb: &[u8], mech: &str| -> Result<Element, String> {
		let key = hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes());
		let proof = hmac::sign(&key, &[b"Initiator".as_slice(), cb].concat());
		let initial = B64.encode([b"alice".as_slice(), b"\0", proof.as_ref()].concat());
		c.send(&format!(
			"<authenticate xmlns='{SASL2}' mechanism='{mech}'><initial-response>{initial}</initial-response>{}<fast xmlns='{FAST}'/></authenticate>",
			ua("phone")
		));
		let r = c.stanza();
		if r.name() == "failure" {
			return Err(condition(&r));
		}
		let fin = B64.decode(r.child("additional-data", SASL2).unwrap().text()).unwrap();
		assert_eq!(fin, hmac::sign(&key, &[b"Responder".as_slice(), cb].concat()).as_ref(), "the server's proof is bound too");
		Ok(r)
	};
	let mut c = secure(&s);
	let cert = ring::digest::digest(&ring::digest::SHA256, &c.peer_cert()).as_ref().to_vec();
	assert!(endp(&mut c, &cert, ENDP).is_ok());
	let mut c = secure(&s);
	assert_eq!(endp(&mut c, b"", ENDP).unwrap_err(), "not-authorized", "unbound");
	let mut c = secure(&s);
	assert_eq!(endp(&mut c, b"", HT).unwrap_err(), "not-authorized", "an -ENDP token is not a -NONE one");
}

#[test]
fn fast_tokens_expire() {
	let s = server_with_users(&["alice"], &["fast_token_ttl=2"]);
	let token = token_for(&s, "alice", "phone");
	std::thread::sleep(Duration::from_millis(2500));
	assert_eq!(fast_login(&s, "alice", &token, "phone").unwrap_err(), "credentials-expired");
}

#[test]
fn fast_tokens_rotate_and_invalidate() {
	let s = server_with_users(&["alice"], &[]);
	let first = token_for(&s, "alice", "phone");
	// The client asks for a fresh token with a FAST login: both work until the new one is used.
	let mut c = secure(&s);
	let ok =
		fast(&mut c, "alice", &first, &format!("{}<fast xmlns='{FAST}'/><request-token xmlns='{FAST}' mechanism='{HT}'/>", ua("phone")))
			.unwrap();
	let second = ok.child("token", FAST).and_then(|t| t.attr("token")).unwrap().to_owned();
	assert_ne!(first, second);
	assert!(fast_login(&s, "alice", &first, "phone").is_ok(), "the old token works until the new one is used");
	assert!(fast_login(&s, "alice", &second, "phone").is_ok());
	assert_eq!(fast_login(&s, "alice", &first, "phone").unwrap_err(), "not-authorized", "the new token's use ends the old");
	// Logging out: invalidate succeeds once, then the token is gone.
	let mut c = secure(&s);
	assert!(fast(&mut c, "alice", &second, &format!("{}<fast xmlns='{FAST}' invalidate='true'/>", ua("phone"))).is_ok());
	assert_eq!(fast_login(&s, "alice", &second, "phone").unwrap_err(), "not-authorized");
}

#[test]
fn fast_tokens_die_with_the_password_lock_and_account() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let token = token_for(&s, "alice", "phone");
	let bobs = token_for(&s, "bob", "phone");
	let (ok, out) = s.cli(&["user", "passwd", "alice", "--password-stdin"], Some("new secret"));
	assert!(ok, "{out}");
	assert_eq!(fast_login(&s, "alice", &token, "phone").unwrap_err(), "not-authorized");
	assert!(fast_login(&s, "bob", &bobs, "phone").is_ok(), "only alice's tokens go");
	let (ok, out) = s.cli(&["user", "lock", "bob"], None);
	assert!(ok, "{out}");
	assert_eq!(fast_login(&s, "bob", &bobs, "phone").unwrap_err(), "not-authorized");
	// A deleted account made again under the same name inherits no device.
	s.add_user("carol");
	let carols = token_for(&s, "carol", "phone");
	let (ok, out) = s.cli(&["user", "del", "carol"], None);
	assert!(ok, "{out}");
	s.add_user("carol");
	assert_eq!(fast_login(&s, "carol", &carols, "phone").unwrap_err(), "not-authorized");
}

#[test]
fn devices_per_account_are_bounded_oldest_dropped() {
	let s = server_with_users(&["alice"], &["max_devices_per_account=2"]);
	let a = token_for(&s, "alice", "a");
	std::thread::sleep(Duration::from_millis(1100));
	let b = token_for(&s, "alice", "b");
	std::thread::sleep(Duration::from_millis(1100));
	let c = token_for(&s, "alice", "c");
	assert_eq!(fast_login(&s, "alice", &a, "a").unwrap_err(), "not-authorized", "the device seen longest ago went");
	assert!(fast_login(&s, "alice", &b, "b").is_ok());
	assert!(fast_login(&s, "alice", &c, "c").is_ok());
	assert!(s.log_text().contains("device a forgotten"));
}

// ---- XEP-0474 downgrade protection ----

/// What a client computes from the features it saw (XEP-0474 §5.1).
fn ssdp(mechs: &[String], cbs: Option<&[String]>, sha256: bool) -> String {
	let mut m = mechs.to_vec();
	m.sort();
	let mut s = m.join("\u{1e}");
	if let Some(c) = cbs {
		let mut c = c.to_vec();
		c.sort();
		s.push('\u{1f}');
		s.push_str(&c.join("\u{1e}"));
	}
	let d = if sha256 {
		digest::digest(&digest::SHA256, s.as_bytes())
	} else {
		digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, s.as_bytes())
	};
	B64.encode(d.as_ref())
}

/// The `h` of a server-first-message after sending `first` with `auth`.
fn server_h(c: &mut Client, auth: &str, ch_ns: &str) -> String {
	c.send(auth);
	let ch = c.stanza();
	assert!(ch.is("challenge", ch_ns), "{ch:?}");
	let msg = String::from_utf8(B64.decode(ch.text()).unwrap()).unwrap();
	msg.split(',').find_map(|a| a.strip_prefix("h=")).unwrap_or_else(|| panic!("no h in {msg}")).to_owned()
}

#[test]
fn scram_carries_the_ssdp_hash_of_what_was_offered_without_fast() {
	let s = server_with_users(&["alice"], &[]);
	// Direct TLS 1.3: -PLUS and tls-exporter are offered.
	let mut c = Client::connect_tls(s.tls_port);
	let f = c.open();
	let auth = f.child("authentication", SASL2).unwrap();
	let mechs: Vec<String> = auth.children().filter(|m| m.name() == "mechanism").map(|m| m.text()).collect();
	let fast_mechs: Vec<String> =
		auth.child("inline", SASL2).and_then(|i| i.child("fast", FAST)).unwrap().children().map(|m| m.text()).collect();
	let cbs: Vec<String> = f
		.child("sasl-channel-binding", "urn:xmpp:sasl-cb:0")
		.unwrap()
		.children()
		.filter_map(|c| c.attr("type").map(str::to_owned))
		.collect();
	assert!(mechs.contains(&"SCRAM-SHA-256-PLUS".to_owned()) && cbs == ["tls-exporter"], "{f:?}");
	let first = B64.encode("n,,n=alice,r=abcdefghijklmnop");
	let h = server_h(
		&mut c,
		&format!("<authenticate xmlns='{SASL2}' mechanism='SCRAM-SHA-256'><initial-response>{first}</initial-response></authenticate>"),
		SASL2,
	);
	assert_eq!(h, ssdp(&mechs, Some(&cbs), true), "the hash covers exactly the advertised lists");
	// FAST mechanisms are not part of it (ejabberd #4331: Monal refuses such a server).
	let with_fast: Vec<String> = mechs.iter().chain(&fast_mechs).cloned().collect();
	assert_ne!(h, ssdp(&with_fast, Some(&cbs), true));
	// A MITM that strips the strongest mechanisms, or the channel binding, is detected.
	let stripped: Vec<String> = mechs.iter().filter(|m| !m.starts_with("SCRAM-SHA-256")).cloned().collect();
	assert_ne!(h, ssdp(&stripped, Some(&cbs), true), "downgrade of the mechanisms detected");
	assert_ne!(h, ssdp(&mechs, None, true), "removal of the channel-binding list detected");

	// RFC 6120 SASL gets the same protection, hashed with the mechanism's own hash.
	let mut c = Client::connect_tls(s.tls_port);
	c.open();
	let h = server_h(
		&mut c,
		&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{first}</auth>"),
		"urn:ietf:params:xml:ns:xmpp-sasl",
	);
	let sasl1: Vec<String> = c.mechanisms();
	assert_eq!(h, ssdp(&sasl1, Some(&cbs), false));
	// And the whole login still works with h in the signed messages.
	let mut c = Client::connect_tls(s.tls_port);
	c.open();
	assert!(scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256-PLUS", "").is_ok());
}

// ---- A real client: xmpp.js ----

/// @xmpp/client 0.14 (tests/clients/package-lock.json) over wss://: logs in
/// with SASL2 and its password, gets a FAST token, loses its connection,
/// and a new client for the same device logs in with the token and no
/// password and resumes the stream-management session inline
/// (tests/clients/fast_client.js).
#[test]
fn xmpp_js_logs_in_with_fast_and_resumes_inline() {
	let clients = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
	assert!(
		clients.join("node_modules/@xmpp/client").exists(),
		"xmpp.js is missing: run tests/run (it installs tests/clients/node_modules)"
	);
	let s = server_with_users(&["alice", "bob"], &[]);
	let port = s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an HTTPS listener");
	let ca = s.dir.join("tls/ca.crt");
	let url = format!("wss://{DOMAIN}:{port}/xmpp-websocket");
	let node = std::process::Command::new("node")
		.arg(clients.join("fast_client.js"))
		.args(["--url", &url, "--domain", DOMAIN, "--user", "alice", "--password", PASSWORD])
		.args(["--peer", "bob", "--peer-password", PASSWORD, "--ca", ca.to_str().unwrap(), "--address", "127.0.0.1"])
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.expect("node (tests/run installs nodejs)");
	let out = common::output_within(node, common::CHILD_DEADLINE, "node fast_client.js");
	let text = String::from_utf8_lossy(&out.stdout);
	let log = s.log_text();
	assert!(
		out.status.success() && text.contains("PASSED"),
		"xmpp.js: {text}\n{}\n--- server\n{log}",
		String::from_utf8_lossy(&out.stderr)
	);
	assert!(log.contains("alice logged in with a FAST token"), "{log}");
	assert!(log.contains("resumed alice@"), "{log}");
}

// ---- Devices (XEP-0050 command) ----

const COMMANDS: &str = "http://jabber.org/protocol/commands";

#[test]
fn a_person_lists_and_revokes_their_devices() {
	let s = server_with_users(&["alice", "bob"], &[]);
	// The phone: a token and a bound session.
	let mut phone = secure(&s);
	let ok = scram2(
		&mut phone,
		"alice",
		PASSWORD,
		"SCRAM-SHA-256",
		&format!("{}<request-token xmlns='{FAST}' mechanism='{HT}'/><bind xmlns='{BIND2}'><tag>Phone</tag></bind>", ua("phone")),
	)
	.unwrap();
	let token = ok.child("token", FAST).and_then(|t| t.attr("token")).unwrap().to_owned();
	let mut laptop = secure(&s);
	scram2(&mut laptop, "alice", PASSWORD, "SCRAM-SHA-256", &format!("{}<bind xmlns='{BIND2}'><tag>Laptop</tag></bind>", ua("laptop")))
		.unwrap();
	// Listed among the server's commands.
	let items =
		laptop.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items' node='{COMMANDS}'/></iq>"));
	let q = items.child("query", "http://jabber.org/protocol/disco#items").unwrap();
	assert!(q.children().any(|i| i.attr("node") == Some("urn:xerra:devices")), "{items:?}");
	// The list: both devices, named, the phone with its token, this one marked.
	let r =
		laptop.iq(&format!("<iq type='set' to='{DOMAIN}'><command xmlns='{COMMANDS}' node='urn:xerra:devices' action='execute'/></iq>"));
	let cmd = r.child("command", COMMANDS).unwrap_or_else(|| panic!("{r:?}"));
	assert_eq!(cmd.attr("status"), Some("executing"));
	let sessionid = cmd.attr("sessionid").unwrap().to_owned();
	let field = cmd.child("x", "jabber:x:data").and_then(|x| x.children().find(|f| f.attr("var") == Some("revoke"))).unwrap();
	let options: Vec<(String, String)> = field
		.children()
		.filter(|o| o.name() == "option")
		.map(|o| (o.child("value", "jabber:x:data").unwrap().text(), o.attr("label").unwrap().to_owned()))
		.collect();
	assert_eq!(options.len(), 2, "{options:?}");
	let label = |id: &str| options.iter().find(|(v, _)| v == id).map(|(_, l)| l.clone()).unwrap();
	assert!(label("phone").contains("phone (xerra-tests)") && label("phone").contains("signed in without password"), "{options:?}");
	assert!(label("laptop").contains("this device") && !label("laptop").contains("without password"), "{options:?}");
	// Bob sees only his own (none).
	let mut bob = s.login("bob");
	let r = bob.iq(&format!("<iq type='set' to='{DOMAIN}'><command xmlns='{COMMANDS}' node='urn:xerra:devices' action='execute'/></iq>"));
	let x = r.child("command", COMMANDS).and_then(|c| c.child("x", "jabber:x:data")).unwrap();
	assert!(x.children().find(|f| f.attr("var") == Some("revoke")).unwrap().children().all(|o| o.name() != "option"));

	// Revoking the phone ends its session and its token.
	let r = laptop.iq(&format!(
		"<iq type='set' to='{DOMAIN}'><command xmlns='{COMMANDS}' node='urn:xerra:devices' sessionid='{sessionid}' action='complete'>\
		 <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xerra:devices</value></field>\
		 <field var='revoke'><value>phone</value></field></x></command></iq>"
	));
	assert_eq!(r.child("command", COMMANDS).and_then(|c| c.attr("status")), Some("completed"), "{r:?}");
	phone.expect_stream_error("not-authorized");
	assert_eq!(fast_login(&s, "alice", &token, "phone").unwrap_err(), "not-authorized");
	let r =
		laptop.iq(&format!("<iq type='set' to='{DOMAIN}'><command xmlns='{COMMANDS}' node='urn:xerra:devices' action='execute'/></iq>"));
	let n = r
		.child("command", COMMANDS)
		.and_then(|c| c.child("x", "jabber:x:data"))
		.unwrap()
		.children()
		.flat_map(|f| f.children())
		.filter(|o| o.name() == "option")
		.count();
	assert_eq!(n, 1, "only the laptop is left");
	// The laptop's own session goes on.
	assert_eq!(laptop.iq(&format!("<iq type='get' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>")).attr("type"), Some("result"));

	// A device that binds the RFC 6120 way after SASL2 is its session's device too.
	let mut tablet = secure(&s);
	scram2(&mut tablet, "alice", PASSWORD, "SCRAM-SHA-256", &ua("tablet")).unwrap();
	tablet.bind(Some("tablet")).unwrap();
	let r = laptop.iq(&format!(
		"<iq type='set' to='{DOMAIN}'><command xmlns='{COMMANDS}' node='urn:xerra:devices' action='complete'>\
		 <x xmlns='jabber:x:data' type='submit'><field var='revoke'><value>tablet</value></field></x></command></iq>"
	));
	assert_eq!(r.child("command", COMMANDS).and_then(|c| c.attr("status")), Some("completed"), "{r:?}");
	tablet.expect_stream_error("not-authorized");
}

// ---- XEP-0480 upgrade task ----

/// A box whose alice has SCRAM-SHA-1 keys only (as imported from Prosody 0.12 or ejabberd).
fn sha1_only_box() -> Server {
	let dir = std::env::temp_dir().join(format!("xerra-sasl2-upgr-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).unwrap();
	let (ok, out) = common::cli(&dir, &["config", "set", "domain", DOMAIN], None);
	assert!(ok, "{out}");
	let salt = b"0123456789abcdef";
	let mut salted = [0u8; 20];
	pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA1, std::num::NonZeroU32::new(4096).unwrap(), salt, PASSWORD.as_bytes(), &mut salted);
	let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salted);
	let stored = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, hmac::sign(&key, b"Client Key").as_ref());
	let server = hmac::sign(&key, b"Server Key");
	let file = dir.join("alice.xml");
	std::fs::write(
		&file,
		format!(
			"<server-data xmlns='urn:xmpp:pie:0'><host jid='{DOMAIN}'><user name='alice'>\
			 <scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count>\
			 <salt>{}</salt><server-key>{}</server-key><stored-key>{}</stored-key></scram-credentials></user></host></server-data>",
			B64.encode(salt),
			B64.encode(server.as_ref()),
			B64.encode(stored.as_ref())
		),
	)
	.unwrap();
	let (ok, out) = common::cli(&dir, &["import", file.to_str().unwrap()], None);
	assert!(ok && out.contains("only SCRAM-SHA-1 keys"), "{out}");
	Server::start_in(dir, Vec::new())
}

#[test]
fn an_upgrade_task_adds_scram_sha_256_keys_to_a_sha1_only_account() {
	let s = sha1_only_box();
	let mut c = secure(&s);
	let auth = c.features.clone().unwrap();
	let auth = auth.child("authentication", SASL2).unwrap();
	assert!(auth.children().any(|u| u.is("upgrade", "urn:xmpp:sasl:upgrade:0") && u.text() == "UPGR-SCRAM-SHA-256"), "{auth:?}");
	assert!(
		!auth.children().any(|m| m.name() == "mechanism" && m.text().starts_with("SCRAM-SHA-256")),
		"not offered while alice lacks its keys"
	);
	let upgrade = "<upgrade xmlns='urn:xmpp:sasl:upgrade:0'>UPGR-SCRAM-SHA-256</upgrade>";
	let cont = scram2_raw(&mut c, "alice", PASSWORD, "SCRAM-SHA-1", &format!("{upgrade}{}", bind2(""))).unwrap();
	assert!(cont.is("continue", SASL2), "{cont:?}");
	let task = cont.child("tasks", SASL2).and_then(|t| t.child("task", SASL2)).map(|t| t.text());
	assert_eq!(task.as_deref(), Some("UPGR-SCRAM-SHA-256"));
	c.send(&format!("<next xmlns='{SASL2}' task='UPGR-SCRAM-SHA-256'/>"));
	let data = c.stanza();
	let salt_el = data.child("salt", "urn:xmpp:scram-upgrade:0").unwrap_or_else(|| panic!("{data:?}"));
	let salt = B64.decode(salt_el.text().trim()).unwrap();
	let iterations: u32 = salt_el.attr("iterations").unwrap().parse().unwrap();
	let mut salted = [0u8; 32];
	pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, std::num::NonZeroU32::new(iterations).unwrap(), &salt, PASSWORD.as_bytes(), &mut salted);
	c.send(&format!("<task-data xmlns='{SASL2}'><hash xmlns='urn:xmpp:scram-upgrade:0'>{}</hash></task-data>", B64.encode(salted)));
	let ok = c.stanza();
	assert!(ok.is("success", SASL2), "{ok:?}");
	assert!(ok.child("bound", BIND2).is_some(), "the inline requests are done after the task: {ok:?}");
	assert!(s.log_text().contains("SCRAM-SHA-256 keys added by the client's upgrade task"));
	// Now SCRAM-SHA-256 works for alice, and is offered again (no account is SHA-1-only any more).
	let mut c = secure(&s);
	assert!(c.features.clone().unwrap().child("authentication", SASL2).unwrap().children().any(|m| m.text() == "SCRAM-SHA-256"));
	assert!(scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-256", "").is_ok());
	// And the SHA-1 keys still work, with no task any more.
	let mut c = secure(&s);
	let ok = scram2(&mut c, "alice", PASSWORD, "SCRAM-SHA-1", upgrade).unwrap();
	assert!(ok.is("success", SASL2));
}
