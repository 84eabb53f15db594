//! SASL for XMPP (RFC 6120 §6): mechanism choice, PLAIN (RFC 4616) and SCRAM
//! (RFC 5802/7677, -PLUS with RFC 9266 tls-exporter), failure conditions.
//!
//! No I/O: an [`Exchange`] takes the decoded client data and an environment
//! that can look up stored credentials; it answers with a [`Step`]. Only a
//! successful exchange can make an [`Authenticated`].

pub mod ht;
pub mod scram;

use scram::{ChannelBinding, ScramCredentials, ScramError, ScramHash, ScramServer};

use crate::store::Account;
use crate::xmpp::jid::{prep_localpart, prep_password};

/// Proof that SASL succeeded for `user` (a prepared localpart). Only this
/// module can make one, so nothing can bind or route before authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
	user: String,
}

impl Authenticated {
	pub fn user(&self) -> &str {
		&self.user
	}

	/// For tests of code that needs an authenticated user without a stream.
	#[cfg(test)]
	pub fn for_test(user: &str) -> Authenticated {
		Authenticated { user: user.to_owned() }
	}
}

/// RFC 6120 §6.5 failure conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
	Aborted,
	/// §6.5.1: the account is locked by the admin (told only to whoever proved its password).
	AccountDisabled,
	/// §6.5.2: a FAST token (XEP-0484) that has expired.
	CredentialsExpired,
	EncryptionRequired,
	IncorrectEncoding,
	InvalidAuthzid,
	InvalidMechanism,
	MalformedRequest,
	NotAuthorized,
	TemporaryAuthFailure,
}

impl Failure {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Aborted => "aborted",
			Self::AccountDisabled => "account-disabled",
			Self::CredentialsExpired => "credentials-expired",
			Self::EncryptionRequired => "encryption-required",
			Self::IncorrectEncoding => "incorrect-encoding",
			Self::InvalidAuthzid => "invalid-authzid",
			Self::InvalidMechanism => "invalid-mechanism",
			Self::MalformedRequest => "malformed-request",
			Self::NotAuthorized => "not-authorized",
			Self::TemporaryAuthFailure => "temporary-auth-failure",
		}
	}
}

/// What a failed exchange says about the client, for the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
	/// The server could not check the credentials (storage unreadable):
	/// the client is not to blame, nothing is counted.
	ServerFault,
	/// Credentials were checked and were wrong (or the user is unknown):
	/// counts against the retry and throttle limits.
	Guess(String),
	/// Not a credential guess (syntax, abort, throttling), but still a
	/// failure: it counts against the retries and the address.
	Other,
	/// The right password for a locked account: counts against the
	/// connection's retries, not the throttles (a locked person's app
	/// retrying must not lock the office's address out).
	Disabled,
	/// A -PLUS attempt with a binding type we do not have. The client saw
	/// our -PLUS offer, so a later "y" flag from it is no downgrade.
	UnsupportedBinding,
}

fn scram_failure(e: ScramError, user: Option<String>) -> Step {
	let attempt = |user: Option<String>| user.map_or(Attempt::Other, Attempt::Guess);
	match e {
		ScramError::Malformed => Step::Failure(Failure::MalformedRequest, Attempt::Other, "malformed SCRAM message"),
		ScramError::UnsupportedBinding => Step::Failure(
			Failure::NotAuthorized,
			Attempt::UnsupportedBinding,
			"the client asked for a channel binding type other than tls-exporter (it may retry without)",
		),
		ScramError::ChannelBinding => Step::Failure(
			Failure::NotAuthorized,
			Attempt::Other,
			"channel binding does not match this TLS session (or is missing from a -PLUS mechanism)",
		),
		ScramError::Downgrade => Step::Failure(
			Failure::NotAuthorized,
			Attempt::Other,
			"GS2 flag \"y\" (the client can bind, but believes the server cannot) although -PLUS was offered: \
			 a downgrade, or a client that ignored the offer",
		),
		ScramError::OutOfOrder => Step::Failure(Failure::NotAuthorized, Attempt::Other, "SCRAM message out of order"),
		ScramError::NotAuthorized => Step::Failure(Failure::NotAuthorized, attempt(user), WRONG_PASSWORD),
		ScramError::InvalidAuthzid => Step::Failure(Failure::InvalidAuthzid, Attempt::Other, "authorization identity is someone else"),
	}
}

/// Unknown accounts and wrong passwords look alike to clients; the log says so too.
const WRONG_PASSWORD: &str = "wrong password or unknown account";

/// The mechanisms Xerra implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
	Plain,
	Scram { hash: ScramHash, plus: bool },
}

impl Mechanism {
	pub fn parse(name: &str) -> Option<Mechanism> {
		Some(match name {
			"PLAIN" => Mechanism::Plain,
			"SCRAM-SHA-1" => Mechanism::Scram { hash: ScramHash::Sha1, plus: false },
			"SCRAM-SHA-1-PLUS" => Mechanism::Scram { hash: ScramHash::Sha1, plus: true },
			"SCRAM-SHA-256" => Mechanism::Scram { hash: ScramHash::Sha256, plus: false },
			"SCRAM-SHA-256-PLUS" => Mechanism::Scram { hash: ScramHash::Sha256, plus: true },
			_ => return None,
		})
	}

	/// Offered mechanisms, strongest first. -PLUS only with channel binding;
	/// SCRAM-SHA-256 only with `sha256` (false while some account has
	/// SCRAM-SHA-1 keys only: clients that pick the strongest offer and do
	/// not fall back would lock its owner out).
	pub fn offered(with_cb: bool, sha256: bool) -> impl Iterator<Item = &'static str> {
		let all: &[&str] = if with_cb {
			&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
		} else {
			&["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
		};
		all.iter().copied().filter(move |m| sha256 || !m.starts_with("SCRAM-SHA-256"))
	}
}

/// What an exchange needs from the server around it.
/// Storage could not be read to look an account up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

pub trait SaslEnv {
	/// Stored credentials of a (prepared) localpart; `Err` when storage
	/// cannot be read now (the attempt fails as temporary, not as a guess).
	fn account(&mut self, user: &str) -> Result<Option<Account>, Unreadable>;
	/// Whether another attempt for this account (and the peer's address) is
	/// allowed now; false answers `temporary-auth-failure`.
	fn attempt_allowed(&mut self, user: &str) -> bool;
	fn random(&mut self, buf: &mut [u8]);
	/// Server secret for the fake SCRAM challenge of unknown users.
	fn fake_secret(&self) -> &[u8];
	fn scram_iterations(&self) -> u32;
	/// Whether the admin locked this account: its right password then
	/// answers `account-disabled`.
	fn locked(&mut self, user: &str) -> bool;
	/// A PLAIN login succeeded for an account with SCRAM-SHA-1 keys only
	/// (`sha1`, as checked): the password is in hand to make the full set.
	fn add_missing_keys(&mut self, _user: &str, _sha1: &ScramCredentials, _password: &str) {}
	/// A device of an account, with its FAST tokens (XEP-0484).
	fn device(&mut self, _user: &str, _id: &str) -> Result<Option<crate::store::Device>, Unreadable> {
		Ok(None)
	}
	/// Unix seconds, for token expiry.
	fn now(&self) -> u64 {
		0
	}
}

/// A success for a locked account becomes `account-disabled`: checked after
/// the password, so the answer tells nothing to someone who guesses.
fn unless_locked(step: Step, env: &mut dyn SaslEnv) -> Step {
	match step {
		Step::Success(auth, _) if env.locked(&auth.user) => {
			Step::Failure(Failure::AccountDisabled, Attempt::Disabled, "the account is locked by the admin")
		}
		step => step,
	}
}

/// The server's next move.
#[derive(Debug)]
pub enum Step {
	Challenge(Vec<u8>),
	/// Additional data with success (SCRAM's server-final-message).
	Success(Authenticated, Option<Vec<u8>>),
	/// The condition, what it says about the client, and why, for the log
	/// (never a secret).
	Failure(Failure, Attempt, &'static str),
}

/// One running SASL exchange.
pub enum Exchange {
	/// PLAIN waiting for the response it asked for.
	Plain,
	/// SCRAM; `user` is set once the client-first-message was accepted.
	Scram {
		server: Box<ScramServer>,
		hash: ScramHash,
		user: Option<String>,
	},
	Done,
}

impl Exchange {
	/// Starts `mech` with the client's initial response (`None` when absent).
	/// `cb` is the tls-exporter data when -PLUS is offered; `y_is_downgrade`
	/// is false once the client showed it saw that offer (see [`Attempt`]).
	pub fn start(
		mech: Mechanism,
		initial: Option<&[u8]>,
		cb: Option<&[u8]>,
		y_is_downgrade: bool,
		env: &mut dyn SaslEnv,
	) -> (Exchange, Step) {
		Self::start_with_ssdp(mech, initial, cb, y_is_downgrade, None, env)
	}

	/// [`Exchange::start`] with the XEP-0474 input (`scram::ssdp_input`) of
	/// what was advertised, for SCRAM's `h` attribute.
	pub fn start_with_ssdp(
		mech: Mechanism,
		initial: Option<&[u8]>,
		cb: Option<&[u8]>,
		y_is_downgrade: bool,
		ssdp: Option<String>,
		env: &mut dyn SaslEnv,
	) -> (Exchange, Step) {
		match mech {
			Mechanism::Plain => match initial {
				// RFC 4616 has no server challenge: ask for the response.
				None => (Exchange::Plain, Step::Challenge(Vec::new())),
				Some(data) => (Exchange::Done, unless_locked(plain(data, env), env)),
			},
			Mechanism::Scram { hash, plus } => {
				let binding = cb.map(|data| ChannelBinding { name: "tls-exporter", data: data.to_vec() });
				let server = ScramServer::new(hash, plus, cb.is_some() && y_is_downgrade, binding).with_ssdp(ssdp);
				let mut ex = Exchange::Scram { server: Box::new(server), hash, user: None };
				let step = match initial {
					None => Step::Challenge(Vec::new()),
					Some(data) => ex.scram_first(data, env),
				};
				(ex, step)
			}
		}
	}

	/// Continues with a client `<response/>`.
	pub fn respond(&mut self, data: &[u8], env: &mut dyn SaslEnv) -> Step {
		match std::mem::replace(self, Exchange::Done) {
			Exchange::Plain => unless_locked(plain(data, env), env),
			Exchange::Scram { server, hash, user: None } => {
				*self = Exchange::Scram { server, hash, user: None };
				self.scram_first(data, env)
			}
			Exchange::Scram { mut server, user: Some(user), .. } => match server.client_final(data) {
				Ok(fin) => unless_locked(Step::Success(Authenticated { user }, Some(fin)), env),
				Err(e) => scram_failure(e, Some(user)),
			},
			Exchange::Done => Step::Failure(Failure::MalformedRequest, Attempt::Other, "a response after the exchange ended"),
		}
	}

	fn scram_first(&mut self, data: &[u8], env: &mut dyn SaslEnv) -> Step {
		let Exchange::Scram { server, hash, user } = self else {
			return Step::Failure(Failure::MalformedRequest, Attempt::Other, "not a SCRAM exchange");
		};
		let first = match server.client_first(data) {
			Ok(f) => f,
			Err(e) => return scram_failure(e, None),
		};
		let Ok(name) = prep_localpart(&first.username) else {
			return Step::Failure(Failure::NotAuthorized, Attempt::Other, NOT_A_USER_NAME);
		};
		if !env.attempt_allowed(&name) {
			return Step::Failure(Failure::TemporaryAuthFailure, Attempt::Other, THROTTLED);
		}
		let Ok(account) = env.account(&name) else {
			return Step::Failure(Failure::TemporaryAuthFailure, Attempt::ServerFault, UNREADABLE);
		};
		let creds = account.map(|a| match *hash {
			ScramHash::Sha1 => a.sha1,
			ScramHash::Sha256 => a.sha256,
		});
		// An account imported with keys for one hash only (Prosody keeps
		// SCRAM-SHA-1 alone): no proof could ever match, and a wrong
		// password it is not; the client may retry with another mechanism.
		if creds.as_ref().is_some_and(|c| c.stored_key.is_empty()) {
			return Step::Failure(Failure::InvalidMechanism, Attempt::Other, NO_KEYS_FOR_HASH);
		}
		let mut nonce = [0u8; 24];
		env.random(&mut nonce);
		let iterations = env.scram_iterations();
		// Unknown users get a fake challenge keyed by the prepared name, so
		// every spelling of one name sees the same salt, as for real accounts.
		let fake = fake_secret(env, &name);
		match server.server_first(creds.as_ref(), fake.as_ref(), iterations, &nonce) {
			Ok(msg) => {
				*user = Some(name);
				Step::Challenge(msg)
			}
			Err(e) => scram_failure(e, Some(name)),
		}
	}
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`, checked against the stored
/// SCRAM-SHA-256 keys, or the SCRAM-SHA-1 ones of an account imported with
/// only those (the password itself is never stored).
fn plain(data: &[u8], env: &mut dyn SaslEnv) -> Step {
	let Ok(text) = std::str::from_utf8(data) else {
		return Step::Failure(Failure::MalformedRequest, Attempt::Other, "PLAIN message not UTF-8");
	};
	let mut parts = text.split('\0');
	let (Some(authzid), Some(authcid), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
		return Step::Failure(Failure::MalformedRequest, Attempt::Other, "malformed PLAIN message");
	};
	let Ok(user) = prep_localpart(authcid) else {
		return Step::Failure(Failure::NotAuthorized, Attempt::Other, NOT_A_USER_NAME);
	};
	if !authzid.is_empty() && prep_localpart(authzid.split('@').next().unwrap_or("")).ok().as_deref() != Some(user.as_str()) {
		return Step::Failure(Failure::InvalidAuthzid, Attempt::Other, "authorization identity is someone else");
	}
	if !env.attempt_allowed(&user) {
		return Step::Failure(Failure::TemporaryAuthFailure, Attempt::Other, THROTTLED);
	}
	let Some(password) = prep_password(password) else {
		return Step::Failure(Failure::NotAuthorized, Attempt::Guess(user), "password not valid (PRECIS)");
	};
	let (stored, known) = match env.account(&user) {
		Err(Unreadable) => return Step::Failure(Failure::TemporaryAuthFailure, Attempt::ServerFault, UNREADABLE),
		// Imported with SCRAM-SHA-1 keys only: those are what the password is checked against.
		Ok(Some(account)) if account.sha256.stored_key.is_empty() => ((account.sha1, ScramHash::Sha1), true),
		Ok(Some(account)) => ((account.sha256, ScramHash::Sha256), true),
		// Issue 11: without an account there was nothing to derive, and the
		// speed of the answer told which accounts exist. Stand-in keys of
		// the same cost make an unknown user take as long as a wrong password.
		Ok(None) => (
			(ScramCredentials::fake(ScramHash::Sha256, fake_secret(env, &user).as_ref(), env.scram_iterations()), ScramHash::Sha256),
			false,
		),
	};
	let (stored, hash) = stored;
	if std::hint::black_box(!stored.stored_key.is_empty() && stored.verify_password(hash, &password)) && known {
		if hash == ScramHash::Sha1 {
			env.add_missing_keys(&user, &stored, &password);
		}
		return Step::Success(Authenticated { user }, None);
	}
	Step::Failure(Failure::NotAuthorized, Attempt::Guess(user), WRONG_PASSWORD)
}

const NO_KEYS_FOR_HASH: &str =
	"the account has no keys for this SCRAM hash (imported with SCRAM-SHA-1 keys only): the client may retry with SCRAM-SHA-1 or PLAIN";
const NOT_A_USER_NAME: &str = "the user name is not a valid address part";
const THROTTLED: &str = "too many failures for this account or address: throttled";
const UNREADABLE: &str = "the account could not be read from storage";

/// The secret behind an unknown user's stand-in credentials: specific to
/// the prepared name, so every spelling of it, and every retry, sees the same.
fn fake_secret(env: &dyn SaslEnv, name: &str) -> ring::hmac::Tag {
	ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, env.fake_secret()), name.as_bytes())
}

/// Salted keys for a new password, for both hashes.
pub fn derive_account(password: &str, iterations: u32, created: u64, random: &mut dyn FnMut(&mut [u8])) -> Option<Account> {
	let password = prep_password(password)?;
	let mut creds = |hash| {
		let mut salt = [0u8; 16];
		random(&mut salt);
		ScramCredentials::derive(hash, &password, &salt, iterations)
	};
	let sha1 = creds(ScramHash::Sha1);
	let sha256 = creds(ScramHash::Sha256);
	Some(Account { created, sha1, sha256 })
}

#[cfg(test)]
mod tests {
	use super::*;

	struct Env {
		account: Option<Account>,
		allowed: bool,
		locked: bool,
		upgraded: Vec<String>,
	}

	impl SaslEnv for Env {
		fn account(&mut self, user: &str) -> Result<Option<Account>, Unreadable> {
			if user == "broken" {
				return Err(Unreadable);
			}
			Ok(if user == "alice" { self.account.clone() } else { None })
		}
		fn attempt_allowed(&mut self, _: &str) -> bool {
			self.allowed
		}
		fn random(&mut self, buf: &mut [u8]) {
			buf.fill(7);
		}
		fn fake_secret(&self) -> &[u8] {
			b"secret"
		}
		fn scram_iterations(&self) -> u32 {
			4096
		}
		fn locked(&mut self, user: &str) -> bool {
			user == "alice" && self.locked
		}
		fn add_missing_keys(&mut self, user: &str, _: &ScramCredentials, password: &str) {
			self.upgraded.push(format!("{user}:{password}"));
		}
	}

	fn env() -> Env {
		let account = derive_account("pencil", 4096, 0, &mut |b: &mut [u8]| b.fill(1));
		Env { account, allowed: true, locked: false, upgraded: Vec::new() }
	}

	#[test]
	fn plain_success_and_failures() {
		let mut e = env();
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0Alice\0pencil"), None, true, &mut e);
		let Step::Success(auth, None) = step else { panic!("{step:?}") };
		assert_eq!(auth.user(), "alice");
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0wrong"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)));
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"garbage"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::MalformedRequest, Attempt::Other, _)));
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"bob\0alice\0pencil"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::InvalidAuthzid, _, _)));
		e.allowed = false;
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0pencil"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::TemporaryAuthFailure, Attempt::Other, _)));
	}

	#[test]
	fn a_locked_account_is_disabled_only_for_the_right_password() {
		let mut e = env();
		e.locked = true;
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0pencil"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::AccountDisabled, Attempt::Disabled, _)), "{step:?}");
		assert_eq!(Failure::AccountDisabled.as_str(), "account-disabled");
		// A guess learns nothing about the lock.
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0wrong"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)), "{step:?}");
	}

	/// PBKDF2 iterations `f` runs on this thread.
	fn work(f: impl FnOnce()) -> u64 {
		let before = scram::PBKDF2_WORK.with(|w| w.get());
		f();
		scram::PBKDF2_WORK.with(|w| w.get()) - before
	}

	/// Issue 11: PLAIN answered an unknown user 7 times faster than a known
	/// one with a wrong password. Both now derive a key of the same cost.
	#[test]
	fn plain_does_the_same_work_for_unknown_users() {
		let mut e = env();
		let known = work(|| {
			let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0wrong"), None, true, &mut e);
			assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)));
		});
		let unknown = work(|| {
			let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0mallory\0wrong"), None, true, &mut e);
			assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)));
		});
		assert_eq!(known, 4096);
		assert_eq!(unknown, known);
	}

	/// An account imported with only SCRAM-SHA-1 keys (Prosody 0.12 keeps
	/// no others): PLAIN checks those, SCRAM-SHA-256 is refused as a
	/// mechanism this account lacks (not a wrong password, so the client
	/// may retry with SCRAM-SHA-1), and SCRAM-SHA-1 works.
	fn sha1_only() -> Env {
		let mut e = env();
		let a = e.account.as_mut().unwrap();
		a.sha256 = ScramCredentials { salt: vec![9; 16], iterations: 4096, stored_key: Vec::new(), server_key: Vec::new() };
		e
	}

	#[test]
	fn plain_checks_the_sha1_keys_of_an_account_without_sha256_keys() {
		let mut e = sha1_only();
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0pencil"), None, true, &mut e);
		assert!(matches!(step, Step::Success(..)), "{step:?}");
		assert_eq!(e.upgraded, ["alice:pencil"], "the password makes the missing keys");
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0wrong"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)), "{step:?}");
		assert_eq!(e.upgraded.len(), 1);
		let mut full = env();
		let (_, step) = Exchange::start(Mechanism::Plain, Some(b"\0alice\0pencil"), None, true, &mut full);
		assert!(matches!(step, Step::Success(..)) && full.upgraded.is_empty(), "{step:?}");
	}

	#[test]
	fn scram_without_keys_for_its_hash_is_an_invalid_mechanism() {
		let mut e = sha1_only();
		let sha256 = Mechanism::Scram { hash: ScramHash::Sha256, plus: false };
		let (_, step) = Exchange::start(sha256, Some(b"n,,n=alice,r=abcdef"), None, true, &mut e);
		assert!(matches!(step, Step::Failure(Failure::InvalidMechanism, Attempt::Other, _)), "{step:?}");
		let sha1 = Mechanism::Scram { hash: ScramHash::Sha1, plus: false };
		let (_, step) = Exchange::start(sha1, Some(b"n,,n=alice,r=abcdef"), None, true, &mut e);
		assert!(matches!(step, Step::Challenge(_)), "{step:?}");
	}

	#[test]
	fn plain_without_initial_response_asks_for_it() {
		let mut e = env();
		let (mut ex, step) = Exchange::start(Mechanism::Plain, None, None, true, &mut e);
		assert!(matches!(step, Step::Challenge(ref c) if c.is_empty()));
		assert!(matches!(ex.respond(b"\0alice\0pencil", &mut e), Step::Success(..)));
	}

	#[test]
	fn mechanism_names() {
		assert_eq!(Mechanism::parse("SCRAM-SHA-256-PLUS"), Some(Mechanism::Scram { hash: ScramHash::Sha256, plus: true }));
		assert_eq!(Mechanism::parse("DIGEST-MD5"), None);
		assert!(!Mechanism::offered(false, true).any(|m| m.ends_with("-PLUS")));
		assert_eq!(Mechanism::offered(true, false).collect::<Vec<_>>(), ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"]);
	}
}
