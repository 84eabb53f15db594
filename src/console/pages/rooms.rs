//! Rooms: the group chats of `rooms.<domain>`, with their occupants; destroy.

use super::super::html::{self, button, e};
use super::{Cx, Outcome};
use crate::admin::{Command, Reply};
use crate::http::Response;

pub async fn page(cx: &Cx<'_>, outcome: Option<Outcome>) -> Response {
	let status = outcome.as_ref().map_or(200, |o| o.status);
	let mut body = outcome.map(|o| o.notice).unwrap_or_default();
	let (service, rooms) = match cx.run(Command::RoomList).await {
		Ok(Reply::Rooms { service, rooms, .. }) => (service, rooms),
		Ok(_) => (String::new(), Vec::new()),
		Err(err) => return cx.page(super::status_of(&err), "Rooms", "rooms", &html::notice("error", &err.to_string())),
	};
	body.push_str(&format!("<p>Group chats live at <code>{}</code>. Anyone makes one by joining it from their app.</p>", e(&service)));
	if rooms.is_empty() {
		body.push_str("<p class=\"muted\" id=\"no-rooms\">No rooms now.</p>");
		return cx.page(status, "Rooms", "rooms", &body);
	}
	body.push_str(
		"<div class=\"scroll\"><table class=\"list\" id=\"rooms\"><tr><th>Room</th><th>Kind</th><th>People in it</th><th>Settings</th><th>Recent history</th><th></th></tr>",
	);
	for r in &rooms {
		let title = if r.title.is_empty() { String::new() } else { format!("<br><small>{}</small>", e(&r.title)) };
		body.push_str(&format!(
			"<tr id=\"room-{id}\"><td>{id}@{svc}{title}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{} messages ({})</td><td>{}</td></tr>",
			if r.persistent { "<span class=\"tag on\">persistent</span>" } else { "<span class=\"tag\">temporary</span>" },
			r.occupants,
			if r.nicks.is_empty() { String::new() } else { format!("<br><small>{}</small>", e(&r.nicks_text())) },
			e(&r.settings.describe()),
			r.history.0,
			html::bytes(r.history.1 as u64),
			button(
				"/console/rooms/persist",
				&cx.session.csrf,
				&[("name", &r.name), ("on", if r.persistent { "off" } else { "on" })],
				if r.persistent { "Make temporary" } else { "Make persistent" },
				"plain"
			) + &format!("<a class=\"destroy\" href=\"/console/rooms/destroy?name={}\">Destroy…</a>", e(&urlencode(&r.name))),
			id = e(&r.name),
			svc = e(&service),
		));
	}
	body.push_str("</table></div>");
	cx.page(status, "Rooms", "rooms", &body)
}

fn urlencode(s: &str) -> String {
	form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The page asking whether to really destroy a room.
pub fn confirm_destroy(cx: &Cx<'_>) -> Response {
	let name = form_urlencoded::parse(cx.req.query.as_bytes()).find(|(k, _)| k == "name").map(|(_, v)| v.into_owned()).unwrap_or_default();
	let body = format!(
		"<div class=\"card warn\"><p>Destroy the room <b>{n}</b>? The people in it are told and leave; its settings, history and archive are deleted. This cannot be undone.</p>{}\
		 <a href=\"/console/rooms\">No, keep it</a></div>",
		button("/console/rooms/destroy", &cx.session.csrf, &[("name", &name)], "Yes, destroy it", "danger"),
		n = e(&name),
	);
	cx.page(200, "Destroy a room", "rooms", &body)
}

pub async fn action(cx: &Cx<'_>, what: &str) -> Response {
	let name = cx.field("name").to_owned();
	let outcome = match what {
		"persist" => Outcome::of(cx.run(Command::RoomPersist { name, persistent: cx.field("on") == "on" }).await, "Done."),
		"destroy" => {
			let reason = Some("Closed by the admin".to_owned());
			Outcome::of(cx.run(Command::RoomDestroy { name, reason }).await, "Destroyed.")
		}
		_ => return super::not_found(cx.session),
	};
	cx.done(outcome, "/console/rooms")
}
