//! People: the accounts, adding one (with a password shown once, or an
//! invitation), reset links, locking, the admin role, deleting.

use super::super::html::{self, button, e};
use super::{Cx, Outcome};
use crate::admin::{Command, Reply, ResetMade, UserRow};
use crate::http::Response;

pub async fn page(cx: &Cx<'_>, outcome: Option<Outcome>) -> Response {
	let status = outcome.as_ref().map_or(200, |o| o.status);
	let mut body = outcome.map(|o| o.notice).unwrap_or_default();
	let users = match cx.run(Command::UserList).await {
		Ok(Reply::Users(u)) => u,
		Ok(_) => Vec::new(),
		Err(err) => return cx.page(super::status_of(&err), "People", "people", &html::notice("error", &err.to_string())),
	};
	body.push_str(&add_form(cx));
	body.push_str(&format!(
		"<h2>{} accounts</h2><div class=\"scroll\"><table class=\"list\" id=\"people\"><tr><th>Person</th><th>State</th><th>Storage</th><th>Actions</th></tr>",
		users.len()
	));
	for u in &users {
		body.push_str(&row(cx, u));
	}
	body.push_str("</table></div>");
	cx.page(status, "People", "people", &body)
}

fn add_form(cx: &Cx<'_>) -> String {
	format!(
		"<form class=\"card\" id=\"add\" method=\"post\" action=\"/console/people/add\">{}\
		 <h2>Add a person</h2>\
		 <label for=\"name\">User name</label><input id=\"name\" name=\"name\" autocapitalize=\"none\" required placeholder=\"anna.berg\">\
		 <small>The address will be <i>name</i>@{}. A password is made for them and shown once.</small>\
		 <div><input type=\"checkbox\" id=\"admin\" name=\"admin\"> <label class=\"inline\" for=\"admin\">Admin (may use this console)</label></div>\
		 <button id=\"add-person\">Add</button> <a href=\"/console/invitations\">or invite them instead</a></form>",
		html::hidden_csrf(&cx.session.csrf),
		e(cx.domain())
	)
}

fn row(cx: &Cx<'_>, u: &UserRow) -> String {
	let csrf = &cx.session.csrf;
	let n = u.name.as_str();
	let mut state = String::new();
	if u.admin {
		state.push_str("<span class=\"tag admin\">admin</span>");
	}
	if u.locked {
		state.push_str("<span class=\"tag locked\">locked</span>");
	}
	if u.online > 0 {
		state.push_str(&format!("<span class=\"tag on\">online ({})</span>", u.online));
	} else if let Some(t) = u.last_seen {
		state.push_str(&format!("<small>last seen {}</small>", e(&html::date(t))));
	}
	let mut actions = String::new();
	actions.push_str(&button("/console/people/reset", csrf, &[("name", n)], "Reset link", "plain"));
	let (lock, lock_label) = if u.locked { ("off", "Unlock") } else { ("on", "Lock") };
	actions.push_str(&button("/console/people/lock", csrf, &[("name", n), ("on", lock)], lock_label, "plain"));
	let (admin, admin_label) = if u.admin { ("off", "Not admin") } else { ("on", "Make admin") };
	actions.push_str(&button("/console/people/admin", csrf, &[("name", n), ("on", admin)], admin_label, "plain"));
	actions.push_str(&format!("<a href=\"/console/people/delete?name={}\">Delete…</a>", e(&urlencode(n))));
	let shown = u
		.display_name
		.as_deref()
		.filter(|d| !d.is_empty())
		.map(|d| format!("<b class=\"display-name\">{}</b><br>", e(d)))
		.unwrap_or_default();
	format!(
		"<tr id=\"user-{id}\"><td>{shown}{id}@{d}</td><td>{state}</td><td><small>{} stored</small></td><td>{actions}</td></tr>",
		html::bytes(u.storage_bytes),
		id = e(n),
		d = e(cx.domain())
	)
}

fn urlencode(s: &str) -> String {
	form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A new reset link, as a link and a QR code to hand over.
fn reset_made(cx: &Cx<'_>, r: &ResetMade) -> Outcome {
	// The address the admin reached the box by works for the person too (same LAN).
	let url = format!("{}/reset/{}", cx.base_url(), r.token);
	Outcome::ok_html(format!(
		"<p>A password reset link for <b>{jid}</b>, good once until {until}. Give it to them (or let them scan it); \
		 they choose a new password there.</p><p><a id=\"reset-link\" href=\"{u}\">{u}</a></p><div class=\"qr\">{qr}</div>",
		jid = e(&r.jid),
		until = e(&html::date(r.expires)),
		u = e(&url),
		qr = super::super::qr::svg(&url).unwrap_or_default(),
	))
}

/// The page asking whether to really delete an account.
pub fn confirm_delete(cx: &Cx<'_>) -> Response {
	let name = form_urlencoded::parse(cx.req.query.as_bytes()).find(|(k, _)| k == "name").map(|(_, v)| v.into_owned()).unwrap_or_default();
	let body = format!(
		"<div class=\"card warn\"><p>Delete <b>{n}@{d}</b>? Their contacts, messages, history and files go too, and their devices are logged out. This cannot be undone.</p>{}\
		 <a href=\"/console/people\">No, keep it</a></div>",
		button("/console/people/delete", &cx.session.csrf, &[("name", &name)], "Yes, delete", "danger"),
		n = e(&name),
		d = e(cx.domain())
	);
	cx.page(200, "Delete an account", "people", &body)
}

/// A form of the People page.
pub async fn action(cx: &Cx<'_>, what: &str) -> Response {
	let name = cx.field("name").to_owned();
	let outcome = match what {
		"add" => {
			let password = crate::setup::password(&mut |b| cx.server.random(b));
			let admin = cx.form.checked("admin");
			match cx.run(Command::UserAdd { name: name.clone(), password: password.clone(), admin }).await {
				Ok(Reply::Created { jid, admin }) => Outcome::ok_html(format!(
					"<p>Created <b id=\"new-jid\">{}</b>{}. Their password (shown only now, give it to them):</p><p><span class=\"secret\" id=\"new-password\">{}</span></p>",
					e(&jid),
					if admin { ", an admin" } else { "" },
					e(&password)
				)),
				other => Outcome::of(other, "Created."),
			}
		}
		"admin" => Outcome::of(cx.run(Command::UserAdmin { name, admin: cx.field("on") == "on" }).await, "Done."),
		"lock" => Outcome::of(cx.run(Command::UserLock { name, locked: cx.field("on") == "on" }).await, "Done."),
		"reset" => match cx.run(Command::UserReset { name }).await {
			Ok(Reply::Reset(r)) => reset_made(cx, &r),
			other => Outcome::of(other, "Made."),
		},
		"delete" => Outcome::of(cx.run(Command::UserDel { name }).await, "Deleted."),
		_ => return super::not_found(cx.session),
	};
	cx.done(outcome, "/console/people")
}
