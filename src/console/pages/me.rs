//! "My account": what a person who is not an admin sees of the console,
//! and admins too: their devices (each SASL2 client, XEP-0388), to sign
//! one out (`features::devices`, as the "My devices" command does), and
//! their own data as a XEP-0227 file to download (their data is theirs;
//! `crate::migrate`).

use crate::console::Form;
use crate::console::html::{self, e};
use crate::console::session::Session;
use crate::http::{Request, Response};
use crate::server::Server;

/// `/console/me` and its download; anything else sends a person here.
pub async fn route(server: &Server, session: &Session, req: &Request, form: &Form) -> Response {
	let page = req.path.strip_prefix("/console/").unwrap_or("");
	match (page, req.method == "POST") {
		("me", false) => page_of(server, session, None),
		("me/export", true) => download(server, session).await,
		("me/devices", true) => sign_out(server, session, form.get("device").unwrap_or_default()).await,
		(_, false) => Response::redirect("/console/me"),
		(_, true) => crate::console::forbidden("Only your own account's page is open to you."),
	}
}

/// The person's devices, each with a button to sign it out.
fn devices(server: &Server, session: &Session) -> String {
	let list = match server.store.snapshot().and_then(|s| s.devices(&session.user)) {
		Ok(l) => l,
		Err(_) => return html::notice("error", "Your devices could not be read just now."),
	};
	let mut rows = String::new();
	for (id, d) in &list {
		rows.push_str(&format!(
			"<li>{} {}</li>",
			e(&crate::features::devices::label(d, false)),
			html::button("/console/me/devices", &session.csrf, &[("device", id)], "Sign out", "danger")
		));
	}
	if rows.is_empty() {
		rows.push_str("<li>None yet: apps that sign in the modern way (SASL2) show up here.</li>");
	}
	format!(
		"<div class=\"card\"><h2>My devices</h2><p>Each app that signed in to your account. A device you sign out \
		 needs your password to come back: do it for a lost phone.</p><ul id=\"devices\">{rows}</ul></div>"
	)
}

async fn sign_out(server: &Server, session: &Session, id: &str) -> Response {
	let notice = match crate::features::devices::revoke(server, &session.user, id).await {
		Ok(true) => html::notice("ok", "The device is signed out."),
		Ok(false) => html::notice("error", "There is no such device (signed out already?)."),
		Err(_) => html::notice("error", "The device could not be signed out just now. Try again in a moment."),
	};
	page_of(server, session, Some(&notice))
}

fn page_of(server: &Server, session: &Session, notice: Option<&str>) -> Response {
	let jid = format!("{}@{}", session.user, server.config.domain);
	let body = format!(
		"{}<p>You are logged in as <b>{}</b>.</p>{}\
		 <div class=\"card\"><p>Your contacts, pending requests, profile (vCard), stored settings, waiting messages, \
		 published items and message history, with your password's keys (never the password), as one file in the \
		 standard format other servers import (XEP-0227). Keep it safe: it lets anyone who has it take your account \
		 elsewhere.</p>{}</div>",
		notice.unwrap_or_default(),
		e(&jid),
		devices(server, session),
		html::button("/console/me/export", &session.csrf, &[], "Download my data", ""),
	);
	if session.admin {
		html::page(200, "My account", "me", &session.csrf, &body)
	} else {
		html::personal(200, "My account", &session.csrf, &body)
	}
}

async fn download(server: &Server, session: &Session) -> Response {
	let (store, domain, user) = (server.store.clone(), server.config.domain.clone(), session.user.clone());
	let (tx, rx) = async_channel::bounded(1);
	// A whole archive is read and written out: not on the executor.
	std::thread::spawn(move || {
		let _ = tx.send_blocking(crate::migrate::export_account(&store, &domain, &user));
	});
	match rx.recv().await {
		Ok(Ok(Some(xml))) => {
			log::info!("console: {} downloaded their data ({} bytes)", session.user, xml.len());
			let mut r = Response::new(200, "application/xml; charset=utf-8", xml);
			r.headers.push(("Content-Disposition", format!("attachment; filename=\"{}@{}.xml\"", session.user, server.config.domain)));
			r
		}
		Ok(Ok(None)) => Response::redirect("/console/login"),
		Ok(Err(why)) => {
			log::warn!("console: the export of {} failed: {why}", session.user);
			html::bare(500, "Not now", &html::notice("error", "Your data could not be read just now. Try again in a moment."))
		}
		Err(_) => html::bare(500, "Not now", &html::notice("error", "Your data could not be read just now.")),
	}
}
