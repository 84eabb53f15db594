//! Console logins, kept on the server (the browser holds only a random id):
//! at most `console_max_sessions` at once (one more logs out the one unused
//! the longest), each ending after `console_session_timeout` unused. Plain
//! bookkeeping with the clock passed in.

use std::time::{Duration, Instant};

/// The cookie that carries a session id.
pub const COOKIE: &str = "xerra_console";

/// One login: an admin's, or a person's own (only "My account").
#[derive(Debug, Clone)]
pub struct Session {
	/// The account's localpart.
	pub user: String,
	/// Whether it logged in as an admin (the admin pages are for those only).
	pub admin: bool,
	/// Sent back with every form of this session (see `csrf`).
	pub csrf: String,
	last_used: Instant,
	/// What the last form did (status, notice), shown once by the page the
	/// form's answer redirects to (so reloading it sends nothing again).
	flash: Option<(u16, String)>,
}

#[derive(Default)]
pub struct Sessions {
	/// Few (a handful of admins): a list is enough.
	by_id: Vec<(String, Session)>,
}

impl Sessions {
	/// A new login for `user` under `id`, with `csrf` as its form token. When
	/// `max` are open, the one unused the longest goes.
	pub fn open(&mut self, id: String, user: &str, admin: bool, csrf: String, now: Instant, max: usize) {
		while self.by_id.len() >= max.max(1) {
			let Some(oldest) = self.by_id.iter().enumerate().min_by_key(|(_, (_, s))| s.last_used).map(|(i, _)| i) else { break };
			self.by_id.swap_remove(oldest);
		}
		self.by_id.push((id, Session { user: user.to_owned(), admin, csrf, last_used: now, flash: None }));
	}

	/// The session with `id` if it is still good at `now` (and marks it used);
	/// an expired one is dropped.
	pub fn touch(&mut self, id: &str, now: Instant, timeout: Duration) -> Option<Session> {
		let i = self.by_id.iter().position(|(k, _)| crate::proto::sasl::scram::ct_eq(k.as_bytes(), id.as_bytes()))?;
		if now.duration_since(self.by_id[i].1.last_used) >= timeout {
			self.by_id.swap_remove(i);
			return None;
		}
		self.by_id[i].1.last_used = now;
		Some(self.by_id[i].1.clone())
	}

	/// Keeps what a form did for the next page of session `id`.
	pub fn set_flash(&mut self, id: &str, status: u16, notice: String) {
		if let Some((_, s)) = self.by_id.iter_mut().find(|(k, _)| k == id) {
			s.flash = Some((status, notice));
		}
	}

	/// What the last form of session `id` did, once.
	pub fn take_flash(&mut self, id: &str) -> Option<(u16, String)> {
		self.by_id.iter_mut().find(|(k, _)| k == id).and_then(|(_, s)| s.flash.take())
	}

	/// Logs out `id`.
	pub fn close(&mut self, id: &str) {
		self.by_id.retain(|(k, _)| k != id);
	}

	/// Logs out every session of `user` (deleted, locked, no longer an admin).
	pub fn close_user(&mut self, user: &str) {
		self.by_id.retain(|(_, s)| s.user != user);
	}

	pub fn len(&self) -> usize {
		self.by_id.len()
	}

	pub fn is_empty(&self) -> bool {
		self.by_id.is_empty()
	}
}

/// The session id in a `Cookie` header, if any.
pub fn id_from_cookies(header: &str) -> Option<&str> {
	header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == COOKIE).map(|(_, v)| v).filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value for a session: not readable by scripts, sent only
/// over TLS, only with requests from our own pages, to the console only.
pub fn set_cookie(id: &str, max_age: Duration) -> String {
	format!("{COOKIE}={id}; Path=/console; Max-Age={}; HttpOnly; Secure; SameSite=Strict", max_age.as_secs())
}

/// The `Set-Cookie` value that removes it (logout).
pub fn clear_cookie() -> String {
	format!("{COOKIE}=; Path=/console; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sessions_expire_unused_and_the_oldest_goes_when_full() {
		let t = Instant::now();
		let s = Duration::from_secs(1);
		let mut table = Sessions::default();
		table.open("a".into(), "anna", true, "ca".into(), t, 2);
		table.open("b".into(), "boss", true, "cb".into(), t + s, 2);
		// Using "a" makes "b" the one unused the longest.
		assert_eq!(table.touch("a", t + 2 * s, 60 * s).map(|x| x.user), Some("anna".into()));
		table.open("c".into(), "carl", true, "cc".into(), t + 3 * s, 2);
		assert_eq!(table.len(), 2);
		assert!(table.touch("b", t + 3 * s, 60 * s).is_none(), "evicted");
		assert!(table.touch("a", t + 3 * s, 60 * s).is_some());
		// Unused for the timeout: gone.
		assert!(table.touch("c", t + 63 * s, 60 * s).is_none());
		assert!(table.touch("c", t + 4 * s, 60 * s).is_none(), "and stays gone");
		table.set_flash("a", 409, "exists".into());
		assert_eq!(table.take_flash("a"), Some((409, "exists".into())));
		assert_eq!(table.take_flash("a"), None, "once");
		table.close_user("anna");
		assert!(table.is_empty());
	}

	#[test]
	fn cookies() {
		assert_eq!(id_from_cookies("x=1; xerra_console=abc; y=2"), Some("abc"));
		assert_eq!(id_from_cookies("xerra_console="), None);
		assert_eq!(id_from_cookies("other=xerra_console"), None);
		let c = set_cookie("abc", Duration::from_secs(3600));
		for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console", "Max-Age=3600"] {
			assert!(c.contains(flag), "{c}");
		}
	}
}
