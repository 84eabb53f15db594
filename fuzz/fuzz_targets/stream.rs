//! The c2s stream negotiation (`proto::stream::C2sStream`, sans-IO) behind
//! the XML reader, as the shell drives it: STARTTLS, SASL (PLAIN and SCRAM),
//! registration, binding, stream management, CSI and stanzas. What we write
//! must be well-formed XML, a session can only be bound to the one account
//! whose password was given, and every stanza we route carries the bound
//! JID as its `from`.
//!
//! Input: one byte of flags (plain or direct TLS, channel binding, in-band
//! registration, chunking), then what the client sends.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use xerra::proto::sasl::{Authenticated, SaslEnv, Unreadable, derive_account};
use xerra::proto::stream::{Action, BindError, C2sStream, StreamEnv};
use xerra::store::Account;
use xerra::xmpp::jid::FullJid;
use xerra::xmpp::ns;
use xerra::xmpp::reader::StreamReader;

struct Env {
	account: Option<Account>,
	registration: bool,
	failures: u32,
}

impl SaslEnv for Env {
	fn account(&mut self, user: &str) -> Result<Option<Account>, Unreadable> {
		match user {
			"alice" => Ok(self.account.clone()),
			"unreadable" => Err(Unreadable),
			_ => Ok(None),
		}
	}
	fn attempt_allowed(&mut self, _: &str) -> bool {
		self.failures < 5
	}
	fn random(&mut self, buf: &mut [u8]) {
		buf.fill(3);
	}
	fn fake_secret(&self) -> &[u8] {
		b"fake"
	}
	fn scram_iterations(&self) -> u32 {
		// Few, so that the fuzzer spends its time on parsing, not PBKDF2.
		2
	}
	fn locked(&mut self, user: &str) -> bool {
		// One locked account, so the account-disabled path is reached too.
		user == "locked"
	}
}

impl StreamEnv for Env {
	fn domain(&self) -> &str {
		"example.org"
	}
	fn bind(&mut self, auth: &Authenticated, resource: Option<&str>) -> Result<FullJid, BindError> {
		match resource {
			Some("busy") => Err(BindError::TooManyResources),
			r => FullJid::parse(&format!("{}@example.org/{}", auth.user(), r.unwrap_or("gen1"))).map_err(|_| BindError::BadResource),
		}
	}
	fn auth_failed(&mut self, _: Option<&str>) {
		self.failures += 1;
	}
	fn login_failed(&mut self, _: Option<&str>, _: &str, _: &str) {}
	fn auth_retries(&self) -> u32 {
		3
	}
	fn registration(&self) -> bool {
		self.registration
	}
	fn server_caps(&self) -> Option<String> {
		Some("<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://xerra.example' ver='abc='/>".into())
	}
}

fuzz_target!(|data: &[u8]| {
	let Some((&flags, input)) = data.split_first() else { return };
	let account = derive_account("pencil", 2, 0, &mut |b: &mut [u8]| b.fill(1));
	let mut env = Env { account, registration: flags & 4 != 0, failures: 0 };
	let cb = (flags & 2 != 0).then(|| vec![7u8; 32]);
	let mut s = if flags & 1 == 0 { C2sStream::new_plain("s1".into()) } else { C2sStream::new_tls("s1".into(), cb.clone()) };
	let limits = if flags & 8 == 0 { common::PRE_AUTH } else { common::TINY };
	let mut reader = StreamReader::new(limits);
	let mut check = common::OutputCheck::new();
	let mut bound: Option<FullJid> = None;
	let mut restarts = 0;
	for piece in common::chunks(input, u64::from(flags >> 4)) {
		let mut buf = piece;
		loop {
			let mut out = Vec::new();
			match reader.next(&mut buf) {
				Ok(Some(ev)) => s.event(ev, &mut env, &mut out),
				Ok(None) => break,
				Err(e) => s.fail(e, &env, &mut out),
			}
			for action in out {
				match action {
					Action::Write(text) => check.write(&text),
					Action::Send(el) => check.write(&el.to_xml(ns::CLIENT)),
					Action::StartTls => {
						restarts += 1;
						s.tls_established(cb.clone(), format!("s{restarts}"));
						reader = StreamReader::new(limits);
					}
					Action::Restart => {
						restarts += 1;
						s.restarted(format!("s{restarts}"));
						reader = StreamReader::new(if s.is_authenticated() { common::FULL } else { limits });
					}
					Action::Bound(jid) => {
						assert_eq!(jid.node(), Some("alice"), "bound without alice's password");
						bound = Some(jid);
					}
					Action::SmResume { user, h, .. } => {
						assert_eq!(user, "alice");
						s.resumed(FullJid::parse("alice@example.org/old").unwrap(), h);
						bound = s.jid().cloned();
					}
					Action::Stanza(stanza) => {
						let jid = bound.as_ref().expect("a stanza routed before binding");
						assert_eq!(stanza.from.as_ref().map(|f| f.as_str()), Some(jid.as_str()), "from not stamped");
					}
					Action::Close(err) => {
						if let Some(e) = err {
							check.write(&e.to_xml());
						}
						return;
					}
					Action::Sasl2Success(done) => {
						// What the shell does (net::c2s::sasl2), without storage: the
						// session is bound if Bind2 bound it, and the features follow.
						assert_eq!(done.auth.user(), "alice", "a SASL2 success without alice's password");
						if let Some(jid) = done.bound {
							bound = Some(jid);
						}
						check.write(&s.features_after_sasl2(&env));
					}
					Action::SmEnable { .. } | Action::SmRequest(_) | Action::SmAck(_) | Action::Csi(_) | Action::PreAuth(_) => {}
				}
			}
		}
	}
});
