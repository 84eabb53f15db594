//! Logging in to the console: an account's address and password, checked
//! by the admin engine (`account_login`: the stored SCRAM-SHA-256 keys,
//! derived off the executor; one answer for an unknown account and a wrong
//! password). Admins get the console; anyone else only "My account" (their
//! own data to download). Throttled exactly as XMPP logins are
//! (`net::guard`: per address, and per account and address with a growing
//! wait), so the console is no faster way to guess.

use std::time::Instant;

use super::html::{bare, e};
use super::{Form, csrf, now_secs};
use crate::admin::{AdminError, Engine};
use crate::http::{Request, Response};
use crate::server::Server;
use crate::xmpp::jid::prep_localpart;

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
	/// Refused by the engine: the text says why, as it tells everyone
	/// (wrong address or password, or not an admin; a locked account).
	Refused(String),
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
			LoginError::Refused(_) => 403,
		}
	}

	fn text(&self) -> String {
		match self {
			LoginError::Refused(why) => {
				let mut chars = why.chars();
				chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>() + ".").unwrap_or_default()
			}
			LoginError::Throttled => "Too many failed logins from here. Wait a while, then try again.".into(),
			LoginError::Unavailable => "The box cannot read its database just now. Try again in a moment.".into(),
		}
	}
}

/// The login page, with `error` when the last try failed.
pub fn form(server: &Server, error: Option<&LoginError>, jid: &str) -> Response {
	let token = csrf::sign(&server.console.borrow().key, "/console/login", now_secs() + csrf::FORM_SECS);
	let err = error.map(|x| super::html::notice("error", &x.text())).unwrap_or_default();
	let body = format!(
		"<p>The console of <b>{d}</b>. Log in with your account: admins manage the box, everyone downloads their own data.</p>{err}\
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
		Ok((user, admin)) => {
			log::info!("console: {user} logged in from {}{}", req.peer.ip(), if admin { " (admin)" } else { "" });
			let (id, token) = (server_random(server), server_random(server));
			let l = &server.config.limits;
			server.console.borrow_mut().sessions.open(id.clone(), &user, admin, token, Instant::now(), l.console_max_sessions);
			let mut r = Response::redirect(if admin { "/console/" } else { "/console/me" });
			r.headers.push(("Set-Cookie", super::session::set_cookie(&id, l.console_session_timeout)));
			r
		}
		Err(err) => {
			log::info!("console: login failed from {}: {err:?}", req.peer.ip());
			self::form(server, Some(&err), &jid)
		}
	}
}

/// 32 random bytes as hex.
fn server_random(server: &Server) -> String {
	let mut b = [0u8; 32];
	server.random(&mut b);
	csrf::hex(&b)
}

/// Checks an account's address (`name@domain`, or the name alone) and
/// password with the engine, under the login throttle; the account's
/// localpart and whether it is an admin.
pub async fn check(server: &Server, ip: std::net::IpAddr, jid: &str, password: &str) -> Result<(String, bool), LoginError> {
	let local = jid.trim().rsplit_once('@').map_or(jid.trim(), |(l, _)| l);
	// The throttle's key: the name as an XMPP login would name it.
	let key = prep_localpart(local).unwrap_or_else(|_| local.to_owned());
	let limits = &server.config.limits;
	if !server.guard.borrow_mut().login_allowed(ip, Some(&key), Instant::now(), limits) {
		return Err(LoginError::Throttled);
	}
	match Engine::running(server).account_login(jid, password).await {
		Ok(found) => Ok(found),
		Err(AdminError::Forbidden(why)) => {
			server.guard.borrow_mut().login_failed(ip, Some(&key), Instant::now(), limits);
			Err(LoginError::Refused(why))
		}
		Err(_) => Err(LoginError::Unavailable),
	}
}
