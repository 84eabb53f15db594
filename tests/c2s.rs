//! RFC 6120 over real sockets: stream negotiation, TLS, SASL, binding, and
//! what happens to bad input. Every test starts its own server.

mod common;

use std::time::Duration;

use common::client::{Client, error_condition};
use common::{DOMAIN, PASSWORD, server_with_users};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";

/// Up to the point where SASL is offered.
fn secure(port: u16) -> Client {
	let mut c = Client::connect(port);
	let f = c.open();
	assert!(
		f.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls")
			.and_then(|s| s.child("required", "urn:ietf:params:xml:ns:xmpp-tls"))
			.is_some()
	);
	c.starttls();
	c.open();
	c
}

#[test]
fn starttls_is_required_and_offers_every_mechanism() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = Client::connect(s.port);
	let f = c.open();
	// Before TLS only STARTTLS is offered: no SASL mechanisms at all.
	assert!(f.child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl").is_none());
	c.starttls();
	assert_eq!(c.tls_version(), Some(futures_rustls::rustls::ProtocolVersion::TLSv1_3));
	c.open();
	assert_eq!(c.mechanisms(), ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]);
	let cb = c.features.as_ref().unwrap().child("sasl-channel-binding", "urn:xmpp:sasl-cb:0").unwrap();
	assert_eq!(cb.children().next().unwrap().attr("type"), Some("tls-exporter"));
}

#[test]
fn tls12_works_without_plus_mechanisms() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = Client::connect(s.port);
	c.open();
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	assert_eq!(c.stanza().name(), "proceed");
	c.tls_handshake(&[&futures_rustls::rustls::version::TLS12], None);
	c.open();
	// tls-exporter is only offered on TLS 1.3 (RFC 9266).
	assert_eq!(c.mechanisms(), ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]);
	c.scram("alice", PASSWORD, "SCRAM-SHA-1").unwrap();
}

#[test]
fn every_stream_restart_gets_a_new_stream_id() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = Client::connect(s.port);
	c.open();
	let plain = c.stream_id.clone().expect("an id");
	c.starttls();
	c.open();
	let secure = c.stream_id.clone().expect("an id");
	c.scram("alice", PASSWORD, "SCRAM-SHA-256").unwrap();
	c.open();
	let authenticated = c.stream_id.clone().expect("an id");
	assert!(plain != secure && secure != authenticated && plain != authenticated, "{plain} {secure} {authenticated}");
}

#[test]
fn every_sasl_mechanism_logs_in() {
	let s = server_with_users(&["alice"], &[]);
	for mech in ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] {
		let mut c = secure(s.port);
		let r = if mech == "PLAIN" { c.plain("alice", PASSWORD) } else { c.scram("alice", PASSWORD, mech) };
		assert_eq!(r, Ok(()), "{mech}");
		c.open();
		assert!(c.bind(None).unwrap().starts_with(&format!("alice@{DOMAIN}/")), "{mech}");
	}
}

#[test]
fn direct_tls_port_with_channel_binding() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = Client::connect_tls(s.tls_port);
	c.open();
	assert!(c.mechanisms().contains(&"SCRAM-SHA-256-PLUS".to_string()));
	c.scram("alice", PASSWORD, "SCRAM-SHA-256-PLUS").unwrap();
	c.open();
	c.bind(Some("laptop")).unwrap();
	assert_eq!(c.jid, format!("alice@{DOMAIN}/laptop"));
}

#[test]
fn channel_binding_mismatch_and_downgrade_are_refused() {
	let s = server_with_users(&["alice"], &[]);
	// Binding data from another TLS session (a man in the middle's view).
	let mut c = secure(s.port);
	assert_eq!(c.scram_with("alice", PASSWORD, "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", Some(&[7u8; 32])), Err("not-authorized".into()));
	// "y": the client thinks we cannot bind although we offered -PLUS (RFC 5802 §6).
	let mut c = secure(s.port);
	assert_eq!(c.scram_with("alice", PASSWORD, "SCRAM-SHA-256", "y,,", None), Err("not-authorized".into()));
}

/// COMPAT: slixmpp 1.8 asks for tls-unique on TLS 1.3, then falls back to
/// plain SCRAM with the "y" flag. Having seen it try -PLUS, we let it in.
#[test]
fn tls_unique_client_falls_back_with_y_flag() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = secure(s.port);
	assert_eq!(c.scram_with("alice", PASSWORD, "SCRAM-SHA-256-PLUS", "p=tls-unique,,", Some(b"whatever")), Err("not-authorized".into()));
	assert_eq!(c.scram_with("alice", PASSWORD, "SCRAM-SHA-1-PLUS", "p=tls-unique,,", Some(b"whatever")), Err("not-authorized".into()));
	// Those were no password guesses: the connection is still open.
	assert_eq!(c.scram_with("alice", PASSWORD, "SCRAM-SHA-256", "y,,", None), Ok(()));
}

#[test]
fn sasl_failures_have_the_right_conditions() {
	let s = server_with_users(&["alice"], &[]);
	// At most two failures per connection: the third would end the stream.
	let mut c = secure(s.port);
	assert_eq!(c.scram("alice", "wrong", "SCRAM-SHA-256"), Err("not-authorized".into()));
	// An unknown user looks exactly like a wrong password.
	assert_eq!(c.scram("mallory", PASSWORD, "SCRAM-SHA-1"), Err("not-authorized".into()));
	assert_eq!(c.plain("alice", PASSWORD), Ok(()));
	let mut c = secure(s.port);
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>");
	assert_eq!(error_name(&c.stanza()), "invalid-mechanism");
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!!not base64</auth>");
	assert_eq!(error_name(&c.stanza()), "incorrect-encoding");
	assert_eq!(c.plain("alice", PASSWORD), Ok(()));
	let mut c = secure(s.port);
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>bm9uc2Vuc2U=</auth>");
	assert_eq!(error_name(&c.stanza()), "malformed-request");
	// Start, then abort.
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'/>");
	assert_eq!(c.stanza().name(), "challenge");
	c.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
	assert_eq!(error_name(&c.stanza()), "aborted");
	// Still usable after all that.
	assert_eq!(c.plain("alice", PASSWORD), Ok(()));
}

/// Issue 11: failures that are no password guesses (bad base64, an abort,
/// a wrong nonce) used to cost nothing, so one connection could try for
/// ever. They count against the connection's retries and the address.
#[test]
fn sasl_failures_that_are_no_guesses_count_too() {
	let s = server_with_users(&["alice"], &["auth_retries_per_connection=3", "auth_failures_per_ip=3"]);
	let mut c = secure(s.port);
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!!not base64</auth>");
	assert_eq!(error_name(&c.stanza()), "incorrect-encoding");
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'/>");
	assert_eq!(c.stanza().name(), "challenge");
	c.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
	assert_eq!(error_name(&c.stanza()), "aborted");
	// A client-final-message with a nonce the server never gave.
	c.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{}</auth>", b64("n,,n=alice,r=abc")));
	assert_eq!(c.stanza().name(), "challenge");
	c.send(&format!(
		"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
		b64("c=biws,r=xyz,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	));
	assert_eq!(error_name(&c.stanza()), "malformed-request");
	// The third failure on one connection ends it (RFC 6120 §6.4.5) ...
	c.expect_stream_error("policy-violation");
	// ... and the address has used up its failures for the window.
	let mut c = secure(s.port);
	assert_eq!(c.plain("alice", PASSWORD), Err("temporary-auth-failure".into()));
}

fn b64(s: &str) -> String {
	base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s)
}

fn error_name(failure: &xerra::xmpp::element::Element) -> String {
	assert_eq!(failure.name(), "failure");
	failure.children().next().unwrap().name().to_string()
}

#[test]
fn repeated_wrong_passwords_close_the_stream_and_hold_back_the_guesser() {
	let s = server_with_users(&["alice", "bob"], &["auth_retries_per_connection=3", "auth_failures_per_account=4"]);
	let mut c = secure(s.port);
	for _ in 0..2 {
		assert_eq!(c.scram("alice", "wrong", "SCRAM-SHA-256"), Err("not-authorized".into()));
	}
	// The third failure on one connection ends the stream (RFC 6120 §6.4.5).
	assert_eq!(c.scram("alice", "wrong", "SCRAM-SHA-256"), Err("not-authorized".into()));
	c.expect_stream_error("policy-violation");
	// One more failure from a new connection reaches the limit for alice from this address...
	let mut c = secure(s.port);
	assert_eq!(c.plain("alice", "wrong"), Err("not-authorized".into()));
	// ...so from here even the right password must wait, with a clear condition.
	assert_eq!(c.scram("alice", PASSWORD, "SCRAM-SHA-256"), Err("temporary-auth-failure".into()));
	// Other accounts are not affected, and the server keeps serving.
	let mut b = secure(s.port);
	assert_eq!(b.scram("bob", PASSWORD, "SCRAM-SHA-256"), Ok(()));
}

/// Issue 11: five wrong passwords from anywhere used to lock the account
/// for everyone, its owner included. Now they hold back the address they
/// came from: the owner, elsewhere, logs in.
#[test]
fn a_guesser_does_not_lock_the_owner_out() {
	let s = server_with_users(&["alice"], &["auth_failures_per_account=3", "auth_failures_per_ip=100"]);
	let guesser = std::net::Ipv4Addr::new(127, 0, 0, 2);
	for _ in 0..3 {
		let mut c = Client::connect_from(std::net::IpAddr::V4(guesser), s.port);
		c.open();
		c.starttls();
		c.open();
		assert_eq!(c.plain("alice", "guess"), Err("not-authorized".into()));
	}
	// The guesser waits, even with the right password ...
	let mut c = Client::connect_from(std::net::IpAddr::V4(guesser), s.port);
	c.open();
	c.starttls();
	c.open();
	assert_eq!(c.plain("alice", PASSWORD), Err("temporary-auth-failure".into()));
	// ... the owner, at another address, does not.
	let mut owner = secure(s.port);
	assert_eq!(owner.scram("alice", PASSWORD, "SCRAM-SHA-256"), Ok(()));
}

#[test]
fn failures_per_ip_are_limited() {
	let s = server_with_users(&["alice"], &["auth_failures_per_ip=3", "auth_failures_per_account=100"]);
	for name in ["u1", "u2", "u3"] {
		let mut c = secure(s.port);
		assert_eq!(c.plain(name, "x"), Err("not-authorized".into()));
	}
	let mut c = secure(s.port);
	assert_eq!(c.plain("alice", PASSWORD), Err("temporary-auth-failure".into()));
}

#[test]
fn auth_before_tls_is_refused() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = Client::connect(s.port);
	c.open();
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAGNvcnJlY3QgaG9yc2U=</auth>");
	assert_eq!(error_name(&c.stanza()), "encryption-required");
	// A stanza before TLS ends the stream.
	c.send("<message to='alice@example.test'><body>x</body></message>");
	c.expect_stream_error("not-authorized");
}

#[test]
fn stanza_before_authentication_or_bind() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = secure(s.port);
	c.send("<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>");
	c.expect_stream_error("not-authorized");
	let mut c = secure(s.port);
	c.plain("alice", PASSWORD).unwrap();
	c.open();
	c.send("<message to='alice@example.test'><body>x</body></message>");
	c.expect_stream_error("not-authorized");
}

#[test]
fn bind_features_and_legacy_session() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = authed(s.port, "alice");
	let f = c.features.clone().unwrap();
	assert!(f.child("bind", "urn:ietf:params:xml:ns:xmpp-bind").is_some());
	let session = f.child("session", "urn:ietf:params:xml:ns:xmpp-session").unwrap();
	assert!(session.child("optional", "urn:ietf:params:xml:ns:xmpp-session").is_some());
	assert!(f.child("ver", "urn:xmpp:features:rosterver").is_some());
	assert!(f.child("sub", "urn:xmpp:features:pre-approval").is_some());
	// A resource that is not a valid resourcepart (over 1023 bytes).
	assert_eq!(c.bind(Some(&"r".repeat(1100))), Err("bad-request".into()));
	let jid = c.bind(None).unwrap();
	assert!(jid.starts_with("alice@example.test/xerra-"), "{jid}");
	let r = c.iq("<iq type='set'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
	assert_eq!(r.attr("type"), Some("result"));
}

/// Authenticated and ready to bind.
fn authed(port: u16, user: &str) -> Client {
	let mut c = secure(port);
	c.plain(user, PASSWORD).unwrap();
	c.open();
	c
}

#[test]
fn same_resource_replaces_the_old_session_with_conflict() {
	let s = server_with_users(&["alice"], &[]);
	let mut first = authed(s.port, "alice");
	first.bind(Some("phone")).unwrap();
	let mut second = authed(s.port, "alice");
	second.bind(Some("phone")).unwrap();
	first.expect_stream_error("conflict");
	let r = second.iq("<iq type='get' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(r.attr("type"), Some("result"));
}

#[test]
fn too_many_resources_is_a_resource_constraint() {
	let s = server_with_users(&["alice"], &["max_resources_per_account=2"]);
	let _a = Client::login(s.port, "alice", PASSWORD);
	let _b = Client::login(s.port, "alice", PASSWORD);
	let mut c = authed(s.port, "alice");
	assert_eq!(c.bind(None), Err("resource-constraint".into()));
}

#[test]
fn unknown_host_wrong_namespace_and_version() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = Client::connect(s.port);
	c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='elsewhere.test' version='1.0'>");
	c.expect_stream_error("host-unknown");
	let mut c = Client::connect(s.port);
	c.send("<stream:stream xmlns='jabber:client' xmlns:stream='urn:not-streams' to='example.test' version='1.0'>");
	c.expect_stream_error("invalid-namespace");
	let mut c = Client::connect(s.port);
	c.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test'>");
	c.expect_stream_error("unsupported-version");
	// Content in the wrong namespace after login.
	let mut c = Client::login(s.port, "alice", PASSWORD);
	c.send("<message xmlns='jabber:server' to='alice@example.test'><body>x</body></message>");
	c.expect_stream_error("invalid-namespace");
	let mut c = Client::login(s.port, "alice", PASSWORD);
	c.send("<foo/>");
	c.expect_stream_error("unsupported-stanza-type");
	// The server still serves.
	let mut c = Client::login(s.port, "alice", PASSWORD);
	assert_eq!(c.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
}

#[test]
fn malformed_xml_is_not_well_formed_and_others_keep_working() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.online("bob");
	let mut c = Client::login(s.port, "alice", PASSWORD);
	c.send("<message to='bob@example.test'><body>oops</bdy></message>");
	c.expect_stream_error("not-well-formed");
	let mut c = Client::login(s.port, "alice", PASSWORD);
	c.send("<message><!-- comment --></message>");
	c.expect_stream_error("restricted-xml");
	// Before TLS too.
	let mut c = Client::connect(s.port);
	c.send(&format!("{HEADER}<<<"));
	c.expect_stream_error("not-well-formed");
	// Bob never saw any of it and still chats.
	bob.expect_none(Duration::from_millis(200), |e| e.name() == "message");
	let mut alice = s.online("alice");
	alice.send("<message to='bob@example.test' type='chat'><body>fine</body></message>");
	let m = bob.wait_for(|e| e.name() == "message");
	assert_eq!(m.child("body", "jabber:client").unwrap().text(), "fine");
}

#[test]
fn oversized_stanza_and_deep_nesting_are_policy_violations() {
	let s = server_with_users(&["alice", "bob"], &["max_stanza_bytes=20000", "max_depth=8"]);
	let mut bob = s.online("bob");
	let mut c = Client::login(s.port, "alice", PASSWORD);
	c.send(&format!("<message to='bob@example.test'><body>{}</body></message>", "x".repeat(30_000)));
	c.expect_stream_error("policy-violation");
	let mut c = Client::login(s.port, "alice", PASSWORD);
	c.send(&format!("<message to='bob@example.test'>{}", "<a>".repeat(20)));
	c.expect_stream_error("policy-violation");
	// A big stanza below the limit is fine.
	let mut alice = s.online("alice");
	let body = "y".repeat(15_000);
	alice.send(&format!("<message to='bob@example.test' type='chat'><body>{body}</body></message>"));
	let m = bob.wait_for(|e| e.name() == "message");
	assert_eq!(m.child("body", "jabber:client").unwrap().text().len(), 15_000);
	// Before authentication the limit is much tighter.
	let mut c = secure(s.port);
	c.send(&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>", "A".repeat(18_000)));
	c.expect_stream_error("policy-violation");
}

#[test]
fn forged_from_is_refused_and_never_relayed() {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut bob = s.online("bob");
	let mut alice = s.login("alice");
	alice.send("<message from='carol@example.test/x' to='bob@example.test' type='chat'><body>I am carol</body></message>");
	alice.expect_stream_error("invalid-from");
	bob.expect_none(Duration::from_millis(300), |e| e.name() == "message");
	// Our own bare or full JID as from is fine.
	let mut alice = s.online("alice");
	let own = alice.bare();
	alice.send(&format!("<message from='{own}' to='bob@example.test' type='chat'><body>me</body></message>"));
	let m = bob.wait_for(|e| e.name() == "message");
	assert_eq!(m.attr("from"), Some(alice.jid.as_str()));
}

#[test]
fn malformed_addresses_get_jid_malformed() {
	let s = server_with_users(&["alice"], &[]);
	let mut c = s.login("alice");
	let r = c.iq("<iq type='get' to='@nodomain'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(error_condition(&r), "jid-malformed");
	let r = c.iq("<iq type='bogus'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(r.attr("type"), Some("error"));
	assert_eq!(error_condition(&r), "bad-request");
}

#[test]
fn connections_per_ip_are_limited() {
	let s = server_with_users(&["alice"], &["max_connections_per_ip=3"]);
	let _keep: Vec<Client> = (0..3).map(|_| Client::connect(s.port)).collect();
	std::thread::sleep(Duration::from_millis(200));
	let mut c = Client::connect(s.port);
	c.expect_stream_error("policy-violation");
	drop(_keep);
	std::thread::sleep(Duration::from_millis(200));
	let mut c = s.login("alice");
	assert_eq!(c.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
}

#[test]
fn negotiation_and_idle_timeouts_and_keepalive() {
	let s = server_with_users(&["alice"], &["negotiation_timeout=1", "idle_timeout=3", "keepalive_interval=1"]);
	// Never authenticates: connection-timeout after about a second.
	let mut c = Client::connect(s.port);
	c.open();
	c.expect_stream_error("connection-timeout");
	// Whitespace from the client keeps the session; the server sends its own.
	let mut c = s.login("alice");
	for _ in 0..5 {
		std::thread::sleep(Duration::from_millis(800));
		c.send(" ");
	}
	assert_eq!(c.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
	// Silent client: dropped with connection-timeout.
	c.expect_stream_error("connection-timeout");
}

#[test]
fn closing_the_stream_is_answered_and_logs_out() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut c = s.online("alice");
	c.send("</stream:stream>");
	c.expect_closed();
	let (ok, status) = s.cli(&["status"], None);
	assert!(ok && status.contains("sessions: 0"), "{status}");
}

#[test]
fn clean_shutdown_on_sigterm() {
	let mut s = server_with_users(&["alice"], &[]);
	let mut c = s.online("alice");
	assert!(s.stop(), "exit status after SIGTERM: {}", s.log_text());
	c.expect_stream_error("system-shutdown");
	assert!(!s.dir.join("control.sock").exists());
}
