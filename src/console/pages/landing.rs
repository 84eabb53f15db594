//! The pages people open without a login: a password reset
//! (`/reset/TOKEN`) and an invitation's landing page (`/invite/TOKEN`).
//! What they may do is what the token allows, checked by the admin engine;
//! their forms carry a token signed for that page.

use super::super::html::{self, e};
use super::super::{Form, csrf, now_secs};
use super::status_of;
use crate::admin::Engine;
use crate::http::{Request, Response};
use crate::server::Server;

pub async fn route(server: &Server, req: &Request, form: &Form) -> Response {
	let post = req.method == "POST";
	if post && !csrf::verify(&server.console.borrow().key, &req.path, form.get("csrf").unwrap_or(""), now_secs()) {
		return super::super::forbidden("This form was too old or not ours: open the link again.");
	}
	let done = if post { None } else { result_of(server, req) };
	if let Some(token) = req.path.strip_prefix("/reset/") {
		if let Some(facts) = done {
			return reset_done(&facts);
		}
		return reset(server, req, form, token, post).await;
	}
	if let Some(token) = req.path.strip_prefix("/invite/") {
		if let Some(facts) = done {
			return invite_done(server, &facts).await;
		}
		return invite(server, req, form, token, post).await;
	}
	not_valid("This link is not valid.")
}

fn not_valid(why: &str) -> Response {
	html::bare(404, "Link not valid", &format!("{}<p>Ask your admin for a new one.</p>", html::notice("error", why)))
}

fn signed(server: &Server, path: &str) -> String {
	html::hidden_csrf(&csrf::sign(&server.console.borrow().key, path, now_secs() + csrf::FORM_SECS))
}

/// A form's answer: a redirect (303) to the same page with what it did
/// (`facts`, never a password) in the query, signed, so a reload shows the
/// result and does not send the form again; there is no session to keep it in.
fn redirect_to_result(server: &Server, path: &str, facts: &[(&str, &str)]) -> Response {
	let mut q = form_urlencoded::Serializer::new(String::new());
	for (k, v) in facts {
		q.append_pair(k, v);
	}
	let facts = q.finish();
	let sig = csrf::sign(&server.console.borrow().key, &format!("{path}?{facts}"), now_secs() + csrf::FORM_SECS);
	Response::redirect(&format!("{path}?{facts}&done={sig}"))
}

/// The facts of a result page made by `redirect_to_result`, if its signature holds.
fn result_of(server: &Server, req: &Request) -> Option<Form> {
	let (facts, sig) = req.query.rsplit_once("&done=")?;
	if !csrf::verify(&server.console.borrow().key, &format!("{}?{facts}", req.path), sig, now_secs()) {
		return None;
	}
	Some(Form::parse(facts.as_bytes()))
}

fn reset_done(facts: &Form) -> Response {
	let body = format!(
		"<div class=\"card ok\" id=\"done\">The password of <b>{}</b> is changed. Log in with it in your chat app.</div>",
		e(facts.get("jid").unwrap_or(""))
	);
	html::bare(200, "Password changed", &body)
}

async fn invite_done(server: &Server, facts: &Form) -> Response {
	let body = format!(
		"<div class=\"card ok\" id=\"done\">Welcome! Your chat address is <b id=\"jid\">{j}</b>.</div>\
		 <p>In your chat app, add an account with this address and the password you chose.{}</p>{}{}",
		facts.get("group").map(|g| format!(" Your colleagues in {} are already your contacts.", e(g))).unwrap_or_default(),
		web_client_note(server),
		trust_note(server).await,
		j = e(facts.get("jid").unwrap_or(""))
	);
	html::bare(200, "Account made", &body)
}

/// `/reset/TOKEN`: a new password for the account the link is for.
async fn reset(server: &Server, req: &Request, form: &Form, token: &str, post: bool) -> Response {
	let engine = Engine::running(server);
	let jid = match engine.reset_token_check(token) {
		Ok(jid) => jid,
		Err(err) => return not_valid(&err.to_string()),
	};
	let mut error = String::new();
	let mut status = 200;
	if post {
		match password_pair(form) {
			Err(why) => {
				status = 400;
				error = html::notice("error", &why);
			}
			Ok(pw) => match engine.reset_token_redeem(token, pw).await {
				Ok(jid) => return redirect_to_result(server, &req.path, &[("jid", &jid)]),
				Err(err) => {
					status = status_of(&err);
					error = html::notice("error", &err.to_string());
				}
			},
		}
	}
	let body = format!(
		"<p>Choose a new password for <b id=\"jid\">{jid}</b>. This link works once.</p>{error}\
		 <form class=\"card\" id=\"reset\" method=\"post\" action=\"{path}\">{}\
		 <label for=\"password\">New password</label><small>At least {min} characters.</small>\
		 <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"{min}\" required>\
		 <label for=\"password2\">The same again</label>\
		 <input id=\"password2\" name=\"password2\" type=\"password\" autocomplete=\"new-password\" minlength=\"{min}\" required>\
		 <div><button id=\"submit\">Set the password</button></div></form>",
		signed(server, &req.path),
		jid = e(&jid),
		path = e(&req.path),
		min = crate::setup::MIN_PASSWORD_CHARS,
	);
	html::bare(status, "New password", &body)
}

/// The web client on this port, for someone without an app (when it is on).
fn web_client_note(server: &Server) -> String {
	if server.config.web_client_dir.is_none() {
		return String::new();
	}
	"<p><small>No app? Once you have a name and password, <a id=\"web-client\" href=\"/chat/\">chat in this browser</a>.</small></p>"
		.to_owned()
}

/// Which app to install, by what the browser says it runs on.
fn apps_for(user_agent: &str) -> (&'static str, &'static str) {
	let ua = user_agent.to_ascii_lowercase();
	if ua.contains("android") {
		("android", "<b>Conversations</b> (from F-Droid or Google Play), or <b>Monocles</b>")
	} else if ua.contains("iphone") || ua.contains("ipad") {
		("ios", "<b>Monal</b> (from the App Store), or <b>Siskin</b>")
	} else if ua.contains("mac os") {
		("mac", "<b>Monal</b> (from the Mac App Store), or <b>Gajim</b>")
	} else if ua.contains("windows") {
		("windows", "<b>Gajim</b> (from gajim.org)")
	} else {
		("linux", "<b>Gajim</b> or <b>Dino</b> (from your distribution's packages)")
	}
}

/// Checks a new account's password pair; the reason it is refused.
fn password_pair(form: &Form) -> Result<&str, String> {
	let (pw, pw2) = (form.get("password").unwrap_or(""), form.get("password2").unwrap_or(""));
	if pw != pw2 {
		Err("The two passwords differ.".to_owned())
	} else if pw.chars().count() < crate::setup::MIN_PASSWORD_CHARS {
		Err(format!("The password needs at least {} characters.", crate::setup::MIN_PASSWORD_CHARS))
	} else {
		Ok(pw)
	}
}

/// The SHA-256 fingerprint of the box's own CA (apps show it when they ask
/// whether to trust the box), or `None` with the admin's own certificate.
async fn ca_fingerprint(server: &Server) -> Option<String> {
	if server.config.tls_cert.is_some() {
		return None;
	}
	let path = crate::net::ca::Ca::cert_path(&server.config.data_dir.join("tls"));
	// A file read: off the executor.
	let pem = blocking::unblock(move || std::fs::read_to_string(path)).await.ok()?;
	crate::net::ca::pem_to_der(&pem).map(|der| crate::net::ca::fingerprint(&der))
}

/// What to say about the box's certificate to someone setting up an app.
async fn trust_note(server: &Server) -> String {
	match ca_fingerprint(server).await {
		Some(fp) => format!(
			"<p><small>Your app may ask whether to trust this box's certificate: it is the office's own. \
			 Accept it if the app shows this fingerprint (SHA-256): <code id=\"ca-fingerprint\">{}</code></small></p>",
			e(&fp)
		),
		None => String::new(),
	}
}

/// `/invite/TOKEN`: what a newcomer installs and how they join, or a web
/// form to pick a name and password for apps that cannot register.
async fn invite(server: &Server, req: &Request, form: &Form, token: &str, post: bool) -> Response {
	let engine = Engine::running(server);
	let row = match engine.invite_check(token) {
		Ok(row) => row,
		Err(err) => return not_valid(&err.to_string()),
	};
	let domain = &server.config.domain;
	let (mut error, mut status) = (String::new(), 200);
	let name = form.get("name").unwrap_or("").trim();
	if post {
		match password_pair(form) {
			Err(why) => (status, error) = (400, html::notice("error", &why)),
			Ok(pw) => match engine.invite_redeem(token, name, pw).await {
				Ok(jid) => {
					let group = row.group.as_deref().map(|g| ("group", g));
					let facts: Vec<(&str, &str)> = [("jid", jid.as_str())].into_iter().chain(group).collect();
					return redirect_to_result(server, &req.path, &facts);
				}
				Err(err) => (status, error) = (status_of(&err), html::notice("error", &err.to_string())),
			},
		}
	}
	let (device, apps) = apps_for(req.header("user-agent").unwrap_or(""));
	let dept = row.group.as_deref().map(|g| format!(" in <b>{}</b>", e(g))).unwrap_or_default();
	let body = format!(
		"<p>You are invited to chat at <b>{d}</b>{dept}.</p>{error}\
		 <div class=\"card\" id=\"app\" data-device=\"{device}\"><h2>1. Install a chat app</h2><p>On this device: {apps}.</p>\
		 <p><small>Any XMPP app works: Conversations (Android), Monal (iPhone, Mac), Gajim (Windows, Linux), Dino (Linux).</small></p></div>\
		 <div class=\"card\"><h2>2. Open the invitation in it</h2><p><a class=\"btn\" id=\"open-app\" href=\"{uri}\">Open in my chat app</a></p>\
		 <p><small>On a computer? Scan this with the app on your phone:</small></p><div class=\"qr\">{qr}</div>{trust}</div>\
		 <form class=\"card\" id=\"register\" method=\"post\" action=\"{path}\">{csrf}\
		 <h2>Or pick your name and password here</h2><p><small>For apps that cannot use the invitation. Then log in with them in the app.</small></p>{web}\
		 <label for=\"name\">User name</label><input id=\"name\" name=\"name\" value=\"{name}\" autocapitalize=\"none\" required placeholder=\"anna.berg\">\
		 <small>Your address will be <i>name</i>@{d}.</small>\
		 <label for=\"password\">Password</label><small>At least {min} characters.</small>\
		 <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"{min}\" required>\
		 <label for=\"password2\">The same again</label>\
		 <input id=\"password2\" name=\"password2\" type=\"password\" autocomplete=\"new-password\" minlength=\"{min}\" required>\
		 <div><button id=\"submit\">Make my account</button></div></form>",
		d = e(domain),
		uri = e(&row.uri),
		qr = crate::console::qr::svg(&row.uri).unwrap_or_default(),
		path = e(&req.path),
		csrf = signed(server, &req.path),
		trust = trust_note(server).await,
		name = e(name),
		min = crate::setup::MIN_PASSWORD_CHARS,
		web = web_client_note(server),
	);
	html::bare(status, "Join the chat", &body)
}
