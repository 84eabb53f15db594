//! Invitations: links (and QR codes) that let newcomers make their own
//! account, one-use or for several people, for some days, into a
//! department, as admins or not; listed and revoked.

use super::super::html::{self, button, e};
use super::{Cx, Outcome};
use crate::admin::{Command, InviteMade, InviteRow, InviteSpec, Reply};
use crate::http::Response;

pub async fn page(cx: &Cx<'_>, outcome: Option<Outcome>) -> Response {
	let status = outcome.as_ref().map_or(200, |o| o.status);
	let mut body = outcome.map(|o| o.notice).unwrap_or_default();
	let invites = match cx.run(Command::InviteList).await {
		Ok(Reply::Invites(i)) => i,
		Ok(_) => Vec::new(),
		Err(err) => return cx.page(super::status_of(&err), "Invitations", "invitations", &html::notice("error", &err.to_string())),
	};
	let groups = match cx.run(Command::GroupList).await {
		Ok(Reply::Groups(g)) => g,
		_ => Vec::new(),
	};
	let mut options = String::from("<option value=\"\">(none)</option>");
	for g in &groups {
		options.push_str(&format!("<option value=\"{n}\">{n}</option>", n = e(&g.name)));
	}
	body.push_str(&format!(
		"<form class=\"card\" id=\"new-invitation\" method=\"post\" action=\"/console/invitations/add\">{}\
		 <p>An invitation is a link: the newcomer opens it on their phone or computer, installs a chat app and picks a name and password.</p>\
		 <label for=\"uses\">How many people may use it</label><input id=\"uses\" name=\"uses\" type=\"number\" min=\"1\" value=\"1\">\
		 <label for=\"days\">Good for (days)</label><input id=\"days\" name=\"days\" type=\"number\" min=\"1\" value=\"{days}\">\
		 <label for=\"group\">Department</label><select id=\"group\" name=\"group\">{options}</select>\
		 <div><input type=\"checkbox\" id=\"admin\" name=\"admin\"> <label class=\"inline\" for=\"admin\">They become admins</label></div>\
		 <button id=\"invite\">Make the invitation</button></form>",
		html::hidden_csrf(&cx.session.csrf),
		days = cx.server.config.limits.invite_expiry_days,
	));
	let open: Vec<&InviteRow> = invites.iter().filter(|i| i.registers).collect();
	body.push_str(&format!("<h2>Open invitations ({})</h2>", open.len()));
	if open.is_empty() {
		body.push_str("<p class=\"muted\">None.</p>");
	} else {
		body.push_str("<div class=\"scroll\"><table class=\"list\" id=\"invitations\"><tr><th>Link</th><th>Uses left</th><th>Until</th><th>Department</th><th></th></tr>");
		for i in open {
			let link = landing_url(cx, &i.token);
			let admin = if i.admin { " <span class=\"tag admin\">admin</span>" } else { "" };
			body.push_str(&format!(
				"<tr><td><a href=\"{l}\">{l}</a></td><td>{}{admin}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
				i.uses_left,
				e(&html::date(i.expires)),
				e(i.group.as_deref().unwrap_or("–")),
				button("/console/invitations/revoke", &cx.session.csrf, &[("token", &i.token)], "Revoke", "danger"),
				l = e(&link),
			));
		}
		body.push_str("</table></div>");
	}
	cx.page(status, "Invitations", "invitations", &body)
}

/// The landing page of an invitation, on the host the admin reached us by.
fn landing_url(cx: &Cx<'_>, token: &str) -> String {
	format!("{}/invite/{token}", cx.base_url())
}

fn made(cx: &Cx<'_>, i: &InviteMade) -> Outcome {
	let link = landing_url(cx, &i.token);
	let off = if i.registration_off {
		"<p>Registration is off on this box: apps cannot register with it, the web form below still works.</p>"
	} else {
		""
	};
	Outcome::ok_html(format!(
		"<p>An invitation for {} {}, good until {}. Send the link, or let them scan the code:</p>\
		 <p><a id=\"invite-link\" href=\"{l}\">{l}</a></p><div class=\"qr\">{}</div>{off}",
		i.uses,
		if i.uses == 1 { "person" } else { "people" },
		e(&html::date(i.expires)),
		super::super::qr::svg(&link).unwrap_or_default(),
		l = e(&link),
	))
}

pub async fn action(cx: &Cx<'_>, what: &str) -> Response {
	let outcome = match what {
		"add" => {
			let number = |name: &str| cx.field(name).parse::<u32>();
			let (Ok(uses), Ok(days)) = (number("uses"), number("days")) else {
				return cx.done(
					Outcome { status: 400, notice: html::notice("error", "Uses and days are whole numbers.") },
					"/console/invitations",
				);
			};
			let group = Some(cx.field("group").to_owned()).filter(|g| !g.is_empty());
			let spec = InviteSpec { contact: None, uses, days: Some(days), group, admin: cx.form.checked("admin") };
			match cx.run(Command::InviteAdd(spec)).await {
				Ok(Reply::Invite(i)) => made(cx, &i),
				other => Outcome::of(other, "Made."),
			}
		}
		"revoke" => Outcome::of(cx.run(Command::InviteRevoke { token: cx.field("token").to_owned() }).await, "Revoked."),
		_ => return super::not_found(cx.session),
	};
	cx.done(outcome, "/console/invitations")
}
