//! Settings: every setting with its meaning and value, changed as `xerra
//! config set` changes it (the same validation, by the same engine).

use super::super::html::{self, button, e};
use super::{Cx, Outcome};
use crate::admin::{Command, Reply, SettingRow};
use crate::http::Response;

pub async fn page(cx: &Cx<'_>, outcome: Option<Outcome>) -> Response {
	let status = outcome.as_ref().map_or(200, |o| o.status);
	let mut body = outcome.map(|o| o.notice).unwrap_or_default();
	let rows = match cx.run(Command::ConfigList).await {
		Ok(Reply::Settings(rows)) => rows,
		Ok(_) => Vec::new(),
		Err(err) => return cx.page(super::status_of(&err), "Settings", "settings", &html::notice("error", &err.to_string())),
	};
	let csrf = &cx.session.csrf;
	body.push_str(
		"<p>Each value is checked before it is kept. Settings marked <span class=\"tag\">at restart</span> take effect \
		 the next time the server starts (restart the box).</p><div id=\"settings\">",
	);
	// What an office changes, and whatever was changed, first; the limits
	// (each with a sensible default) folded away below.
	let (common, limits): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.stored || EVERYDAY.contains(&r.name));
	for r in common {
		body.push_str(&row(csrf, r));
	}
	body.push_str(&format!(
		"<details id=\"limits\"><summary>Limits ({}): what one person, one connection or one other server may use</summary>",
		limits.len()
	));
	for r in limits {
		body.push_str(&row(csrf, r));
	}
	body.push_str("</details></div>");
	cx.page(status, "Settings", "settings", &body)
}

/// Settings an office may want to change, shown unfolded.
const EVERYDAY: &[&str] = &[
	"domain",
	"registration",
	"contact_addresses",
	"mam_default",
	"mam_retention_days",
	"upload_expiry_days",
	"upload_max_bytes",
	"upload_quota_bytes",
	"invite_expiry_days",
	"reset_expiry_hours",
	"disk_free_warning_bytes",
	"statistics",
	"metrics_allow",
	"tls_cert",
	"tls_key",
	"listen",
	"c2s_port",
	"c2s_tls_port",
	"http_port",
	"upload_port",
	"proxy_port",
	"proxy_host",
	"s2s_port",
	"s2s_hosts",
	"component_port",
	"mdns",
	"hostname",
	"banner_file",
];

fn row(csrf: &str, r: &SettingRow) -> String {
	let changed = if r.stored { "<span class=\"tag on\">changed</span>" } else { "" };
	let restart = if r.restart { "<span class=\"tag\">at restart</span>" } else { "" };
	let reset = if r.stored {
		button("/console/settings", csrf, &[("name", r.name), ("default", "1")], "Back to default", "plain")
	} else {
		String::new()
	};
	format!(
		"<div class=\"card setting\" id=\"setting-{n}\"><b><code>{n}</code></b> {changed}{restart}<br><small>{doc} (default: <code>{def}</code>)</small>\
		 <form method=\"post\" action=\"/console/settings\">{}<input type=\"hidden\" name=\"name\" value=\"{n}\">\
		 <input name=\"value\" aria-label=\"{n}\" value=\"{v}\"> <button>Save</button></form>{reset}</div>",
		html::hidden_csrf(csrf),
		n = e(r.name),
		doc = e(r.doc),
		def = e(r.default),
		v = e(&r.value),
	)
}

pub async fn action(cx: &Cx<'_>) -> Response {
	let name = cx.field("name").to_owned();
	let cmd = if cx.form.checked("default") {
		Command::ConfigUnset { name }
	} else {
		Command::ConfigSet { name, value: cx.field("value").to_owned() }
	};
	cx.done(Outcome::of(cx.run(cmd).await, "Saved."), "/console/settings")
}
