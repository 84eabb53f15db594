//! Overview: is the box healthy, who is using it.

use super::super::html::{self, e};
use super::Cx;
use crate::admin::{Command, Reply};
use crate::http::Response;

/// The box's state from the engine (`xerra status`), the numbers of the
/// statistics, and when the served certificate expires.
pub async fn page(cx: &Cx<'_>) -> Response {
	let server = cx.server;
	let status = match cx.run(Command::Status).await {
		Ok(Reply::Status(s)) => s,
		Ok(_) => return cx.page(500, "Overview", "", ""),
		Err(err) => return cx.page(super::status_of(&err), "Overview", "", &html::notice("error", &err.to_string())),
	};
	let cert = cert_expiry(&server.config, &server.tls_leaf.borrow());
	let disk = &status.disk;
	let mut warnings = Vec::new();
	let writable = disk.failing.is_none();
	if let Some(why) = &disk.failing {
		warnings.push(format!("Storage refuses writes: {why}. It is tried again by itself; free some space."));
	}
	if disk.free.is_some_and(|f| f < status.disk_warning_bytes) {
		warnings.push(format!("Free disk space is low (below {}).", html::bytes(status.disk_warning_bytes)));
	}
	if let Some((date, days)) = &cert.expiry
		&& *days < 30
	{
		warnings.push(format!("The TLS certificate expires in {days} days ({date}): renew it."));
	}
	warnings.extend(status.backups.warnings());
	let o = crate::stats::overview(server);
	let accounts = status.accounts;
	let db_bytes = status.database_bytes;
	let card = |id: &str, label: &str, value: String| {
		format!("<div class=\"card\"><div class=\"num\" id=\"{id}\">{}</div><div class=\"label\">{label}</div></div>", e(&value))
	};
	let mut body = String::new();
	for w in &warnings {
		body.push_str(&html::notice("warn", w));
	}
	if warnings.is_empty() {
		body.push_str("<div class=\"card ok\" id=\"healthy\">Everything looks fine.</div>");
	}
	body.push_str("<div class=\"grid\">");
	body.push_str(&card("online", "people online now", o.people_online.to_string()));
	body.push_str(&card("sessions", "connected devices", o.sessions.to_string()));
	body.push_str(&card("accounts", "accounts", accounts.to_string()));
	body.push_str(&card("uptime", "running for", html::duration(o.uptime.as_secs())));
	body.push_str("</div><h2>Active people</h2><div class=\"grid\">");
	let active = |i: usize| o.active.map_or("–".to_owned(), |a| a[i].to_string());
	body.push_str(&card("active-1d", "today (24 hours)", active(0)));
	body.push_str(&card("active-7d", "this week (7 days)", active(1)));
	body.push_str(&card("active-30d", "this month (30 days)", active(2)));
	body.push_str("</div><p><a href=\"/console/statistics\">Plots of the last 24 hours, 7 and 30 days</a></p><h2>Health</h2><div class=\"scroll\"><table id=\"health\">");
	let row = |k: &str, v: String| format!("<tr><th>{k}</th><td>{}</td></tr>", e(&v));
	body.push_str(&row("Storage", if writable { "writable".into() } else { "writes refused".into() }));
	body.push_str(&row(
		"Free disk",
		match (disk.free, disk.total) {
			(Some(f), Some(t)) => format!("{} of {}", html::bytes(f), html::bytes(t)),
			_ => "unknown".into(),
		},
	));
	body.push_str(&row("Database", html::bytes(db_bytes)));
	let b = &status.backups.state;
	body.push_str(&row(
		"Last backup",
		match (b.ok_at, b.ok_bytes) {
			(Some(at), Some(bytes)) => format!("{}, {}", html::date(u64::try_from(at).unwrap_or(0)), html::bytes(bytes)),
			_ => "none yet".into(),
		},
	));
	body.push_str(&row(
		"Certificate",
		match &cert.expiry {
			Some((date, days)) => format!("{}, expires on {date} ({days} days left)", cert.what),
			None => format!("{}, expiry unknown", cert.what),
		},
	));
	if let Some(rss) = o.rss_bytes {
		body.push_str(&row("Memory", format!("{} (resident)", html::bytes(rss))));
	}
	if let Some(up) = o.upload_bytes {
		body.push_str(&row("Shared files", html::bytes(up)));
	}
	body.push_str(&row("Version", format!("Xerra {}", env!("CARGO_PKG_VERSION"))));
	body.push_str(&row("Domain", status.domain.clone().unwrap_or_default()));
	body.push_str("</table></div>");
	cx.page(200, "Overview", "", &body)
}

struct Cert {
	what: &'static str,
	/// notAfter as YYYY-MM-DD (UTC), and the whole days left.
	expiry: Option<(String, i64)>,
}

/// Which certificate the box serves (`leaf`, DER, as served now) and when it expires.
fn cert_expiry(config: &crate::config::Config, leaf: &[u8]) -> Cert {
	let what = match config.tls_cert {
		Some(_) => "the admin's certificate (renewed by its owner)",
		None => "signed by the box's own CA, renewed by itself",
	};
	let expiry = crate::net::tls::not_after(leaf).map(|at| {
		let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
		let date = time::OffsetDateTime::from_unix_timestamp(at).map_or_else(|_| at.to_string(), |d| d.date().to_string());
		(date, (at - now).div_euclid(86_400))
	});
	Cert { what, expiry }
}
