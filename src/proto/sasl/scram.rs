//! SCRAM server side: RFC 5802 (SCRAM-SHA-1), RFC 7677 (SCRAM-SHA-256) and
//! RFC 9266 `tls-exporter` channel binding for the -PLUS variants.
//!
//! Sans-IO: the caller feeds in client messages and sends back what comes out.
//! Name preparation (SASLprep/PRECIS), credential lookup and randomness stay
//! with the caller; there is no I/O, clock or global state here.

use base64::prelude::{BASE64_STANDARD, Engine as _};
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

/// SCRAM hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
	Sha1,
	Sha256,
}

impl ScramHash {
	/// Output length in bytes: the length of every key, proof and signature.
	pub fn output_len(self) -> usize {
		self.digest_alg().output_len()
	}

	fn digest_alg(self) -> &'static digest::Algorithm {
		match self {
			Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
			Self::Sha256 => &digest::SHA256,
		}
	}

	fn digest(self, data: &[u8]) -> Vec<u8> {
		digest::digest(self.digest_alg(), data).as_ref().to_vec()
	}

	fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
		let alg = match self {
			Self::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
			Self::Sha256 => hmac::HMAC_SHA256,
		};
		hmac::sign(&hmac::Key::new(alg, key), data).as_ref().to_vec()
	}

	/// SaltedPassword := Hi(password, salt, i), Hi being PBKDF2 (RFC 5802 §2.2).
	fn salted_password(self, password: &str, salt: &[u8], i: NonZeroU32) -> Vec<u8> {
		#[cfg(test)]
		PBKDF2_WORK.with(|w| w.set(w.get() + u64::from(i.get())));
		let alg = match self {
			Self::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
			Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
		};
		let mut out = vec![0; self.output_len()];
		pbkdf2::derive(alg, i, salt, password.as_bytes(), &mut out);
		out
	}
}

#[cfg(test)]
thread_local! {
	/// PBKDF2 iterations run on this thread: what tests compare instead of
	/// timings (issue 11: PLAIN told unknown users by their speed).
	pub(crate) static PBKDF2_WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// What the server stores per account and hash: never the password (RFC 5802 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredentials {
	pub salt: Vec<u8>,
	pub iterations: u32,
	pub stored_key: Vec<u8>,
	pub server_key: Vec<u8>,
}

impl ScramCredentials {
	/// `password` is already prepared (OpaqueString) by the caller. RFC 5802 needs
	/// at least one iteration, so 0 is raised to 1 (and stored as 1).
	pub fn derive(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> Self {
		let iterations = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
		let salted = hash.salted_password(password, salt, iterations);
		ScramCredentials {
			salt: salt.to_vec(),
			iterations: iterations.get(),
			stored_key: hash.digest(&hash.hmac(&salted, b"Client Key")),
			server_key: hash.hmac(&salted, b"Server Key"),
		}
	}

	/// From a SaltedPassword the client computed (XEP-0480 upgrade task):
	/// the keys, without the password.
	pub fn from_salted(hash: ScramHash, salted: &[u8], salt: &[u8], iterations: u32) -> Self {
		ScramCredentials {
			salt: salt.to_vec(),
			iterations,
			stored_key: hash.digest(&hash.hmac(salted, b"Client Key")),
			server_key: hash.hmac(salted, b"Server Key"),
		}
	}

	/// For PLAIN: recompute from the password and compare to `stored_key` in constant time.
	pub fn verify_password(&self, hash: ScramHash, password: &str) -> bool {
		let derived = Self::derive(hash, password, &self.salt, self.iterations);
		ct_eq(&derived.stored_key, &self.stored_key)
	}
}

/// Constant-time equality. ring 0.17.14 marks its `constant_time` re-export as
/// deprecated (to be removed) but it is still ring's own implementation.
#[allow(deprecated)]
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
	ring::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// What the transport offers for channel binding (RFC 9266 tls-exporter); None when
/// -PLUS is not offered. The caller offers -PLUS only on TLS 1.3, and passes the 32
/// bytes of exporter keying material.
pub struct ChannelBinding {
	/// Channel binding type as it appears in `p=`: "tls-exporter".
	pub name: &'static str,
	pub data: Vec<u8>,
}

/// Why an exchange failed; the caller maps these to RFC 6120 SASL failure conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramError {
	/// Syntax error in a client message, or a wrong nonce → `<malformed-request/>`.
	Malformed,
	/// Mismatched channel binding (or none with a -PLUS mechanism) → `<not-authorized/>`.
	ChannelBinding,
	/// A gs2 downgrade: the "y" flag while we offered -PLUS → `<not-authorized/>`.
	Downgrade,
	/// A -PLUS attempt with a binding type other than ours (e.g. tls-unique on
	/// TLS 1.3) → `<not-authorized/>`; the client cannot bind here at all.
	UnsupportedBinding,
	/// authzid names someone other than the user → `<invalid-authzid/>`.
	InvalidAuthzid,
	/// Username unknown or proof wrong → `<not-authorized/>`. One variant for both so
	/// callers cannot leak which.
	NotAuthorized,
	/// A message arrived in the wrong step, or after the exchange ended.
	OutOfOrder,
}

use ScramError::{ChannelBinding as CbError, Malformed, OutOfOrder};

/// What the caller needs from client-first-message for the credential lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
	/// Username as sent (=2C/=3D unescaped), not yet prepared.
	pub username: String,
	/// authzid as sent: the username or a JID `username@domain`, whose domain the
	/// caller must check.
	pub authzid: Option<String>,
}

enum State {
	Start,
	/// client-first parsed; waiting for the caller's credentials.
	GotFirst(GotFirst),
	/// server-first sent; waiting for client-final.
	SentFirst(SentFirst),
	/// Succeeded or failed: every further call is out of order.
	Finished,
}

struct GotFirst {
	client_nonce: String,
	client_first_bare: String,
	/// gs2-header ‖ cb-data: what `c=` must decode to.
	cbind_input: Vec<u8>,
}

struct SentFirst {
	nonce: String,
	/// client-first-message-bare "," server-first-message.
	auth_prefix: String,
	cbind_input: Vec<u8>,
	/// False for fake credentials: never succeed, even on a matching proof.
	known_user: bool,
	creds: ScramCredentials,
}

/// XEP-0474 §5.1: the advertised mechanisms sorted (i;octet) and joined
/// by 0x1E, then, if XEP-0440 channel-binding types were advertised, 0x1F
/// and those sorted and joined the same way.
pub fn ssdp_input(mechanisms: &[&str], channel_bindings: Option<&[&str]>) -> String {
	let mut m = mechanisms.to_vec();
	m.sort_unstable();
	let mut s = m.join("\u{1e}");
	if let Some(cbs) = channel_bindings {
		let mut c = cbs.to_vec();
		c.sort_unstable();
		s.push('\u{1f}');
		s.push_str(&c.join("\u{1e}"));
	}
	s
}

/// One SCRAM exchange.
pub struct ScramServer {
	hash: ScramHash,
	plus: bool,
	offered_plus: bool,
	cb: Option<ChannelBinding>,
	state: State,
	/// XEP-0474: the advertised mechanisms and channel-binding types, to
	/// hash into the server-first-message's `h` attribute.
	ssdp: Option<String>,
}

impl ScramServer {
	/// `plus`: this is the -PLUS mechanism (channel binding required). `offered_plus`:
	/// the server advertised -PLUS variants at all (needed to detect the gs2 "y"
	/// downgrade). `cb`: the binding data, Some when the transport has it.
	pub fn new(hash: ScramHash, plus: bool, offered_plus: bool, cb: Option<ChannelBinding>) -> Self {
		let state = State::Start;
		ScramServer { hash, plus, offered_plus, cb, state, ssdp: None }
	}

	/// Adds the XEP-0474 downgrade protection hash of `advertised` (see
	/// [`ssdp_input`]) to the server-first-message.
	pub fn with_ssdp(mut self, advertised: Option<String>) -> Self {
		self.ssdp = advertised;
		self
	}

	/// Takes the state out, leaving `Finished` behind for every error path.
	fn take(&mut self) -> State {
		std::mem::replace(&mut self.state, State::Finished)
	}

	/// Step 1: parse client-first-message. Returns the username as sent so the
	/// caller can prepare it and look up credentials.
	pub fn client_first(&mut self, msg: &[u8]) -> Result<ClientFirst, ScramError> {
		let State::Start = self.take() else {
			return Err(OutOfOrder);
		};
		let msg = std::str::from_utf8(msg).map_err(|_| Malformed)?;
		let mut gs2 = msg.splitn(3, ',');
		let (Some(flag), Some(authz), Some(bare)) = (gs2.next(), gs2.next(), gs2.next()) else {
			return Err(Malformed);
		};
		// Cannot panic: flag "," authz "," is a prefix of msg, ending after an ASCII ','.
		let gs2_header = &msg[..flag.len() + authz.len() + 2];
		let cb_data: &[u8] = match (flag, flag.strip_prefix("p=")) {
			("n", _) if !self.plus => &[],
			// "y": the client can bind but believes we cannot. If we did offer -PLUS,
			// someone stripped it from the mechanism list (RFC 5802 §6).
			("y", _) if !self.plus && !self.offered_plus => &[],
			("y", _) if !self.plus => return Err(ScramError::Downgrade),
			("n" | "y", _) => return Err(CbError),
			(_, Some(name)) if is_cb_name(name) => match &self.cb {
				Some(cb) if self.plus && cb.name == name => &cb.data,
				Some(_) if self.plus => return Err(ScramError::UnsupportedBinding),
				_ => return Err(CbError),
			},
			_ => return Err(Malformed),
		};
		let authzid = match authz {
			"" => None,
			a => Some(sasl_name(attr(Some(a), "a")?)?),
		};
		// A leading reserved "m=" extension fails at "n=", as it must (RFC 5802 §5.1).
		let mut attrs = bare.split(',');
		let username = sasl_name(attr(attrs.next(), "n")?)?;
		let client_nonce = attr(attrs.next(), "r")?;
		if !is_nonce(client_nonce) || !attrs.all(is_extension) {
			return Err(Malformed);
		}
		// XMPP clients send the authzid as a bare JID (RFC 6120 §6.3.8); SCRAM alone
		// cannot grant acting as anyone else.
		if let Some(a) = &authzid
			&& *a != username
			&& a.split_once('@').is_none_or(|(local, _)| local != username)
		{
			return Err(ScramError::InvalidAuthzid);
		}
		self.state = State::GotFirst(GotFirst {
			client_nonce: client_nonce.to_owned(),
			client_first_bare: bare.to_owned(),
			cbind_input: [gs2_header.as_bytes(), cb_data].concat(),
		});
		Ok(ClientFirst { username, authzid })
	}

	/// Step 2: `creds` is None for an unknown user; then fake credentials derived from
	/// `fake_secret` (which the caller makes specific to the prepared username) make
	/// the answer look real, and the exchange fails at the proof like a wrong
	/// password. `server_nonce_random`: at least 18 random bytes. Returns the
	/// server-first-message.
	pub fn server_first(
		&mut self,
		creds: Option<&ScramCredentials>,
		fake_secret: &[u8],
		fake_iterations: u32,
		server_nonce_random: &[u8],
	) -> Result<Vec<u8>, ScramError> {
		debug_assert!(server_nonce_random.len() >= 18, "server nonce too short");
		// Base64 is printable and has no ',', as a nonce must.
		let suffix = BASE64_STANDARD.encode(server_nonce_random);
		let creds = creds.ok_or((fake_secret, fake_iterations));
		self.server_first_with_suffix(creds, &suffix)
	}

	/// `server_first` with the server nonce part verbatim (the RFC test vectors need
	/// that); `Err` carries the fake secret and iterations for an unknown user.
	fn server_first_with_suffix(&mut self, creds: Result<&ScramCredentials, (&[u8], u32)>, suffix: &str) -> Result<Vec<u8>, ScramError> {
		let State::GotFirst(first) = self.take() else {
			return Err(OutOfOrder);
		};
		let known_user = creds.is_ok();
		let creds = match creds {
			Ok(c) => c.clone(),
			Err((secret, i)) => ScramCredentials::fake(self.hash, secret, i),
		};
		let nonce = format!("{}{suffix}", first.client_nonce);
		let salt = BASE64_STANDARD.encode(&creds.salt);
		let mut server_first = format!("r={nonce},s={salt},i={}", creds.iterations);
		if let Some(s) = &self.ssdp {
			// Signed with the rest by the client's proof: a MITM that
			// trimmed the offer is caught by the client (XEP-0474 §5.2).
			server_first.push_str(&format!(",h={}", BASE64_STANDARD.encode(self.hash.digest(s.as_bytes()))));
		}
		let auth_prefix = format!("{},{server_first}", first.client_first_bare);
		let cbind_input = first.cbind_input;
		let sent = SentFirst { nonce, auth_prefix, cbind_input, known_user, creds };
		self.state = State::SentFirst(sent);
		Ok(server_first.into_bytes())
	}

	/// Step 3: check client-final-message (channel binding, nonce, proof). On success
	/// returns the server-final-message (`v=...`) for `<success/>`.
	pub fn client_final(&mut self, msg: &[u8]) -> Result<Vec<u8>, ScramError> {
		let State::SentFirst(sent) = self.take() else {
			return Err(OutOfOrder);
		};
		let msg = std::str::from_utf8(msg).map_err(|_| Malformed)?;
		// The proof is always last and is not itself part of AuthMessage.
		let (without_proof, proof) = msg.rsplit_once(',').ok_or(Malformed)?;
		let proof = b64(attr(Some(proof), "p")?)?;
		let mut attrs = without_proof.split(',');
		let cbind = b64(attr(attrs.next(), "c")?)?;
		let client_nonce = attr(attrs.next(), "r")?;
		if !attrs.all(is_extension) || proof.len() != self.hash.output_len() {
			return Err(Malformed);
		}
		// Repeats the gs2 header too, so a flag changed in transit is caught here.
		if !ct_eq(&cbind, &sent.cbind_input) {
			return Err(CbError);
		}
		if client_nonce != sent.nonce {
			return Err(Malformed);
		}
		let (hash, creds) = (self.hash, &sent.creds);
		let auth_message = format!("{},{without_proof}", sent.auth_prefix);
		let signature = hash.hmac(&creds.stored_key, auth_message.as_bytes());
		let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
		// Compare first, then look at `known_user`: unknown users take the same path.
		let proof_ok = ct_eq(&hash.digest(&client_key), &creds.stored_key);
		if !(proof_ok && sent.known_user) {
			return Err(ScramError::NotAuthorized);
		}
		let server_signature = hash.hmac(&creds.server_key, auth_message.as_bytes());
		Ok(format!("v={}", BASE64_STANDARD.encode(server_signature)).into_bytes())
	}
}

impl ScramCredentials {
	/// Stand-in credentials for an unknown user, derived from `secret` alone.
	/// The caller makes `secret` specific to the *prepared* username, so a
	/// retry (or another spelling of the same name) sees the same salt, as for
	/// a real account.
	pub fn fake(hash: ScramHash, secret: &[u8], i: u32) -> ScramCredentials {
		let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
		// 32 bytes of HMAC-SHA256 cover every length asked for (16, 20, 32).
		let part = |label: &str, len: usize| {
			let tag = hmac::sign(&key, label.as_bytes());
			tag.as_ref().iter().take(len).copied().collect()
		};
		ScramCredentials {
			salt: part("salt", 16),
			iterations: i.max(1),
			stored_key: part("stored", hash.output_len()),
			server_key: part("server", hash.output_len()),
		}
	}
}

/// The value of attribute `key` if `a` is that attribute, else Malformed.
fn attr<'a>(a: Option<&'a str>, key: &str) -> Result<&'a str, ScramError> {
	a.and_then(|a| a.strip_prefix(key)?.strip_prefix('=')).ok_or(Malformed)
}

fn b64(s: &str) -> Result<Vec<u8>, ScramError> {
	BASE64_STANDARD.decode(s).map_err(|_| Malformed)
}

/// Decodes a saslname: "=2C" and "=3D" stand for ',' and '='; any other '=', a NUL
/// or an empty name is malformed (RFC 5802 §7).
fn sasl_name(s: &str) -> Result<String, ScramError> {
	let mut parts = s.split('=');
	let mut out = parts.next().unwrap_or_default().to_owned();
	for part in parts {
		let c = match part.get(..2) {
			Some("2C") => ',',
			Some("3D") => '=',
			_ => return Err(Malformed),
		};
		out.push(c);
		// Cannot panic: the two bytes before index 2 are ASCII, so it is a char boundary.
		out.push_str(&part[2..]);
	}
	if out.is_empty() || out.contains('\0') {
		return Err(Malformed);
	}
	Ok(out)
}

/// printable = %x21-2B / %x2D-7E: visible ASCII without ','.
fn is_nonce(s: &str) -> bool {
	!s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

/// cb-name = 1*(ALPHA / DIGIT / "." / "-") (RFC 5056 §7).
fn is_cb_name(s: &str) -> bool {
	!s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
}

/// attr-val = ALPHA "=" value; unknown optional extensions are ignored.
fn is_extension(s: &str) -> bool {
	matches!(s.as_bytes(), [k, b'=', ..] if k.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
	use super::ScramError::{InvalidAuthzid, NotAuthorized};
	use super::*;
	use ScramHash::{Sha1, Sha256};

	/// The example of XEP-0474 §5.3.
	#[test]
	fn ssdp_hash_of_the_xep_example() {
		let s = ssdp_input(&["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"], Some(&["tls-server-end-point", "tls-exporter"]));
		assert_eq!(s, "SCRAM-SHA-1\u{1e}SCRAM-SHA-1-PLUS\u{1f}tls-exporter\u{1e}tls-server-end-point");
		assert_eq!(BASE64_STANDARD.encode(Sha1.digest(s.as_bytes())), "G6k/rBLDqgOhRRaCuuatSDFkJ08=");
	}

	/// Plain gs2 header without channel binding, as (gs2-header, client's cb data).
	const N: (&str, &[u8]) = ("n,,", b"");

	fn creds(hash: ScramHash) -> ScramCredentials {
		ScramCredentials::derive(hash, "pencil", b"0123456789abcdef", 4096)
	}

	/// A server whose transport has tls-exporter data "exporter".
	fn server(hash: ScramHash, plus: bool, offered_plus: bool) -> ScramServer {
		let data = b"exporter".to_vec();
		ScramServer::new(hash, plus, offered_plus, Some(ChannelBinding { name: "tls-exporter", data }))
	}

	#[test]
	fn rfc_vectors() {
		#[rustfmt::skip]
        let vectors = [
            (Sha1, "QSXCR+Q6sek8bf92", "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j",
             "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
            (Sha256, "W22ZaJ0SNY7soEsUEjb6gQ==", "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
             "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
        ];
		for (hash, salt, cnonce, snonce, proof, server_final) in vectors {
			let creds = ScramCredentials::derive(hash, "pencil", &b64(salt).unwrap(), 4096);
			let mut s = ScramServer::new(hash, false, false, None);
			let first = s.client_first(format!("n,,n=user,r={cnonce}").as_bytes()).unwrap();
			assert_eq!((first.username.as_str(), first.authzid), ("user", None));
			let sf = s.server_first_with_suffix(Ok(&creds), snonce).unwrap();
			assert_eq!(sf, format!("r={cnonce}{snonce},s={salt},i=4096").into_bytes());
			let v = s.client_final(format!("c=biws,r={cnonce}{snonce},p={proof}").as_bytes());
			assert_eq!(v, Ok(server_final.as_bytes().to_vec()), "{hash:?}");
		}
	}

	/// A tiny SCRAM client: a full exchange as "user" with the given gs2 header and
	/// the client's view of the binding data; checks the server's signature.
	fn exchange(s: &mut ScramServer, (gs2, cb): (&str, &[u8]), password: &str, creds: Option<&ScramCredentials>) -> Result<(), ScramError> {
		let (hash, bare) = (s.hash, "n=user,r=cl13nt+n0nce");
		s.client_first(format!("{gs2}{bare}").as_bytes())?;
		let sf = String::from_utf8(s.server_first(creds, b"fake", 4096, &[7; 18])?).unwrap();
		let mut it = sf.split(',').map(|a| &a[2..]);
		let (nonce, salt, i) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
		assert!(nonce.starts_with("cl13nt+n0nce") && nonce.len() == 12 + 24);
		let salted = hash.salted_password(password, &b64(salt)?, i.parse().unwrap());
		let client_key = hash.hmac(&salted, b"Client Key");
		let cbind = BASE64_STANDARD.encode([gs2.as_bytes(), cb].concat());
		let without_proof = format!("c={cbind},r={nonce}");
		let auth = format!("{bare},{sf},{without_proof}");
		let sig = hash.hmac(&hash.digest(&client_key), auth.as_bytes());
		let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(k, s)| k ^ s).collect();
		let cf = format!("{without_proof},p={}", BASE64_STANDARD.encode(proof));
		let v = s.client_final(cf.as_bytes())?;
		let server_sig = hash.hmac(&hash.hmac(&salted, b"Server Key"), auth.as_bytes());
		assert_eq!(v, format!("v={}", BASE64_STANDARD.encode(server_sig)).as_bytes());
		Ok(())
	}

	#[test]
	fn full_exchanges() {
		for hash in [Sha1, Sha256] {
			let (mut s, creds) = (server(hash, false, false), creds(hash));
			assert_eq!(exchange(&mut s, N, "pencil", Some(&creds)), Ok(()));
			let again = s.client_first(b"n,,n=user,r=abc");
			assert_eq!(again, Err(OutOfOrder), "after success");
			let mut s = server(hash, false, false);
			let wrong = exchange(&mut s, N, "pencil2", Some(&creds));
			assert_eq!(wrong, Err(NotAuthorized));
		}
	}

	#[test]
	fn unknown_user_looks_real() {
		// The caller passes a secret specific to the prepared username.
		let server_first = |user: &str, secret: &[u8]| {
			let mut s = server(Sha1, false, false);
			let msg = format!("n,,n={user},r=abc");
			s.client_first(msg.as_bytes()).unwrap();
			String::from_utf8(s.server_first(None, secret, 12345, &[1; 18]).unwrap()).unwrap()
		};
		let ghost = server_first("ghost", b"secret-ghost");
		let salt = ghost.split(',').nth(1).and_then(|s| s.strip_prefix("s="));
		assert_eq!(b64(salt.unwrap()).map(|s| s.len()), Ok(16));
		assert!(ghost.ends_with(",i=12345"));
		assert_eq!(ghost, server_first("ghost", b"secret-ghost"), "same salt on retry");
		assert_ne!(ghost, server_first("ghost2", b"secret-ghost2"));
		let mut s = server(Sha256, false, false);
		assert_eq!(exchange(&mut s, N, "pencil", None), Err(NotAuthorized));
	}

	#[test]
	fn channel_binding_and_authzid() {
		let (p, ex) = ("p=tls-exporter,,", &b"exporter"[..]);
		for (plus, offered_plus, client, expected) in [
			(true, true, (p, ex), Ok(())),
			(true, true, (p, &b"mitm"[..]), Err(CbError)),
			(true, true, ("p=tls-unique,,", ex), Err(ScramError::UnsupportedBinding)),
			(true, true, N, Err(CbError)),
			(false, true, (p, ex), Err(CbError)),
			(false, true, N, Ok(())),
			(false, true, ("y,,", b""), Err(ScramError::Downgrade)),
			(false, false, ("y,,", b""), Ok(())),
			(true, true, ("p=tls-exporter,a=user,", ex), Ok(())),
			(false, false, ("n,a=user@example.org,", b""), Ok(())),
			(false, false, ("n,a=admin,", b""), Err(InvalidAuthzid)),
			(false, false, ("n,a=user2@x,", b""), Err(InvalidAuthzid)),
		] {
			let mut s = server(Sha256, plus, offered_plus);
			let result = exchange(&mut s, client, "pencil", Some(&creds(Sha256)));
			assert_eq!(result, expected, "{client:?} {plus} {offered_plus}");
		}
		let mut s = ScramServer::new(Sha1, true, true, None);
		let first = s.client_first(b"p=tls-exporter,,n=user,r=abc");
		assert_eq!(first, Err(CbError), "no cb data");
		// The gs2 flag changed between client-first ("y") and client-final ("biws" = "n,,").
		let last = "c=biws,r=abcxyz,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
		assert_eq!(final_result("y,,n=u,r=abc", last), Err(CbError));
		let mut s = server(Sha1, false, false);
		let first = s.client_first(b"n,a=a=3Db=2C@x,n=a=3Db=2C,r=abc").unwrap();
		let got = (first.username.as_str(), first.authzid.as_deref());
		assert_eq!(got, ("a=b,", Some("a=b,@x")));
	}

	#[test]
	fn malformed_client_first() {
		for msg in [
			&b""[..],
			b"n,,",
			b"n,,r=abc",
			b"n,,n=,r=abc",
			b"n,,n=a=2cb,r=abc",
			b"n,,n=a=,r=abc",
			b"n,,n=a\0b,r=abc",
			b"n,,n=\xff,r=abc",
			b"n,,n=user",
			b"n,,n=user,r=",
			b"n,,n=user,r=a b",
			b"n,,m=ext,n=user,r=abc",
			b"n,,n=user,r=abc,,",
			b"n,a=,n=user,r=abc",
			b"n,x=user,n=user,r=abc",
			b"x,,n=user,r=abc",
			b"p=,,n=user,r=abc",
		] {
			let err = server(Sha1, false, false).client_first(msg);
			assert_eq!(err, Err(Malformed), "{}", String::from_utf8_lossy(msg));
		}
	}

	/// SHA-1, no -PLUS, server nonce part "xyz": client-first `first`, then `last`.
	fn final_result(first: &str, last: &str) -> Result<Vec<u8>, ScramError> {
		let mut s = server(Sha1, false, false);
		s.client_first(first.as_bytes())?;
		s.server_first_with_suffix(Ok(&creds(Sha1)), "xyz")?;
		s.client_final(last.as_bytes())
	}

	#[test]
	fn malformed_client_final() {
		// Proofs of 20 zero bytes: well-formed, but wrong.
		for (last, expected) in [
			("", Malformed),
			("c=biws,r=abcxyz,p=!!!", Malformed),
			("c=bi!s,r=abcxyz,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", Malformed),
			("c=biws,r=abcxyz,p=AAAA", Malformed),
			("r=abcxyz,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", Malformed),
			("c=biws,r=abcxyz,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=,e=x", Malformed),
			("c=biws,r=abcxyZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", Malformed),
			("c=biws,r=abc,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", Malformed),
			("c=biws,r=abcxyz,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", NotAuthorized),
			("c=biws,r=abcxyz,e=ext,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", NotAuthorized),
		] {
			assert_eq!(final_result("n,,n=u,r=abc", last), Err(expected), "{last}");
		}
	}

	#[test]
	fn out_of_order() {
		let first = b"n,,n=user,r=abc";
		let mut s = server(Sha1, false, false);
		assert_eq!(s.client_final(b"c=biws,r=abc,p=AAAA"), Err(OutOfOrder));
		assert_eq!(s.client_first(first), Err(OutOfOrder), "after an error");
		let mut s = server(Sha1, false, false);
		assert_eq!(s.server_first(None, b"", 1, &[0; 18]), Err(OutOfOrder));
		let mut s = server(Sha1, false, false);
		assert!(s.client_first(first).is_ok());
		assert_eq!(s.client_first(first), Err(OutOfOrder));
		let mut s = server(Sha1, false, false);
		assert_eq!(s.client_first(b""), Err(Malformed));
		assert_eq!(s.client_first(first), Err(OutOfOrder), "after an error");
	}

	#[test]
	fn garbage_does_not_panic() {
		let first = b"p=tls-exporter,a=u=2Cx,n=u=2Cx,r=abc,e=1".to_vec();
		let cbind = BASE64_STANDARD.encode(b"p=tls-exporter,a=u=2Cx,exporter");
		let last = format!("c={cbind},r=abcxyz,e=2,p={}=", "A".repeat(27)).into_bytes();
		let mut inputs: Vec<_> = (0..=last.len()).map(|n| (first[..n.min(first.len())].to_vec(), last[..n].to_vec())).collect();
		let mut seed = 0x2545_f491_u32; // xorshift32: reproducible mutations
		for _ in 0..3000 {
			let (mut f, mut l) = (first.clone(), last.clone());
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			// Mutate one message so the other step is reached with valid input.
			let buf = if seed & 1 == 0 { &mut f } else { &mut l };
			let i = (seed >> 1) as usize % buf.len();
			buf[i] = b",=\0\xffa2CD"[(seed >> 24) as usize % 8];
			inputs.push((f, l));
		}
		let creds = creds(Sha1);
		for (f, l) in inputs {
			let mut s = server(Sha1, true, true);
			let _ = s.client_first(&f);
			let _ = s.server_first_with_suffix(Ok(&creds), "xyz");
			let _ = s.client_final(&l);
		}
	}

	#[test]
	fn verify_password() {
		let c = creds(Sha256);
		assert!(c.verify_password(Sha256, "pencil"));
		assert!(!c.verify_password(Sha256, "pencil "));
		assert!(!c.verify_password(Sha1, "pencil"));
	}
}
