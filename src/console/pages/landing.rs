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
	if let Some(token) = req.path.strip_prefix("/reset/") {
		return reset(server, req, form, token, post).await;
	}
	not_valid("This link is not valid.")
}

fn not_valid(why: &str) -> Response {
	html::bare(404, "Link not valid", &format!("{}<p>Ask your admin for a new one.</p>", html::notice("error", why)))
}

fn signed(server: &Server, path: &str) -> String {
	html::hidden_csrf(&csrf::sign(&server.console.borrow().key, path, now_secs() + csrf::FORM_SECS))
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
		let (pw, pw2) = (form.get("password").unwrap_or(""), form.get("password2").unwrap_or(""));
		let checked = if pw != pw2 {
			Err("The two passwords differ.".to_owned())
		} else if pw.chars().count() < crate::setup::MIN_PASSWORD_CHARS {
			Err(format!("The password needs at least {} characters.", crate::setup::MIN_PASSWORD_CHARS))
		} else {
			Ok(())
		};
		match checked {
			Err(why) => {
				status = 400;
				error = html::notice("error", &why);
			}
			Ok(()) => match engine.reset_token_redeem(token, pw).await {
				Ok(jid) => {
					let body = format!(
						"<div class=\"card ok\" id=\"done\">The password of <b>{}</b> is changed. Log in with it in your chat app.</div>",
						e(&jid)
					);
					return html::bare(200, "Password changed", &body);
				}
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
