//! The console's page frame and the small pieces every page uses. Every
//! value that comes from a person or from storage goes through [`e`].
//! Nothing is loaded from anywhere: the style is in the page, pictures (QR
//! codes, plots) are inline SVG, and the CSP forbids everything else.

use crate::http::Response;

pub use crate::xmpp::element::escape as e;

const STYLE: &str = "\
*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;line-height:1.45;color:#1d232b;background:#f4f6f8}\
header{background:#1f4e79;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;align-items:center;gap:.3em 1em}\
header b{font-size:1.1em;margin-right:.5em}header nav{display:flex;flex-wrap:wrap;gap:.2em .9em;flex:1}\
header a{color:#fff;text-decoration:none;padding:.15em 0}header a.here{border-bottom:2px solid #fff}\
header form{margin:0}header button{background:none;border:1px solid #fff;color:#fff;padding:.2em .7em;margin:0;font-size:.9em}\
main{max-width:62em;margin:0 auto;padding:1em}h1{font-size:1.5em;margin:.3em 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em}.card h2:first-of-type{margin-top:.2em}.card>p:first-child{margin-top:0}.card>:last-child{margin-bottom:0}\
a.btn{display:inline-block;padding:.5em 1.1em;background:#1f4e79;color:#fff;border-radius:4px;text-decoration:none;font-weight:600}\
.card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:.8em 1em;margin:.8em 0}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(10em,1fr));gap:.6em}\
.grid .card{margin:0}.num{font-size:1.6em;font-weight:bold}.label{color:#57606a;font-size:.9em}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}\
th,td{text-align:left;padding:.4em .5em;border-bottom:1px solid #e1e4e8;vertical-align:top}th{background:#eef1f4;font-size:.9em}\
label{display:block;margin:.6em 0 .2em;font-weight:600}input,select,textarea{font:inherit;padding:.45em;width:100%;max-width:28em;\
border:1px solid #aab3bd;border-radius:4px}input[type=checkbox],input[type=radio]{width:auto}label.inline{display:inline;font-weight:normal}\
button{font:inherit;padding:.45em 1.1em;margin:.5em .3em .2em 0;border:1px solid #1f4e79;background:#1f4e79;color:#fff;border-radius:4px;cursor:pointer}\
button.plain{background:#fff;color:#1f4e79}button.danger{background:#b42318;border-color:#b42318}\
form.row{display:inline}td form.row button{padding:.2em .6em;margin:.1em .2em .1em 0;font-size:.9em}\
.ok{background:#e6f4ea;border-color:#8fd19e}.error{background:#fdecea;border-color:#f1a9a0;color:#8a1c12}.warn{background:#fff8e1;border-color:#f0c36d}\
.tag{display:inline-block;font-size:.8em;padding:0 .45em;border-radius:3px;background:#e1e4e8;margin-right:.2em}\
.tag.admin{background:#dbeafe}.tag.locked{background:#fde2e1}.tag.on{background:#d1f0d9}\
code{background:#eef1f4;padding:0 .25em;border-radius:3px;word-break:break-all}small,.muted{color:#57606a}form small{display:block}main a,main b{overflow-wrap:anywhere}\
.qr svg{width:12em;height:12em;background:#fff}.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(22em,1fr));gap:.6em}\
.plot{margin:0;padding:.4em}.plot svg{width:100%;height:auto;background:#fff}\
.secret{font-size:1.3em;font-family:monospace;background:#fff;padding:.2em .5em;border:1px dashed #888}\
details summary{cursor:pointer;font-weight:600;padding:.7em 0;color:#1f4e79}.setting{padding:.5em .8em;margin:.4em 0}.setting form{margin-top:.2em}.setting input{max-width:20em}\
button{white-space:nowrap}\
@media (max-width:40em){table.list,table.list tbody,table.list tr,table.list td{display:block}table.list tr:first-child{display:none}\
table.list tr{border-bottom:1px solid #d8dee4;padding:.3em 0}table.list td{border:none;padding:.1em .4em}\
header nav{order:3;flex-basis:100%}header form{margin-left:auto}main{padding:.6em}th,td{padding:.35em .3em}.num{font-size:1.3em}}";

/// A page of the console, with its menu; `here` is the menu entry to mark,
/// `csrf` the session's token for the logout form.
pub fn page(status: u16, title: &str, here: &str, csrf: &str, body: &str) -> Response {
	let mut nav = String::new();
	for (path, name) in MENU {
		let class = if *path == here { " class=\"here\"" } else { "" };
		nav.push_str(&format!("<a href=\"/console/{path}\"{class}>{name}</a>"));
	}
	let head = format!(
		"<header><b>Xerra</b><nav>{nav}</nav><form method=\"post\" action=\"/console/logout\">{}<button id=\"logout\">Log out</button></form></header>",
		hidden_csrf(csrf)
	);
	frame(status, title, &head, body)
}

/// A person's own page (not an admin): no menu, a way out.
pub fn personal(status: u16, title: &str, csrf: &str, body: &str) -> Response {
	let head = format!(
		"<header><b>Xerra</b><nav></nav><form method=\"post\" action=\"/console/logout\">{}<button id=\"logout\">Log out</button></form></header>",
		hidden_csrf(csrf)
	);
	frame(status, title, &head, body)
}

/// A page outside the menu (login, invitation, password reset).
pub fn bare(status: u16, title: &str, body: &str) -> Response {
	frame(status, title, "<header><b>Xerra</b></header>", body)
}

fn frame(status: u16, title: &str, head: &str, body: &str) -> Response {
	let html = format!(
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
		 <title>{t} - Xerra</title><style>{STYLE}</style></head><body>{head}<main><h1>{t}</h1>\n{body}\n</main></body></html>\n",
		t = e(title)
	);
	Response::new(status, "text/html; charset=utf-8", html)
}

/// The menu: (path under /console/, name).
pub const MENU: &[(&str, &str)] = &[
	("", "Overview"),
	("people", "People"),
	("departments", "Departments"),
	("invitations", "Invitations"),
	("rooms", "Rooms"),
	("settings", "Settings"),
	("statistics", "Statistics"),
	("backups", "Backups"),
	("broadcast", "Broadcast"),
	("me", "My account"),
];

pub fn hidden_csrf(token: &str) -> String {
	format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", e(token))
}

/// A one-button form posting `fields` to `action` (lock, delete...).
pub fn button(action: &str, csrf: &str, fields: &[(&str, &str)], label: &str, class: &str) -> String {
	let mut f = format!("<form class=\"row\" method=\"post\" action=\"{}\">{}", e(action), hidden_csrf(csrf));
	for (k, v) in fields {
		f.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", e(k), e(v)));
	}
	let class = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
	f.push_str(&format!("<button{class}>{}</button></form>", e(label)));
	f
}

/// A notice box: `ok` or `error`.
pub fn notice(kind: &str, text: &str) -> String {
	format!("<div class=\"card {kind}\" id=\"notice\" role=\"status\">{}</div>", e(text))
}

/// Seconds as "3 d 4 h", "5 h 2 min", "40 s".
pub fn duration(secs: u64) -> String {
	match secs {
		0..60 => format!("{secs} s"),
		60..3600 => format!("{} min", secs / 60),
		3600..86_400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
		_ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
	}
}

/// Bytes as "1.5 MiB".
pub fn bytes(n: u64) -> String {
	match n {
		0..1024 => format!("{n} B"),
		1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
		1_048_576..1_073_741_824 => format!("{:.1} MiB", n as f64 / 1_048_576.0),
		_ => format!("{:.1} GiB", n as f64 / 1_073_741_824.0),
	}
}

/// A Unix time as a UTC date and time.
pub fn date(unix: u64) -> String {
	match time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(0)) {
		Ok(t) => format!("{}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute()),
		Err(_) => unix.to_string(),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn values_are_escaped_everywhere() {
		let b = button("/console/x", "t\"", &[("name", "<b>")], "Go <now>", "");
		assert!(!b.contains("<b>") && b.contains("&lt;b&gt;") && b.contains("Go &lt;now&gt;") && b.contains("t&quot;"), "{b}");
		assert!(notice("ok", "<script>").contains("&lt;script&gt;"));
		let p = String::from_utf8(bare(200, "<i>x</i>", "").body).unwrap();
		assert!(p.contains("<title>&lt;i&gt;x&lt;/i&gt; - Xerra</title>"));
	}

	#[test]
	fn readable_numbers() {
		assert_eq!(duration(45), "45 s");
		assert_eq!(duration(3 * 86_400 + 7200), "3 d 2 h");
		assert_eq!(bytes(1536), "1.5 KiB");
		assert_eq!(date(0), "1970-01-01 00:00 UTC");
	}
}
