//! The SASL HT mechanism family (draft-schmaus-kitten-sasl-ht) as FAST
//! (XEP-0484) uses it: the client sends `authcid NUL HMAC(token,
//! "Initiator" || cb-data)`, the server answers `HMAC(token, "Responder" ||
//! cb-data)`; one round trip, no PBKDF2.
//!
//! Offered: `HT-SHA-256-ENDP` (bound to the server's certificate,
//! RFC 5929 tls-server-end-point) on TLS, and `HT-SHA-256-NONE`. We keep
//! only a hash of the client's proof, never the token, so a copy of the
//! database holds nothing that logs in; that works where the binding data
//! is the same on every connection (none, or the certificate's hash, which
//! is kept with the token: a new certificate expires it). -EXPR (tls-
//! exporter, new on every connection) would need the token itself at every
//! login, and -UNIQ does not exist on TLS 1.3: neither is offered.

use ring::{digest, hmac};

use super::scram::ct_eq;
use super::{Attempt, Authenticated, Failure, SaslEnv, Step, Unreadable, unless_locked};
use crate::store::FastSlot;
use crate::xmpp::jid::prep_localpart;

pub const HT_SHA_256_NONE: &str = "HT-SHA-256-NONE";
pub const HT_SHA_256_ENDP: &str = "HT-SHA-256-ENDP";

/// FAST mechanisms offered: -ENDP first where the stream has the server
/// certificate's binding (`end_point`).
pub fn offered(end_point: Option<&[u8]>) -> &'static [&'static str] {
	match end_point {
		Some(_) => &[HT_SHA_256_ENDP, HT_SHA_256_NONE],
		None => &[HT_SHA_256_NONE],
	}
}

/// The binding data `mechanism` folds in: the certificate's hash for
/// -ENDP, nothing for -NONE; `None` if the stream cannot have it.
fn binding<'a>(mechanism: &str, end_point: Option<&'a [u8]>) -> Option<&'a [u8]> {
	match mechanism {
		HT_SHA_256_NONE => Some(&[]),
		HT_SHA_256_ENDP => end_point,
		_ => None,
	}
}

pub fn is_ht(mechanism: &str) -> bool {
	mechanism.starts_with("HT-")
}

/// Which of a device's two token slots (XEP-0484 §7.1) a login used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
	Current,
	New,
}

/// A new token: what the client gets, and what is kept of it.
#[derive(Debug, Clone)]
pub struct Issued {
	pub token: String,
	pub slot: FastSlot,
}

fn proofs(token: &[u8], cb: &[u8]) -> (Vec<u8>, Vec<u8>) {
	let key = hmac::Key::new(hmac::HMAC_SHA256, token);
	let initiator = hmac::sign(&key, &[b"Initiator".as_slice(), cb].concat());
	let responder = hmac::sign(&key, &[b"Responder".as_slice(), cb].concat());
	(digest::digest(&digest::SHA256, initiator.as_ref()).as_ref().to_vec(), responder.as_ref().to_vec())
}

/// Makes a token for `mechanism` (one of [`offered`]) expiring at
/// `expiry`, bound to `cb` (see [`binding`]).
pub fn issue(mechanism: &str, expiry: u64, cb: &[u8], random: &mut dyn FnMut(&mut [u8])) -> Issued {
	let mut raw = [0u8; 32];
	random(&mut raw);
	let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
	let (verifier, responder) = proofs(token.as_bytes(), cb);
	Issued { token, slot: FastSlot { mechanism: mechanism.to_owned(), verifier, responder, expiry, binding: cb.to_vec() } }
}

/// What a successful SASL2 login does to a device's tokens (XEP-0484 §5):
/// the token used from the `new` slot becomes `current` (the older one is
/// done); `invalidate` drops the used one; a token is issued when
/// `requested` (an offered mechanism) or when the used one is in the second
/// half of its life. Returns the new token, already in the `new` slot (an
/// unused newer token is replaced).
#[allow(clippy::too_many_arguments)]
pub fn after_login(
	d: &mut crate::store::Device,
	used: Option<Used>,
	invalidate: bool,
	requested: Option<&str>,
	end_point: Option<&[u8]>,
	now: u64,
	ttl: u64,
	random: &mut dyn FnMut(&mut [u8]),
) -> Option<Issued> {
	if used == Some(Used::New) {
		d.current = d.new.take();
	}
	let used_slot = if used.is_some() { d.current.clone() } else { None };
	let invalidate = invalidate && used.is_some();
	if invalidate {
		d.current = None;
	}
	let offered = |m: &str| offered(end_point).iter().find(|o| **o == m).copied();
	let rotate = used_slot.filter(|s| !invalidate && s.expiry < now + ttl / 2).and_then(|s| offered(&s.mechanism));
	let mechanism = requested.and_then(offered).or(rotate)?;
	let issued = issue(mechanism, now + ttl, binding(mechanism, end_point)?, random);
	d.new = Some(issued.slot.clone());
	Some(issued)
}

/// Checks an HT initial response for the device `ua` (XEP-0484 requires
/// one) on a stream with the certificate binding `end_point`. Failures are
/// counted like a password's: a wrong token is a guess.
pub fn authenticate(
	mechanism: &str,
	initial: Option<&[u8]>,
	ua: Option<&str>,
	end_point: Option<&[u8]>,
	env: &mut dyn SaslEnv,
) -> (Step, Option<Used>) {
	let Some(cb) = binding(mechanism, end_point) else {
		return (Step::Failure(Failure::InvalidMechanism, Attempt::Other, "a FAST mechanism this server does not offer"), None);
	};
	let Some(ua) = ua else {
		return (Step::Failure(Failure::NotAuthorized, Attempt::Other, "FAST without a <user-agent id/>"), None);
	};
	let Some(data) = initial else {
		return (Step::Failure(Failure::MalformedRequest, Attempt::Other, "FAST without an initial response"), None);
	};
	let Some(nul) = data.iter().position(|&b| b == 0) else {
		return (Step::Failure(Failure::MalformedRequest, Attempt::Other, "malformed HT message"), None);
	};
	let (authcid, proof) = (&data[..nul], &data[nul + 1..]);
	let Some(user) = std::str::from_utf8(authcid).ok().and_then(|a| prep_localpart(a.split('@').next().unwrap_or("")).ok()) else {
		return (Step::Failure(Failure::NotAuthorized, Attempt::Other, super::NOT_A_USER_NAME), None);
	};
	if !env.attempt_allowed(&user) {
		return (Step::Failure(Failure::TemporaryAuthFailure, Attempt::Other, super::THROTTLED), None);
	}
	// A device outliving its account must not let anyone in.
	let device = match env.account(&user).and_then(|a| if a.is_some() { env.device(&user, ua) } else { Ok(None) }) {
		Ok(d) => d,
		Err(Unreadable) => return (Step::Failure(Failure::TemporaryAuthFailure, Attempt::ServerFault, super::UNREADABLE), None),
	};
	let hashed = digest::digest(&digest::SHA256, proof);
	let now = env.now();
	let slots = device.map(|d| vec![(Used::New, d.new), (Used::Current, d.current)]).unwrap_or_default();
	let mut stale = false;
	for (which, slot) in slots {
		let Some(slot) = slot else { continue };
		if slot.mechanism != mechanism {
			continue;
		}
		if slot.binding != cb {
			// Issued under the certificate before this one: no proof can match.
			stale = true;
			continue;
		}
		if !ct_eq(&slot.verifier, hashed.as_ref()) {
			continue;
		}
		if slot.expiry <= now {
			// The right token, too late (XEP-0484 §6): the client falls back
			// to its password; no guess.
			return (Step::Failure(Failure::CredentialsExpired, Attempt::Other, "the FAST token has expired"), None);
		}
		let step = unless_locked(Step::Success(Authenticated { user }, Some(slot.responder)), env);
		return (step, Some(which));
	}
	if stale {
		// The client falls back to its password (and gets a new token); no guess.
		return (
			Step::Failure(Failure::CredentialsExpired, Attempt::Other, "the server's certificate changed since the FAST token was issued"),
			None,
		);
	}
	(Step::Failure(Failure::NotAuthorized, Attempt::Guess(user), "wrong or revoked FAST token"), None)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::{Account, Device};

	struct Env {
		device: Option<Device>,
		now: u64,
		locked: bool,
	}

	impl SaslEnv for Env {
		fn account(&mut self, _: &str) -> Result<Option<Account>, Unreadable> {
			Ok(crate::proto::sasl::derive_account("x", 4096, 0, &mut |b: &mut [u8]| b.fill(1)))
		}
		fn attempt_allowed(&mut self, _: &str) -> bool {
			true
		}
		fn random(&mut self, buf: &mut [u8]) {
			buf.fill(5);
		}
		fn fake_secret(&self) -> &[u8] {
			b"f"
		}
		fn scram_iterations(&self) -> u32 {
			4096
		}
		fn locked(&mut self, _: &str) -> bool {
			self.locked
		}
		fn device(&mut self, user: &str, id: &str) -> Result<Option<Device>, Unreadable> {
			Ok(if user == "alice" && id == "ua" { self.device.clone() } else { None })
		}
		fn now(&self) -> u64 {
			self.now
		}
	}

	/// What a client sends with `token`.
	fn client_first(user: &str, token: &str) -> Vec<u8> {
		let sig = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes()), b"Initiator");
		[user.as_bytes(), b"\0", sig.as_ref()].concat()
	}

	#[test]
	fn tokens_in_both_slots_expiry_and_guesses() {
		let old = issue(HT_SHA_256_NONE, 100, &[], &mut |b| b.fill(1));
		let new = issue(HT_SHA_256_NONE, 200, &[], &mut |b| b.fill(2));
		assert_ne!(old.token, new.token);
		let device = Device { current: Some(old.slot.clone()), new: Some(new.slot.clone()), ..Device::default() };
		let mut env = Env { device: Some(device), now: 50, locked: false };
		let (step, used) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", &new.token)), Some("ua"), None, &mut env);
		let Step::Success(auth, Some(fin)) = step else { panic!("{step:?}") };
		assert_eq!((auth.user(), used), ("alice", Some(Used::New)));
		let want = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, new.token.as_bytes()), b"Responder");
		assert_eq!(fin, want.as_ref(), "the server proves it knew the token");
		let (step, used) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", &old.token)), Some("ua"), None, &mut env);
		assert!(matches!(step, Step::Success(..)) && used == Some(Used::Current));
		// Another device's id, a wrong token, a missing user-agent.
		let (step, _) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", &old.token)), Some("other"), None, &mut env);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)), "{step:?}");
		let (step, _) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", "guess")), Some("ua"), None, &mut env);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)), "{step:?}");
		let (step, _) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", &old.token)), None, None, &mut env);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Other, _)), "{step:?}");
		// Past its expiry the right token is refused as expired.
		env.now = 150;
		let (step, _) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", &old.token)), Some("ua"), None, &mut env);
		assert!(matches!(step, Step::Failure(Failure::CredentialsExpired, Attempt::Other, _)), "{step:?}");
		// A locked account: only the holder of a valid token learns it.
		env.locked = true;
		let (step, _) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", &new.token)), Some("ua"), None, &mut env);
		assert!(matches!(step, Step::Failure(Failure::AccountDisabled, ..)), "{step:?}");
	}

	#[test]
	fn rotation_promotion_and_invalidation() {
		let mut n = 0u8;
		let mut random = |b: &mut [u8]| {
			n += 1;
			b.fill(n)
		};
		let mut d = Device::default();
		// A password login that asks for a token gets one in `new`.
		let first = after_login(&mut d, None, false, Some(HT_SHA_256_NONE), None, 1000, 100, &mut random).unwrap();
		assert_eq!((d.new.as_ref().map(|s| s.expiry), d.current.as_ref()), (Some(1100), None));
		// Using it makes it current; early in its life nothing new comes.
		assert!(after_login(&mut d, Some(Used::New), false, None, None, 1010, 100, &mut random).is_none());
		assert_eq!(d.current, Some(first.slot.clone()));
		assert!(d.new.is_none());
		// In its second half a login with it brings a new one; the old stays until the new is used.
		let second = after_login(&mut d, Some(Used::Current), false, None, None, 1060, 100, &mut random).unwrap();
		assert_eq!((d.current.clone(), d.new.clone()), (Some(first.slot.clone()), Some(second.slot.clone())));
		after_login(&mut d, Some(Used::New), false, None, None, 1070, 100, &mut random);
		assert_eq!((d.current.clone(), d.new.clone()), (Some(second.slot.clone()), None), "the older token is done");
		// Invalidation drops the used token and issues none, unless asked.
		assert!(after_login(&mut d, Some(Used::Current), true, None, None, 1150, 100, &mut random).is_none());
		assert!(!d.has_tokens());
		// A request for a mechanism we do not offer gets nothing.
		assert!(after_login(&mut d, None, false, Some("HT-SHA-256-EXPR"), None, 1150, 100, &mut random).is_none());
	}

	#[test]
	fn only_the_offered_mechanism() {
		let mut env = Env { device: None, now: 0, locked: false };
		let (step, _) = authenticate("HT-SHA-256-EXPR", Some(b"alice\0x"), Some("ua"), None, &mut env);
		assert!(matches!(step, Step::Failure(Failure::InvalidMechanism, ..)), "{step:?}");
	}

	/// What a client sends with `token` bound to `cb`.
	fn client_first_bound(user: &str, token: &str, cb: &[u8]) -> Vec<u8> {
		let sig = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes()), &[b"Initiator".as_slice(), cb].concat());
		[user.as_bytes(), b"\0", sig.as_ref()].concat()
	}

	#[test]
	fn endp_is_bound_to_the_certificate_it_was_issued_under() {
		let cert = [7u8; 32];
		assert_eq!(offered(Some(&cert)), [HT_SHA_256_ENDP, HT_SHA_256_NONE]);
		assert_eq!(offered(None), [HT_SHA_256_NONE]);
		let mut d = Device::default();
		let t = after_login(&mut d, None, false, Some(HT_SHA_256_ENDP), Some(&cert), 1000, 100, &mut |b| b.fill(3)).unwrap();
		assert_eq!(t.slot.binding, cert);
		let mut env = Env { device: Some(d), now: 1010, locked: false };
		let (step, used) =
			authenticate(HT_SHA_256_ENDP, Some(&client_first_bound("alice", &t.token, &cert)), Some("ua"), Some(&cert), &mut env);
		let Step::Success(_, Some(fin)) = step else { panic!("{step:?}") };
		assert_eq!(used, Some(Used::New));
		let want = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, t.token.as_bytes()), &[b"Responder".as_slice(), &cert].concat());
		assert_eq!(fin, want.as_ref());
		// The same token without the binding (as -NONE) or with another one is a guess.
		let (step, _) = authenticate(HT_SHA_256_ENDP, Some(&client_first("alice", &t.token)), Some("ua"), Some(&cert), &mut env);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)), "{step:?}");
		let (step, _) = authenticate(HT_SHA_256_NONE, Some(&client_first("alice", &t.token)), Some("ua"), Some(&cert), &mut env);
		assert!(matches!(step, Step::Failure(Failure::NotAuthorized, Attempt::Guess(_), _)), "{step:?}");
		// A renewed certificate: the token is expired, not a guess; the password logs in and gets a new one.
		let renewed = [8u8; 32];
		let (step, _) =
			authenticate(HT_SHA_256_ENDP, Some(&client_first_bound("alice", &t.token, &renewed)), Some("ua"), Some(&renewed), &mut env);
		assert!(matches!(step, Step::Failure(Failure::CredentialsExpired, Attempt::Other, _)), "{step:?}");
		// No certificate binding on the stream: -ENDP is not there.
		let (step, _) = authenticate(HT_SHA_256_ENDP, Some(&client_first_bound("alice", &t.token, &cert)), Some("ua"), None, &mut env);
		assert!(matches!(step, Step::Failure(Failure::InvalidMechanism, ..)), "{step:?}");
		assert!(after_login(&mut Device::default(), None, false, Some(HT_SHA_256_ENDP), None, 1, 1, &mut |b| b.fill(1)).is_none());
	}
}
