//! Departments: groups whose members are each other's contacts (the same
//! code as `xerra group`; members' rosters change at once).

use super::super::html::{self, button, e};
use super::{Cx, Outcome};
use crate::admin::{Command, Reply};
use crate::http::Response;

pub async fn page(cx: &Cx<'_>, outcome: Option<Outcome>) -> Response {
	let status = outcome.as_ref().map_or(200, |o| o.status);
	let mut body = outcome.map(|o| o.notice).unwrap_or_default();
	let groups = match cx.run(Command::GroupList).await {
		Ok(Reply::Groups(g)) => g,
		Ok(_) => Vec::new(),
		Err(err) => return cx.page(super::status_of(&err), "Departments", "departments", &html::notice("error", &err.to_string())),
	};
	let users = match cx.run(Command::UserList).await {
		Ok(Reply::Users(u)) => u,
		_ => Vec::new(),
	};
	let csrf = &cx.session.csrf;
	body.push_str(&format!(
		"<p>Everyone in a department has everyone else in it as a contact, without asking.</p>\
		 <form class=\"card\" id=\"new-department\" method=\"post\" action=\"/console/departments/add\">{}\
		 <label for=\"group\">New department</label><input id=\"group\" name=\"group\" required placeholder=\"Sales\">\
		 <button id=\"create\">Create</button></form>",
		html::hidden_csrf(csrf)
	));
	if groups.is_empty() {
		body.push_str("<p class=\"muted\">No departments yet.</p>");
	}
	let mut options = String::new();
	for u in &users {
		options.push_str(&format!("<option value=\"{n}\">{n}</option>", n = e(&u.name)));
	}
	for g in &groups {
		let members: Vec<&String> = g.members.iter().filter(|m| !m.is_empty()).collect();
		body.push_str(&format!(
			"<div class=\"card department\" id=\"dept-{id}\"><h2>{n} <small>({} people)</small></h2>",
			members.len(),
			id = e(&g.name),
			n = e(&g.name)
		));
		body.push_str("<ul>");
		for m in &members {
			body.push_str(&format!(
				"<li>{}@{} {}</li>",
				e(m),
				e(cx.domain()),
				button("/console/departments/remove", csrf, &[("group", &g.name), ("user", m)], "Remove", "plain")
			));
		}
		body.push_str(&format!(
			"</ul><form id=\"member-{id}\" method=\"post\" action=\"/console/departments/member\">{}<input type=\"hidden\" name=\"group\" value=\"{}\">\
			 <label for=\"user-{id}\">Add someone</label><select id=\"user-{id}\" name=\"user\">{options}</select> <button id=\"add-{id}\">Add</button></form>\
			 <form method=\"post\" action=\"/console/departments/rename\">{}<input type=\"hidden\" name=\"group\" value=\"{}\">\
			 <label for=\"to-{id}\">New name</label><input id=\"to-{id}\" name=\"to\" required> <button class=\"plain\">Rename</button></form>{}</div>",
			html::hidden_csrf(csrf),
			e(&g.name),
			html::hidden_csrf(csrf),
			e(&g.name),
			button("/console/departments/delete", csrf, &[("group", &g.name)], "Delete the department", "danger"),
			id = e(&g.name)
		));
	}
	cx.page(status, "Departments", "departments", &body)
}

pub async fn action(cx: &Cx<'_>, what: &str) -> Response {
	let (group, user) = (cx.field("group").to_owned(), cx.field("user").to_owned());
	let outcome = match what {
		"add" => Outcome::of(cx.run(Command::GroupAdd { group }).await, "Created."),
		"member" => Outcome::of(cx.run(Command::GroupAddMember { group, user }).await, "Added."),
		"remove" => Outcome::of(cx.run(Command::GroupDelMember { group, user }).await, "Removed."),
		"rename" => Outcome::of(cx.run(Command::GroupRename { group, to: cx.field("to").to_owned() }).await, "Renamed."),
		"delete" => Outcome::of(cx.run(Command::GroupDel { group }).await, "Deleted."),
		_ => return super::not_found(cx.session),
	};
	cx.done(outcome, "/console/departments")
}
