//! The negotiation driven with parsed events only: no sockets, no server.

use super::*;
use crate::proto::sasl::derive_account;
use crate::store::Account;
use crate::xmpp::reader::{StreamReader, XmlLimits};

struct Env {
	account: Option<Account>,
	failures: Vec<Option<String>>,
	bound: Vec<String>,
	/// Reasons of the failed logins the stream had logged.
	logged: Vec<String>,
}

impl SaslEnv for Env {
	fn account(&mut self, user: &str) -> Result<Option<Account>, crate::proto::sasl::Unreadable> {
		if user == "broken" {
			return Err(crate::proto::sasl::Unreadable);
		}
		Ok(if user == "alice" { self.account.clone() } else { None })
	}
	fn attempt_allowed(&mut self, _: &str) -> bool {
		true
	}
	fn random(&mut self, buf: &mut [u8]) {
		buf.fill(3);
	}
	fn fake_secret(&self) -> &[u8] {
		b"fake"
	}
	fn scram_iterations(&self) -> u32 {
		4096
	}
	fn locked(&mut self, _: &str) -> bool {
		false
	}
}

impl StreamEnv for Env {
	fn registration(&self) -> bool {
		false
	}

	fn server_caps(&self) -> Option<String> {
		None
	}

	fn domain(&self) -> &str {
		"example.org"
	}
	fn bind(&mut self, auth: &Authenticated, resource: Option<&str>) -> Result<FullJid, BindError> {
		let r = resource.unwrap_or("generated");
		let jid = FullJid::parse(&format!("{}@example.org/{r}", auth.user())).map_err(|_| BindError::BadResource)?;
		self.bound.push(jid.to_string());
		Ok(jid)
	}
	fn auth_failed(&mut self, user: Option<&str>) {
		self.failures.push(user.map(str::to_owned));
	}
	fn login_failed(&mut self, _: Option<&str>, _: &str, why: &str) {
		self.logged.push(why.to_owned());
	}
	fn auth_retries(&self) -> u32 {
		3
	}
}

fn env() -> Env {
	Env {
		account: derive_account("pencil", 4096, 0, &mut |b: &mut [u8]| b.fill(1)),
		failures: Vec::new(),
		bound: Vec::new(),
		logged: Vec::new(),
	}
}

/// Feeds XML text through a reader into the stream; returns the actions.
fn feed(s: &mut C2sStream, env: &mut Env, reader: &mut StreamReader, xml: &str) -> Vec<Action> {
	let mut out = Vec::new();
	let mut bytes = xml.as_bytes();
	loop {
		match reader.next(&mut bytes) {
			Ok(Some(ev)) => s.event(ev, env, &mut out),
			Ok(None) => return out,
			Err(e) => {
				s.fail(e, env, &mut out);
				return out;
			}
		}
	}
}

fn reader() -> StreamReader {
	StreamReader::new(XmlLimits { max_stanza_bytes: 65536, max_depth: 16, max_attrs: 16, max_elements: 1024 })
}

const OPEN: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";

fn written(actions: &[Action]) -> String {
	actions.iter().filter_map(|a| if let Action::Write(s) = a { Some(s.as_str()) } else { None }).collect()
}

/// A stream that is secure and authenticated, waiting for bind.
fn authenticated(env: &mut Env) -> (C2sStream, StreamReader) {
	let mut s = C2sStream::new_tls("id1".into(), None);
	let mut r = reader();
	let a = feed(
		&mut s,
		env,
		&mut r,
		&format!("{OPEN}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHBlbmNpbA==</auth>"),
	);
	assert!(matches!(a.last(), Some(Action::Restart)), "{a:?}");
	let mut r = reader();
	let a = feed(&mut s, env, &mut r, OPEN);
	assert!(written(&a).contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"));
	(s, r)
}

#[test]
fn plain_connection_offers_only_starttls() {
	let mut env = env();
	let mut s = C2sStream::new_plain("id0".into());
	let mut r = reader();
	let a = feed(&mut s, &mut env, &mut r, OPEN);
	let w = written(&a);
	assert!(w.contains("id='id0' from='example.org'") && w.contains("<starttls") && w.contains("<required/>"), "{w}");
	assert!(!w.contains("mechanisms"));
	let a = feed(&mut s, &mut env, &mut r, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	assert!(matches!(a.as_slice(), [Action::Write(p), Action::StartTls] if p.contains("proceed")));
	s.tls_established(Some(vec![9; 32]), "id2".into());
	let a = feed(&mut s, &mut env, &mut reader(), OPEN);
	let w = written(&a);
	assert!(w.contains("SCRAM-SHA-256-PLUS") && w.contains("tls-exporter"), "{w}");
}

#[test]
fn bind_then_stanzas_are_stamped() {
	let mut env = env();
	let (mut s, mut r) = authenticated(&mut env);
	let a = feed(
		&mut s,
		&mut env,
		&mut r,
		"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>desk</resource></bind></iq>",
	);
	assert!(written(&a).contains("<jid>alice@example.org/desk</jid>"));
	assert!(matches!(a.last(), Some(Action::Bound(j)) if j.as_str() == "alice@example.org/desk"));
	let a = feed(&mut s, &mut env, &mut r, "<message to='bob@example.org'><body>hi</body></message>");
	let [Action::Stanza(st)] = a.as_slice() else { panic!("{a:?}") };
	assert_eq!(st.el.attr("from"), Some("alice@example.org/desk"));
	// The own bare JID as from is accepted and replaced by the full one.
	let a = feed(&mut s, &mut env, &mut r, "<presence from='alice@example.org'/>");
	assert!(matches!(a.as_slice(), [Action::Stanza(st)] if st.el.attr("from") == Some("alice@example.org/desk")));
	let a = feed(&mut s, &mut env, &mut r, "<message from='bob@example.org'/>");
	assert!(matches!(a.last(), Some(Action::Close(Some(e))) if e.condition == StreamCondition::InvalidFrom));
}

#[test]
fn failed_logins_are_counted_and_limited() {
	let mut env = env();
	let mut s = C2sStream::new_tls("id".into(), None);
	let mut r = reader();
	feed(&mut s, &mut env, &mut r, OPEN);
	for i in 0..3 {
		let a = feed(&mut s, &mut env, &mut r, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHdyb25n</auth>");
		assert!(written(&a).contains("<not-authorized/>"));
		assert_eq!(matches!(a.last(), Some(Action::Close(_))), i == 2, "attempt {i}");
	}
	assert_eq!(env.failures, vec![Some("alice".to_string()); 3]);
}

#[test]
fn a_plus_try_with_a_binding_we_lack_is_neither_counted_nor_logged() {
	// slixmpp 1.8 tries tls-unique first, then falls back: a step of its
	// negotiation, which must not read as a failed login in the admin's log.
	let mut env = env();
	let mut s = C2sStream::new_tls("id".into(), Some(vec![9; 32]));
	let mut r = reader();
	feed(&mut s, &mut env, &mut r, OPEN);
	let first = B64.encode("p=tls-unique,,n=alice,r=abcdef");
	let a = feed(
		&mut s,
		&mut env,
		&mut r,
		&format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256-PLUS'>{first}</auth>"),
	);
	assert!(written(&a).contains("<not-authorized/>"), "{a:?}");
	assert!(env.failures.is_empty() && env.logged.is_empty(), "{:?} {:?}", env.failures, env.logged);
	let a = feed(&mut s, &mut env, &mut r, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHdyb25n</auth>");
	assert!(written(&a).contains("<not-authorized/>"));
	assert_eq!(env.logged.len(), 1, "{:?}", env.logged);
}

#[test]
fn errors_before_our_header_still_send_one() {
	let mut env = env();
	let mut s = C2sStream::new_plain("id".into());
	let a = feed(&mut s, &mut env, &mut reader(), "<<<");
	let w = written(&a);
	assert!(w.starts_with("<?xml version='1.0'?><stream:stream"), "{w}");
	assert!(matches!(a.last(), Some(Action::Close(Some(e))) if e.condition == StreamCondition::NotWellFormed));
	let mut s = C2sStream::new_plain("id".into());
	let a = feed(&mut s, &mut env, &mut reader(), &OPEN.replace("example.org", "other.org"));
	assert!(matches!(a.last(), Some(Action::Close(Some(e))) if e.condition == StreamCondition::HostUnknown));
	assert_eq!(written(&a).matches("<stream:stream").count(), 1);
}

#[test]
fn client_closing_the_stream() {
	let mut env = env();
	let (mut s, mut r) = authenticated(&mut env);
	let a = feed(&mut s, &mut env, &mut r, "</stream:stream>");
	assert!(matches!(a.as_slice(), [Action::Close(None)]));
}

/// Issue 11: an abort, bad base64 or an unknown mechanism is no password
/// guess, but it is a failure: it counts for the address and the connection.
#[test]
fn failures_that_are_no_guesses_count_too() {
	let mut env = env();
	let mut s = C2sStream::new_tls("id".into(), None);
	let mut r = reader();
	feed(&mut s, &mut env, &mut r, OPEN);
	let a = feed(&mut s, &mut env, &mut r, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-NONE'/>");
	assert!(written(&a).contains("<invalid-mechanism/>"));
	let a = feed(&mut s, &mut env, &mut r, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!</auth>");
	assert!(written(&a).contains("<incorrect-encoding/>"));
	let a = feed(&mut s, &mut env, &mut r, "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
	assert!(written(&a).contains("<aborted/>"));
	assert!(matches!(a.last(), Some(Action::Close(Some(e))) if e.condition == StreamCondition::PolicyViolation), "{a:?}");
	assert_eq!(env.failures, vec![None; 3]);
}

#[test]
fn storage_that_cannot_be_read_is_not_the_clients_fault() {
	let mut env = env();
	let mut s = C2sStream::new_tls("id".into(), None);
	let mut r = reader();
	feed(&mut s, &mut env, &mut r, OPEN);
	// "broken": the account lookup fails (storage being reopened).
	let plain = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "\0broken\0pw");
	for _ in 0..5 {
		let a = feed(&mut s, &mut env, &mut r, &format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>"));
		let w = written(&a);
		assert!(w.contains("<temporary-auth-failure/>") && w.contains("cannot check passwords"), "{w}");
		assert!(!a.iter().any(|x| matches!(x, Action::Close(_))), "not counted against the retries: {a:?}");
	}
	assert!(env.failures.is_empty(), "nothing counted against the address or the account");
}

/// A secure stream past its header, SASL2 offered.
fn secure(env: &mut Env) -> (C2sStream, StreamReader) {
	let mut s = C2sStream::new_tls("id1".into(), None);
	let mut r = reader();
	let a = feed(&mut s, env, &mut r, OPEN);
	let w = written(&a);
	assert!(w.contains("<authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256</mechanism>"), "{w}");
	assert!(w.contains("<bind xmlns='urn:xmpp:bind:0'>"), "{w}");
	(s, r)
}

#[test]
fn sasl2_plain_with_bind2_binds_without_restart() {
	let mut env = env();
	let (mut s, mut r) = secure(&mut env);
	let a = feed(
		&mut s,
		&mut env,
		&mut r,
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>AGFsaWNlAHBlbmNpbA==</initial-response>\
		 <user-agent id='u1'/><bind xmlns='urn:xmpp:bind:0'><tag>Phone</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind>\
		 </authenticate><message to='bob@example.org'><body>hi</body></message>",
	);
	assert!(!a.iter().any(|a| matches!(a, Action::Restart)), "{a:?}");
	let Some(Action::Sasl2Success(done)) = a.first() else { panic!("{a:?}") };
	let jid = done.bound.as_ref().unwrap().to_string();
	assert!(jid.starts_with("alice@example.org/Phone."), "{jid}");
	assert_eq!(done.request.user_agent.as_ref().unwrap().id, "u1");
	// The stanza right behind <authenticate/> finds the stream bound.
	assert!(matches!(a.last(), Some(Action::Stanza(st)) if st.el.attr("from") == Some(jid.as_str())), "{a:?}");
	assert_eq!(s.handled(), Some(1), "stream management counts from the inline enable");
	assert!(!s.features_after_sasl2(&env).contains("urn:xmpp:sm:3"));
}

#[test]
fn sasl2_failures_are_counted_like_sasl() {
	let mut env = env();
	let (mut s, mut r) = secure(&mut env);
	for i in 0..3 {
		let a = feed(
			&mut s,
			&mut env,
			&mut r,
			"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>AGFsaWNlAHdyb25n</initial-response></authenticate>",
		);
		let w = written(&a);
		assert!(w.contains("<failure xmlns='urn:xmpp:sasl:2'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), "{w}");
		assert_eq!(matches!(a.last(), Some(Action::Close(_))), i == 2, "attempt {i}");
	}
	assert_eq!(env.failures, vec![Some("alice".to_string()); 3]);
}

#[test]
fn sasl2_scram_challenge_abort_and_unknown_mechanism() {
	let mut env = env();
	let (mut s, mut r) = secure(&mut env);
	let first = B64.encode("n,,n=alice,r=abcdef");
	let a = feed(
		&mut s,
		&mut env,
		&mut r,
		&format!(
			"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><initial-response>{first}</initial-response></authenticate>"
		),
	);
	assert!(written(&a).starts_with("<challenge xmlns='urn:xmpp:sasl:2'>"), "{a:?}");
	let a = feed(&mut s, &mut env, &mut r, "<abort xmlns='urn:xmpp:sasl:2'/>");
	assert!(written(&a).contains("<aborted xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), "{a:?}");
	let a = feed(&mut s, &mut env, &mut r, "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256-PLUS'/>");
	assert!(written(&a).contains("<invalid-mechanism xmlns="), "-PLUS is not offered without channel binding: {a:?}");
	// Anything but a response during the exchange ends the stream.
	feed(
		&mut s,
		&mut env,
		&mut r,
		&format!(
			"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-1'><initial-response>{first}</initial-response></authenticate>"
		),
	);
	let a = feed(&mut s, &mut env, &mut r, "<presence/>");
	assert!(matches!(a.last(), Some(Action::Close(Some(_)))), "{a:?}");
}

#[test]
fn sasl2_without_bind_leaves_binding_to_the_client() {
	let mut env = env();
	let (mut s, mut r) = secure(&mut env);
	let a = feed(
		&mut s,
		&mut env,
		&mut r,
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>AGFsaWNlAHBlbmNpbA==</initial-response></authenticate>",
	);
	assert!(matches!(a.as_slice(), [Action::Sasl2Success(d)] if d.bound.is_none()), "{a:?}");
	assert!(s.features_after_sasl2(&env).contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"));
	let a = feed(&mut s, &mut env, &mut r, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
	assert!(matches!(a.last(), Some(Action::Bound(_))), "{a:?}");
}
