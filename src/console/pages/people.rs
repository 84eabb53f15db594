//! People: the accounts, adding one (with a password shown once, or an
//! invitation), reset links, locking, the admin role, deleting.

use super::super::html::{self, button, e};
use super::{Cx, Outcome};
use crate::admin::{Command, Reply, UserRow};
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
		"<h2>{} accounts</h2><div class=\"scroll\"><table id=\"people\"><tr><th>Name</th><th>Address</th><th>State</th><th>Actions</th></tr>",
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
		 <h2 style=\"margin-top:0\">Add a person</h2>\
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
	let mut tags = String::new();
	if u.admin {
		tags.push_str("<span class=\"tag admin\">admin</span>");
	}
	let mut actions = String::new();
	actions.push_str(&button(
		"/console/people/admin",
		csrf,
		&[("name", n), ("on", if u.admin { "off" } else { "on" })],
		if u.admin { "Not admin" } else { "Make admin" },
		"plain",
	));
	actions.push_str(&format!("<a href=\"/console/people/delete?name={}\">Delete…</a>", e(&urlencode(n))));
	format!(
		"<tr id=\"user-{id}\"><td>{n}</td><td>{n}@{d}</td><td>{tags}</td><td>{actions}</td></tr>",
		id = e(n),
		n = e(n),
		d = e(cx.domain())
	)
}

fn urlencode(s: &str) -> String {
	form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
		"delete" => Outcome::of(cx.run(Command::UserDel { name }).await, "Deleted."),
		_ => return super::not_found(cx.session),
	};
	page(cx, Some(outcome)).await
}
