//! The console's pages, one file each. Every action goes through the admin
//! engine (`crate::admin`) as the logged-in admin, so the console can do
//! exactly what `xerra` and XEP-0133 can, with the same checks and errors.
//! An action's answer is the page again with a notice saying what happened.

pub mod backups;
pub mod broadcast;
pub mod departments;
pub mod invitations;
pub mod landing;
pub mod me;
pub mod overview;
pub mod people;
pub mod rooms;
pub mod settings;
pub mod statistics;

use super::Form;
use super::html;
use super::session::Session;
use crate::admin::{Actor, AdminError, Command, Engine, Reply};
use crate::http::{Request, Response};
use crate::server::Server;

/// A logged-in admin's request: the page for it.
pub async fn route(server: &Server, id: &str, session: &Session, req: &Request, form: &Form) -> Response {
	let post = req.method == "POST";
	let page = req.path.strip_prefix("/console/").unwrap_or("");
	let cx = Cx { server, id, session, req, form };
	match (page, post) {
		("", false) => overview::page(&cx).await,
		("people", false) => people::page(&cx, cx.flash()).await,
		("people/delete", false) => people::confirm_delete(&cx),
		(p, true) if p.starts_with("people/") => people::action(&cx, &p[7..]).await,
		("departments", false) => departments::page(&cx, cx.flash()).await,
		(p, true) if p.starts_with("departments/") => departments::action(&cx, &p[12..]).await,
		("invitations", false) => invitations::page(&cx, cx.flash()).await,
		(p, true) if p.starts_with("invitations/") => invitations::action(&cx, &p[12..]).await,
		("broadcast", false) => broadcast::page(&cx, cx.flash()).await,
		("broadcast", true) => broadcast::action(&cx).await,
		("rooms", false) => rooms::page(&cx, cx.flash()).await,
		("rooms/destroy", false) => rooms::confirm_destroy(&cx),
		(p, true) if p.starts_with("rooms/") => rooms::action(&cx, &p[6..]).await,
		("settings", false) => settings::page(&cx, cx.flash()).await,
		("settings", true) => settings::action(&cx).await,
		("statistics", false) => statistics::page(&cx),
		("me" | "me/export" | "me/devices", _) => me::route(server, session, req, form).await,
		("backups", false) => backups::page(&cx, cx.flash()).await,
		("backups/kit", false) => backups::show_kit(&cx),
		(p, true) if p.starts_with("backups/") => backups::action(&cx, &p[8..]).await,
		_ => not_found(session),
	}
}

/// What a page handler gets.
pub struct Cx<'a> {
	pub server: &'a Server,
	/// The session's id.
	pub id: &'a str,
	pub session: &'a Session,
	pub req: &'a Request,
	pub form: &'a Form,
}

impl Cx<'_> {
	/// Runs an admin command as this session's admin.
	pub async fn run(&self, cmd: Command) -> Result<Reply, AdminError> {
		Engine::running(self.server).run(&Actor::Admin(self.session.user.clone()), cmd).await
	}

	/// A form's answer: what it did is kept for the page at `to`, and the
	/// browser is sent there (POST, redirect, GET: a reload sends nothing again).
	pub fn done(&self, outcome: Outcome, to: &str) -> Response {
		self.server.console.borrow_mut().sessions.set_flash(self.id, outcome.status, outcome.notice);
		Response::redirect(to)
	}

	/// What the last form did, once.
	pub fn flash(&self) -> Option<Outcome> {
		self.server.console.borrow_mut().sessions.take_flash(self.id).map(|(status, notice)| Outcome { status, notice })
	}

	/// A form field, trimmed ("" when absent).
	pub fn field(&self, name: &str) -> &str {
		self.form.get(name).unwrap_or("").trim()
	}

	pub fn page(&self, status: u16, title: &str, here: &str, body: &str) -> Response {
		html::page(status, title, here, &self.session.csrf, body)
	}

	pub fn domain(&self) -> &str {
		&self.server.config.domain
	}

	/// `https://HOST/` as the browser reached us (for links to hand over).
	pub fn base_url(&self) -> String {
		let host = self.req.header("host").filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()));
		format!("https://{}", host.unwrap_or(&self.server.config.domain))
	}
}

/// The outcome of an action, as a notice and a status.
pub struct Outcome {
	pub status: u16,
	pub notice: String,
}

impl Outcome {
	pub fn ok(text: &str) -> Outcome {
		Outcome { status: 200, notice: html::notice("ok", text) }
	}

	/// A notice made of trusted HTML (already escaped where needed).
	pub fn ok_html(html: String) -> Outcome {
		Outcome { status: 200, notice: format!("<div class=\"card ok\" id=\"notice\" role=\"status\">{html}</div>") }
	}

	pub fn error(e: &AdminError) -> Outcome {
		Outcome { status: status_of(e), notice: html::notice("error", &e.to_string()) }
	}

	/// The sentence of a `Done` reply, or a fixed text for the others.
	pub fn of(r: Result<Reply, AdminError>, or: &str) -> Outcome {
		match r {
			Ok(Reply::Done(text)) => Outcome::ok(&text),
			Ok(_) => Outcome::ok(or),
			Err(e) => Outcome::error(&e),
		}
	}
}

/// The HTTP status a failed command answers with.
pub fn status_of(e: &AdminError) -> u16 {
	match e {
		AdminError::NotSetUp => 503,
		AdminError::NoSuchUser(_) | AdminError::NotFound(_) => 404,
		AdminError::Exists(_) => 409,
		AdminError::Invalid(_) => 400,
		AdminError::Forbidden(_) => 403,
		AdminError::Limit(_) => 429,
		AdminError::Storage(_) | AdminError::Failed(_) => 500,
	}
}

pub fn not_found(session: &Session) -> Response {
	html::page(404, "Not found", "", &session.csrf, "<p>No such page. <a href=\"/console/\">Overview</a></p>")
}
