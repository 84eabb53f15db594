//! Broadcast: a message from the server to everyone online (or to
//! everyone, stored for those offline), and the message of the day that
//! greets each new session.

use super::super::html::{self, e};
use super::{Cx, Outcome};
use crate::admin::{Command, Reply};
use crate::http::Response;

pub async fn page(cx: &Cx<'_>, outcome: Option<Outcome>) -> Response {
	let status = outcome.as_ref().map_or(200, |o| o.status);
	let mut body = outcome.map(|o| o.notice).unwrap_or_default();
	let motd = match cx.run(Command::MotdGet).await {
		Ok(Reply::Text(t)) => t,
		_ => String::new(),
	};
	let csrf = html::hidden_csrf(&cx.session.csrf);
	body.push_str(&format!(
		"<form class=\"card\" id=\"broadcast\" method=\"post\" action=\"/console/broadcast\">{csrf}\
		 <label for=\"text\">Message to everyone</label><textarea id=\"text\" name=\"text\" rows=\"4\" required></textarea>\
		 <div><input type=\"radio\" id=\"online\" name=\"to\" value=\"online\" checked> <label class=\"inline\" for=\"online\">to everyone online now</label></div>\
		 <div><input type=\"radio\" id=\"everyone\" name=\"to\" value=\"everyone\"> <label class=\"inline\" for=\"everyone\">to everyone (stored for those offline)</label></div>\
		 <button id=\"send\">Send</button></form>\
		 <form class=\"card\" id=\"motd\" method=\"post\" action=\"/console/broadcast\">{csrf}<input type=\"hidden\" name=\"motd\" value=\"1\">\
		 <label for=\"motd-text\">Message of the day</label><small>Shown to each person when they connect. Empty: none.</small>\
		 <textarea id=\"motd-text\" name=\"text\" rows=\"3\">{}</textarea><button id=\"set-motd\">Save</button></form>",
		e(&motd)
	));
	cx.page(status, "Broadcast", "broadcast", &body)
}

pub async fn action(cx: &Cx<'_>) -> Response {
	let text = cx.field("text").to_owned();
	let cmd = if cx.form.checked("motd") {
		Command::MotdSet { text: Some(text).filter(|t| !t.is_empty()) }
	} else {
		Command::Broadcast { text, everyone: cx.field("to") == "everyone" }
	};
	cx.done(Outcome::of(cx.run(cmd).await, "Saved."), "/console/broadcast")
}
