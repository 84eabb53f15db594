//! Tokens that every form of ours carries back (a `csrf` field): a request
//! made by another site cannot know them, so a form without the right one
//! is refused with 403. Logged-in forms carry their session's random token;
//! the forms seen before a login (the login itself, invitation and reset
//! pages) carry a token signed by the server with its expiry, bound to the
//! page that showed the form.

use ring::hmac;

use crate::proto::sasl::scram::ct_eq;

/// How long a form shown before login may wait before it is sent.
pub const FORM_SECS: u64 = 2 * 3600;

/// A token for the form on `page` (its path), good until `expires` (Unix seconds).
pub fn sign(key: &hmac::Key, page: &str, expires: u64) -> String {
	let tag = hmac::sign(key, &message(page, expires));
	format!("{expires}.{}", hex(&tag.as_ref()[..16]))
}

/// Whether `token` was made by `sign` for `page` and is still good at `now`.
pub fn verify(key: &hmac::Key, page: &str, token: &str, now: u64) -> bool {
	let Some((expires, _)) = token.split_once('.') else { return false };
	let Ok(expires) = expires.parse::<u64>() else { return false };
	expires > now && ct_eq(sign(key, page, expires).as_bytes(), token.as_bytes())
}

/// Whether a logged-in form's token is its session's.
pub fn matches(session_token: &str, sent: Option<&str>) -> bool {
	sent.is_some_and(|t| ct_eq(session_token.as_bytes(), t.as_bytes()))
}

fn message(page: &str, expires: u64) -> Vec<u8> {
	let mut m = page.as_bytes().to_vec();
	m.push(0);
	m.extend_from_slice(&expires.to_be_bytes());
	m
}

pub fn hex(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn signed_tokens_are_bound_to_their_page_and_expire() {
		let key = hmac::Key::new(hmac::HMAC_SHA256, b"secret");
		let t = sign(&key, "/console/login", 1000);
		assert!(verify(&key, "/console/login", &t, 999));
		assert!(!verify(&key, "/console/login", &t, 1000), "expired");
		assert!(!verify(&key, "/invite/x", &t, 999), "another page");
		assert!(!verify(&key, "/console/login", &t.replace("1000.", "2000."), 999), "expiry changed");
		assert!(!verify(&hmac::Key::new(hmac::HMAC_SHA256, b"other"), "/console/login", &t, 999));
		assert!(!verify(&key, "/console/login", "", 0));
		assert!(matches("abc", Some("abc")));
		assert!(!matches("abc", Some("abd")));
		assert!(!matches("abc", None));
	}
}
