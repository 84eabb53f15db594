//! Backups: the last one and its size, when the next is due, failures and
//! overdue warnings; "Make a backup now"; downloading a backup (streamed
//! from disk, see `download`); the recovery key, shown once on a printable
//! page (the emergency kit) and never stored on the box.

use super::super::html::{self, e};
use super::{Cx, Outcome};
use crate::admin::Command;
use crate::autobackup::View;
use crate::http::Response;

pub async fn page(cx: &Cx<'_>, outcome: Option<Outcome>) -> Response {
	let status = outcome.as_ref().map_or(200, |o| o.status);
	let mut body = outcome.map(|o| o.notice).unwrap_or_default();
	let v = match View::read(&cx.server.store, &cx.server.config, Some(&cx.server.backups)) {
		Ok(v) => v.placed(&cx.server.config).await,
		Err(err) => return cx.page(500, "Backups", "backups", &html::notice("error", &err.to_string())),
	};
	for w in v.warnings() {
		body.push_str(&html::notice("warn", &w));
	}
	let csrf = &cx.session.csrf;
	let row = |id: &str, k: &str, v: String| format!("<tr id=\"{id}\"><th>{k}</th><td>{v}</td></tr>");
	body.push_str("<div class=\"scroll\"><table id=\"backups\">");
	let st = &v.state;
	let last = match (st.ok_at, &st.ok_file, st.ok_bytes) {
		(Some(at), Some(file), Some(bytes)) => {
			let name = std::path::Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or("");
			let link = if crate::autobackup::is_ours(name) {
				format!(" <a id=\"download\" href=\"/console/backups/download?name={}\" download>Download</a>", e(name))
			} else {
				String::new()
			};
			format!("{} ({}), <span id=\"last-size\">{}</span>: {}{link}", html::date(secs(at)), ago(at), html::bytes(bytes), e(name))
		}
		_ => "none yet".to_owned(),
	};
	body.push_str(&row("last", "Last backup", last));
	if let (Some(at), Some(why)) = (st.failed_at, &st.failure) {
		body.push_str(&row("failure", "Last failure", format!("{}: {}", html::date(secs(at)), e(why))));
	}
	let schedule = match v.time {
		Some((h, m)) => format!("daily at {h:02}:{m:02} local time, the newest {} kept in {}", v.keep, e(&v.dir)),
		None => "off (setting backup_time)".to_owned(),
	};
	body.push_str(&row("schedule", "Schedule", schedule));
	if let Some(p) = &v.placement {
		let class = if matches!(p, crate::autobackup::Placement::Separate) { "" } else { " class=\"warn\"" };
		body.push_str(&row("placement", "Backup disk", format!("<span{class}>{}: {}</span>", e(&v.dir), e(&p.to_string()))));
	}
	if let Some(due) = v.next_due {
		body.push_str(&row("next", "Next backup", html::date(secs(due))));
	}
	body.push_str(&row(
		"key",
		"Recovery key",
		if v.has_key { "set: backups are encrypted to it".into() } else { "none: no backup can be made".into() },
	));
	body.push_str("</table></div>");
	if v.running {
		body.push_str("<p id=\"running\">A backup is being made now; reload this page in a moment.</p>");
	} else {
		body.push_str(&html::button("/console/backups/now", csrf, &[], "Make a backup now", ""));
	}
	body.push_str(
		"<h2>Recovery key</h2><p>A backup opens only with the recovery key. The box keeps only the key's public half; \
		 the key itself is shown once, to print or save somewhere safe away from the box.</p>",
	);
	let label = if v.has_key { "Replace the recovery key" } else { "Create a recovery key" };
	if v.has_key {
		body.push_str("<p><small>Backups made before a replacement still need the old key.</small></p>");
	}
	body.push_str(&html::button("/console/backups/key", csrf, &[], label, ""));
	cx.page(status, "Backups", "backups", &body)
}

fn secs(t: i64) -> u64 {
	u64::try_from(t).unwrap_or(0)
}

fn ago(t: i64) -> String {
	let now = i64::try_from(super::super::now_secs()).unwrap_or(i64::MAX);
	format!("{} ago", html::duration(u64::try_from(now - t).unwrap_or(0)))
}

pub async fn action(cx: &Cx<'_>, what: &str) -> Response {
	match what {
		"now" => {
			let outcome = match crate::autobackup::make(cx.server).await {
				Ok(info) => Outcome::ok(&format!("Backup made: {} ({}).", info.path.display(), html::bytes(info.bytes))),
				Err(why) => Outcome { status: 500, notice: html::notice("error", &format!("No backup was made: {why}")) },
			};
			cx.done(outcome, "/console/backups")
		}
		"key" => {
			// Only the public half is kept (through the engine, as `xerra backup key` does).
			let key = crate::backup::generate_key();
			let set = Command::ConfigSet { name: crate::backup::RECIPIENT_SETTING.into(), value: key.recipient.clone() };
			match cx.run(set).await {
				// The kit is kept for one showing (the session's flash), so a reload does not make another key.
				Ok(_) => {
					log::info!("console: {} made a new backup recovery key", cx.session.user);
					cx.done(Outcome { status: 200, notice: kit(cx.domain(), &key.secret) }, "/console/backups/kit")
				}
				Err(e) => cx.done(Outcome::error(&e), "/console/backups"),
			}
		}
		_ => super::not_found(cx.session),
	}
}

/// The emergency kit: the recovery key once, on a page made to be printed.
fn kit(domain: &str, secret: &str) -> String {
	format!(
		"<div class=\"card\" id=\"kit\"><h2>Emergency kit for {d}</h2>\
		 <p>This recovery key opens this box's backups. Print this page or save the key where you keep passwords, away from the box. \
		 It is shown only now: the box does not keep it. Without it no backup can be restored.</p>\
		 <pre id=\"recovery-key\" style=\"white-space: pre-wrap; word-break: break-all; font-size: 1.1em\">{k}</pre>\
		 <p>To restore: on a new box, choose \"Restore from a backup\" in the first-boot wizard (its web page or the console's \
		 <code>xerra setup</code>), or run <code>xerra backup restore FILE</code> with the server stopped, and give this key.</p>\
		 <p><a href=\"/console/backups\">Back to Backups</a></p></div>",
		d = e(domain),
		k = e(secret)
	)
}

/// The emergency kit, once (after "Create a recovery key").
pub fn show_kit(cx: &Cx<'_>) -> Response {
	match cx.flash() {
		Some(o) if o.notice.contains("id=\"kit\"") => cx.page(200, "Recovery key", "backups", &o.notice),
		Some(o) => cx.page(o.status, "Recovery key", "backups", &o.notice),
		None => cx.page(
			410,
			"Recovery key",
			"backups",
			&html::notice("error", "The recovery key was shown once and is not kept on the box. Make a new one if it was lost."),
		),
	}
}
