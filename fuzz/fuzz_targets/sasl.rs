//! SASL message parsing (`proto::sasl`): PLAIN and SCRAM (-SHA-1, -SHA-256,
//! -PLUS) with any client messages. Nothing but alice's password may
//! succeed, and a finished exchange stays finished.
//!
//! Input: one byte that picks the mechanism and channel binding, then up to
//! three client messages separated by 0xFF (never in UTF-8 text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::proto::sasl::{Exchange, Mechanism, SaslEnv, Step, Unreadable, derive_account};
use xerra::store::Account;

struct Env {
	account: Option<Account>,
	/// alice's account is locked: her right password answers account-disabled.
	locked: bool,
}

impl SaslEnv for Env {
	fn account(&mut self, user: &str) -> Result<Option<Account>, Unreadable> {
		match user {
			"alice" => Ok(self.account.clone()),
			"unreadable" => Err(Unreadable),
			_ => Ok(None),
		}
	}
	fn attempt_allowed(&mut self, user: &str) -> bool {
		user != "throttled"
	}
	fn random(&mut self, buf: &mut [u8]) {
		buf.fill(3);
	}
	fn fake_secret(&self) -> &[u8] {
		b"fake"
	}
	fn scram_iterations(&self) -> u32 {
		2
	}
	fn locked(&mut self, _: &str) -> bool {
		self.locked
	}
}

const MECHANISMS: [&str; 6] = ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "DIGEST-MD5"];

fuzz_target!(|data: &[u8]| {
	let Some((&ctl, rest)) = data.split_first() else { return };
	let Some(mech) = Mechanism::parse(MECHANISMS[usize::from(ctl % 6)]) else { return };
	let cb = (ctl & 0x10 != 0).then_some([7u8; 32]);
	let mut env = Env { account: derive_account("pencil", 2, 0, &mut |b: &mut [u8]| b.fill(1)), locked: ctl & 0x40 != 0 };
	let mut messages = rest.split(|b| *b == 0xff);
	// An empty first part: no initial response.
	let initial = messages.next().filter(|m| !m.is_empty());
	let (mut ex, mut step) = Exchange::start(mech, initial, cb.as_ref().map(|c| &c[..]), ctl & 0x20 != 0, &mut env);
	for m in messages.take(3) {
		check(&step);
		if !matches!(step, Step::Challenge(_)) {
			// Over: any more data is refused.
			assert!(matches!(ex.respond(m, &mut env), Step::Failure(..)));
			return;
		}
		step = ex.respond(m, &mut env);
	}
	check(&step);
});

fn check(step: &Step) {
	if let Step::Success(auth, _) = step {
		assert_eq!(auth.user(), "alice", "success without a password");
	}
}
