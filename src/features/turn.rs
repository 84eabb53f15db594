//! STUN/TURN for calls: the `turn*` settings and TURN REST credentials
//! (draft-uberti-behave-turn-rest, what coturn's `use-auth-secret` checks):
//! username `<unix expiry>:<bare JID>`, password
//! base64(HMAC-SHA1(secret, username)). Sans-IO; `coturn` renders the box's
//! own TURN server's configuration, `extdisco` hands the credentials out.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

/// Which TURN server, if any, clients are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
	/// None: no STUN/TURN, XEP-0215 is not announced.
	Off,
	/// coturn on the box, run from the file Xerra writes (`turn_config`).
	Local,
	/// Another TURN server that shares `turn_secret`.
	External,
}

/// The `turn*` settings. `Debug` leaves the secret out (never in logs).
#[derive(Clone)]
pub struct TurnSettings {
	pub mode: Mode,
	/// Host name or IP clients are told; empty = the chat domain.
	pub host: String,
	pub port: u16,
	/// TURN over TLS; `None` = not offered.
	pub tls_port: Option<u16>,
	/// The shared secret; empty = none (generated at start for `Local`).
	pub secret: String,
	pub credential_ttl: Duration,
	pub relay_ports: (u16, u16),
	/// coturn's `external-ip` (`PUBLIC` or `PUBLIC/PRIVATE`); empty = none.
	pub external_ip: String,
	/// coturn's `listening-ip`s; empty = all addresses.
	pub listen: Vec<IpAddr>,
	/// Where coturn's configuration is written; `None` = `DATA_DIR/turnserver.conf`.
	pub config_file: Option<std::path::PathBuf>,
}

impl Default for TurnSettings {
	fn default() -> TurnSettings {
		TurnSettings {
			mode: Mode::Off,
			host: String::new(),
			port: 3478,
			tls_port: None,
			secret: String::new(),
			credential_ttl: Duration::from_secs(86_400),
			relay_ports: (49152, 65535),
			external_ip: String::new(),
			listen: Vec::new(),
			config_file: None,
		}
	}
}

impl std::fmt::Debug for TurnSettings {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("TurnSettings")
			.field("mode", &self.mode)
			.field("host", &self.host)
			.field("port", &self.port)
			.field("tls_port", &self.tls_port)
			.field("secret", &if self.secret.is_empty() { "(none)" } else { "(set)" })
			.field("credential_ttl", &self.credential_ttl)
			.field("relay_ports", &self.relay_ports)
			.field("external_ip", &self.external_ip)
			.field("listen", &self.listen)
			.field("config_file", &self.config_file)
			.finish()
	}
}

impl TurnSettings {
	/// The host clients connect to.
	pub fn host<'a>(&'a self, domain: &'a str) -> &'a str {
		if self.host.is_empty() { domain } else { &self.host }
	}

	/// Whether TURN (not only STUN) can be offered: there is a secret.
	pub fn has_turn(&self) -> bool {
		self.mode != Mode::Off && !self.secret.is_empty()
	}
}

pub fn parse_mode(v: &str) -> Result<Mode, String> {
	match v.trim() {
		"off" => Ok(Mode::Off),
		"local" => Ok(Mode::Local),
		"external" => Ok(Mode::External),
		_ => Err("off, local or external".into()),
	}
}

/// `MIN-MAX`, both unprivileged ports.
pub fn parse_range(v: &str) -> Result<(u16, u16), String> {
	let bad = || format!("{v:?} is not a port range like 49152-65535 (1024 <= MIN <= MAX <= 65535)");
	let (a, b) = v.trim().split_once('-').ok_or_else(bad)?;
	let (a, b): (u16, u16) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
	if a < 1024 || a > b {
		return Err(bad());
	}
	Ok((a, b))
}

/// `PUBLIC` or `PUBLIC/PRIVATE` IP addresses, as coturn's `external-ip`.
pub fn parse_external_ip(v: &str) -> Result<String, String> {
	let v = v.trim();
	if v.is_empty() {
		return Ok(String::new());
	}
	let (public, private) = match v.split_once('/') {
		Some((a, b)) => (a, Some(b)),
		None => (v, None),
	};
	let ok = |s: &str| s.parse::<IpAddr>().is_ok();
	if !ok(public) || private.is_some_and(|p| !ok(p)) {
		return Err(format!("{v:?} is not PUBLIC or PUBLIC/PRIVATE IP addresses"));
	}
	Ok(v.to_owned())
}

/// A secret as coturn's configuration can hold it: printable, no spaces.
pub fn parse_secret(v: &str) -> Result<String, String> {
	let v = v.trim();
	if v.bytes().any(|b| !b.is_ascii_graphic() || b == b'#') {
		return Err("printable ASCII without spaces or '#'".into());
	}
	if !v.is_empty() && v.len() < 16 {
		return Err("at least 16 characters (empty = generated)".into());
	}
	Ok(v.to_owned())
}

/// A fresh secret: 32 random bytes, hex.
pub fn new_secret() -> String {
	let rng = ring::rand::SystemRandom::new();
	let mut b = [0u8; 32];
	ring::rand::SecureRandom::fill(&rng, &mut b).expect("system random number generator failed");
	b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A TURN REST credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
	pub username: String,
	pub password: String,
	/// When coturn stops taking it.
	pub expires: SystemTime,
}

/// The credential for `account` (a bare JID) valid for `ttl` from `now`.
pub fn credential(secret: &str, account: &str, now: SystemTime, ttl: Duration) -> Credential {
	let expiry = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().saturating_add(ttl.as_secs());
	let username = format!("{expiry}:{account}");
	let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
	let tag = ring::hmac::sign(&key, username.as_bytes());
	let password = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
	Credential { username, password, expires: UNIX_EPOCH + Duration::from_secs(expiry) }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn rest_credentials_are_hmac_sha1_of_expiry_and_account() {
		// RFC 2202 test case 2 (key "Jefe"), to pin the algorithm and encoding.
		let now = UNIX_EPOCH + Duration::from_secs(0);
		let c = credential("Jefe", "x", now, Duration::from_secs(0));
		assert_eq!(c.username, "0:x");
		let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"Jefe");
		let expect = base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, b"0:x").as_ref());
		assert_eq!(c.password, expect);
		let rfc = ring::hmac::sign(&key, b"what do ya want for nothing?");
		assert_eq!(rfc.as_ref()[..4], [0xef, 0xfc, 0xdf, 0x6a]);
		let c =
			credential("s3cr3t-s3cr3t-s3cr3t", "alice@office.lan", UNIX_EPOCH + Duration::from_secs(1_000), Duration::from_secs(86_400));
		assert_eq!(c.username, "87400:alice@office.lan");
		assert_eq!(c.expires, UNIX_EPOCH + Duration::from_secs(87_400));
		assert_eq!(c.password.len(), 28, "20 bytes of SHA-1 in base64");
		assert_ne!(
			c.password,
			credential("another-secret-here", "alice@office.lan", UNIX_EPOCH + Duration::from_secs(1_000), Duration::from_secs(86_400))
				.password
		);
	}

	#[test]
	fn settings_parse() {
		assert_eq!(parse_mode("local"), Ok(Mode::Local));
		assert!(parse_mode("on").is_err());
		assert_eq!(parse_range("49152-65535"), Ok((49152, 65535)));
		assert_eq!(parse_range(" 50000 - 50099 "), Ok((50000, 50099)));
		for bad in ["80-90", "60000-50000", "1-", "x-y", "50000", "50000-70000"] {
			assert!(parse_range(bad).is_err(), "{bad}");
		}
		assert_eq!(parse_external_ip("203.0.113.5/192.168.1.2").unwrap(), "203.0.113.5/192.168.1.2");
		assert!(parse_external_ip("turn.example.org").is_err());
		assert!(parse_secret("short").is_err());
		assert!(parse_secret("with space in the middle").is_err());
		assert!(parse_secret("a-comment#starts-here-not").is_err());
		assert_eq!(parse_secret("").unwrap(), "");
		let s = new_secret();
		assert_eq!(s.len(), 64);
		assert!(parse_secret(&s).is_ok());
		assert_ne!(s, new_secret());
		let t = TurnSettings { secret: s.clone(), ..TurnSettings::default() };
		let shown = format!("{t:?}");
		assert!(!shown.contains(&s) && shown.contains("(set)"), "{shown}");
	}
}
