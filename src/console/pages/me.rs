//! "My account": what a person who is not an admin sees of the console,
//! and admins too: their own data as a XEP-0227 file to download (their
//! data is theirs; `crate::migrate`).

use crate::console::html::{self, e};
use crate::console::session::Session;
use crate::http::{Request, Response};
use crate::server::Server;

/// `/console/me` and its download; anything else sends a person here.
pub async fn route(server: &Server, session: &Session, req: &Request) -> Response {
	let page = req.path.strip_prefix("/console/").unwrap_or("");
	match (page, req.method == "POST") {
		("me", false) => page_of(server, session),
		("me/export", true) => download(server, session).await,
		(_, false) => Response::redirect("/console/me"),
		(_, true) => crate::console::forbidden("Only your own account's page is open to you."),
	}
}

fn page_of(server: &Server, session: &Session) -> Response {
	let jid = format!("{}@{}", session.user, server.config.domain);
	let body = format!(
		"<p>You are logged in as <b>{}</b>.</p>\
		 <div class=\"card\"><p>Your contacts, pending requests, profile (vCard), stored settings, waiting messages, \
		 published items and message history, with your password's keys (never the password), as one file in the \
		 standard format other servers import (XEP-0227). Keep it safe: it lets anyone who has it take your account \
		 elsewhere.</p>{}</div>",
		e(&jid),
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
