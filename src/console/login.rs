//! Logging in to the console: an admin account's address and password,
//! checked against its stored SCRAM-SHA-256 keys (the key derivation runs on
//! a thread of `blocking`'s pool, never on the executor), throttled exactly
//! as XMPP logins are (`net::guard`: per address, and per account and
//! address with a growing wait), so the console is no faster way to guess.

use std::time::Instant;

use super::html::{bare, e};
use super::{Form, csrf, now_secs};
use crate::http::{Request, Response};
use crate::proto::sasl::scram::{ScramCredentials, ScramHash};
use crate::server::Server;
use crate::xmpp::jid::{prep_localpart, prep_password};

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
	/// Wrong address or password (one answer for both: which accounts exist is not told).
	Wrong,
	/// The password is right, but the account has no admin role.
	NotAdmin,
	/// The account is locked.
	Locked,
	/// Too many failures from this address (for this account): wait.
	Throttled,
	/// Storage could not be read.
	Unavailable,
}

impl LoginError {
	fn status(&self) -> u16 {
		match self {
			LoginError::Throttled => 429,
			LoginError::Unavailable => 503,
			_ => 403,
		}
	}

	fn text(&self) -> &'static str {
		match self {
			LoginError::Wrong => "Wrong address or password.",
			LoginError::NotAdmin => "This account is not an admin of this box. Ask an admin to give it the admin role.",
			LoginError::Locked => "This account is locked.",
			LoginError::Throttled => "Too many failed logins from here. Wait a while, then try again.",
			LoginError::Unavailable => "The box cannot read its database just now. Try again in a moment.",
		}
	}
}

/// The login page, with `error` when the last try failed.
pub fn form(server: &Server, error: Option<&LoginError>, jid: &str) -> Response {
	let token = csrf::sign(&server.console.borrow().key, "/console/login", now_secs() + csrf::FORM_SECS);
	let err = error.map(|x| super::html::notice("error", x.text())).unwrap_or_default();
	let body = format!(
		"<p>The admin console of <b>{d}</b>. Log in with an admin account.</p>{err}\
		 <form class=\"card\" id=\"login\" method=\"post\" action=\"/console/login\">{}\
		 <label for=\"jid\">Address</label><input id=\"jid\" name=\"jid\" value=\"{}\" placeholder=\"admin@{d}\" autocomplete=\"username\" autocapitalize=\"none\" required>\
		 <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
		 <div><button id=\"submit\">Log in</button></div></form>",
		super::html::hidden_csrf(&token),
		e(jid),
		d = e(&server.config.domain),
	);
	bare(error.map_or(200, LoginError::status), "Log in", &body)
}

/// Handles the login form: a new session and its cookie, or the form again.
pub async fn submit(server: &Server, req: &Request, form: &Form) -> Response {
	let jid = form.get("jid").unwrap_or("").trim().to_owned();
	match check(server, req.peer.ip(), &jid, form.get("password").unwrap_or("")).await {
		Ok(user) => {
			log::info!("console: {user} logged in from {}", req.peer.ip());
			let (id, token) = (server_random(server), server_random(server));
			let l = &server.config.limits;
			server.console.borrow_mut().sessions.open(id.clone(), &user, token, Instant::now(), l.console_max_sessions);
			let mut r = Response::redirect("/console/");
			r.headers.push(("Set-Cookie", super::session::set_cookie(&id, l.console_session_timeout)));
			r
		}
		Err(err) => {
			log::info!("console: login failed from {}: {err:?}", req.peer.ip());
			form_again(server, &err, &jid)
		}
	}
}

fn form_again(server: &Server, err: &LoginError, jid: &str) -> Response {
	form(server, Some(err), jid)
}

/// 32 random bytes as hex.
fn server_random(server: &Server) -> String {
	let mut b = [0u8; 32];
	server.random(&mut b);
	csrf::hex(&b)
}

/// Checks an admin's address (`name@domain`, or the name alone) and
/// password; the account's localpart.
pub async fn check(server: &Server, ip: std::net::IpAddr, jid: &str, password: &str) -> Result<String, LoginError> {
	let domain = &server.config.domain;
	let local = match jid.rsplit_once('@') {
		Some((local, d)) if d.eq_ignore_ascii_case(domain) => local,
		Some(_) => return Err(LoginError::Wrong),
		None => jid,
	};
	let Ok(user) = prep_localpart(local) else { return Err(LoginError::Wrong) };
	let limits = &server.config.limits;
	if !server.guard.borrow_mut().login_allowed(ip, Some(&user), Instant::now(), limits) {
		return Err(LoginError::Throttled);
	}
	let snap = server.store.snapshot().map_err(|_| LoginError::Unavailable)?;
	let account = snap.account(&user).map_err(|_| LoginError::Unavailable)?;
	// Unknown users cost the same derivation as known ones (as SASL PLAIN).
	let (creds, known) = match account {
		Some(a) => (a.sha256, true),
		None => {
			let secret = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, server.fake_secret()), user.as_bytes());
			(ScramCredentials::fake(ScramHash::Sha256, secret.as_ref(), server.config.scram_iterations), false)
		}
	};
	let right = match prep_password(password) {
		Some(pw) => blocking::unblock(move || creds.verify_password(ScramHash::Sha256, &pw)).await && known,
		None => false,
	};
	if !right {
		server.guard.borrow_mut().login_failed(ip, Some(&user), Instant::now(), limits);
		return Err(LoginError::Wrong);
	}
	if snap.is_locked(&user).map_err(|_| LoginError::Unavailable)? {
		return Err(LoginError::Locked);
	}
	if !snap.is_admin(&user).map_err(|_| LoginError::Unavailable)? {
		return Err(LoginError::NotAdmin);
	}
	Ok(user)
}
