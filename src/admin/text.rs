//! Replies as the command line prints them.

use super::reply::*;
use crate::config::Config;

pub fn reply(r: &Reply, config: &Config) -> String {
	let domain = &config.domain;
	match r {
		Reply::Done(t) | Reply::Text(t) => t.clone(),
		Reply::Created { jid, admin: true } => format!("created {jid}, an admin"),
		Reply::Created { jid, admin: false } => format!("created {jid}"),
		Reply::Users(rows) => rows
			.iter()
			.map(|u| format!("{}@{domain}{}{}\n", u.name, if u.admin { " (admin)" } else { "" }, if u.locked { " (locked)" } else { "" }))
			.collect(),
		Reply::Groups(groups) => groups
			.iter()
			.map(|g| {
				let m: Vec<String> = g.members.iter().map(|m| format!("{m}@{domain}")).collect();
				format!("{}: {}\n", g.name, m.join(", "))
			})
			.collect(),
		Reply::Rooms { service, live, rooms } => {
			let mut out = String::new();
			for r in rooms {
				let title = if r.title.is_empty() { String::new() } else { format!(" \"{}\"", r.title) };
				let kind = if r.persistent { "persistent" } else { "temporary" };
				out.push_str(&format!("{}@{service}{title}: {kind}, {} occupants", r.name, r.occupants));
				if *live {
					out.push_str(&format!(", history {} messages ({} bytes)", r.history.0, r.history.1));
				}
				out.push_str(&format!("\n    {}\n", r.settings.describe()));
				if !r.nicks.is_empty() {
					out.push_str(&format!("    in it: {}\n", r.nicks_text()));
				}
			}
			out
		}
		Reply::Settings(rows) => {
			rows.iter().map(|s| format!("{} = {}\n    {} (default: {})\n", s.name, s.value, s.doc, s.default)).collect()
		}
		Reply::Status(s) => status(s),
		Reply::Reset(r) => {
			let hours = r.expires.saturating_sub(crate::features::invites::now_secs()).div_ceil(3600);
			format!("{}\nopen it to set a new password for {}; good once, for {hours} hours\n", r.url, r.jid)
		}
		Reply::Invite(i) => {
			let mode =
				if i.registration_off { " (registration is off: `xerra config set registration invite` to let it register)" } else { "" };
			let times = if i.uses == 1 { "once".to_owned() } else { format!("{} times", i.uses) };
			format!("{}\nvalid for {} days, {times}{mode}\n", i.uri, i.days)
		}
		Reply::Invites(rows) => rows
			.iter()
			.map(|i| {
				let days = i.expires.saturating_sub(crate::features::invites::now_secs()).div_ceil(86_400);
				let mut what = vec![format!("{} left", i.uses_left), format!("expires in {days} days")];
				what.extend(i.group.as_ref().map(|g| format!("joins {g}")));
				what.extend(i.admin.then(|| "makes admins".to_owned()));
				what.extend(i.contact.as_ref().map(|c| format!("from {c}@{domain}")));
				what.extend((!i.registers).then(|| "contact only".to_owned()));
				format!("{} ({})\n  {}\n", i.token, what.join(", "), i.uri)
			})
			.collect(),
		Reply::Components(rows) => {
			rows.iter().map(|c| format!("{}{}\n", c.domain, if c.connected { " (connected)" } else { "" })).collect()
		}
		Reply::ComponentAdded { domain, secret, port } => format!(
			"component {domain} added\nsecret: {secret}\nit connects to port {} on this box (127.0.0.1 or ::1)\n",
			port.map_or("(off: set component_port)".to_owned(), |p| p.to_string())
		),
	}
}

fn status(s: &Status) -> String {
	let domain = s.domain.as_deref().unwrap_or("(not set up yet: open the web page or run `xerra setup`)");
	let mut out = format!("domain: {domain}\naccounts: {}\n", s.accounts);
	if s.sha1_only > 0 {
		out.push_str(&format!(
			"SCRAM-SHA-256: not offered: {} imported accounts have SCRAM-SHA-1 keys only (each gets both at a PLAIN login or a new password)\n",
			s.sha1_only
		));
	}
	out.push_str(&format!("data: {}\n", s.data_dir));
	out.push_str(&format!("database: {} bytes\n", s.database_bytes));
	out.push_str(&disk_lines(&s.disk, s.disk_warning_bytes));
	out.push_str(&backup_lines(&s.backups));
	match &s.running {
		Some(r) => out.push_str(&format!(
			"running: yes (pid {}, up {} s)\nconnections: {}\nsessions: {} ({} users online)\n",
			r.pid, r.uptime_secs, r.connections, r.sessions, r.users_online
		)),
		None => out.push_str("running: no\n"),
	}
	out
}

/// `xerra status` on the data directory's disk: free space (flagged low
/// below `disk_free_warning_bytes`), and whether writes are being refused.
fn disk_lines(d: &crate::store::DiskStatus, warn_below: u64) -> String {
	use crate::store::mib;
	let mut out = match (d.free, d.total) {
		(Some(free), Some(total)) => {
			let low = if free < warn_below { format!(" (low: below disk_free_warning_bytes, {})", mib(warn_below)) } else { String::new() };
			format!("disk: {} free of {}{low}\n", mib(free), mib(total))
		}
		_ => "disk: free space unknown\n".to_owned(),
	};
	if let Some(why) = &d.failing {
		out.push_str(&format!("storage: writes refused ({why}); tried again by themselves\n"));
	}
	out
}

/// `xerra status` on backups: the last one, and what is wrong.
fn backup_lines(v: &crate::autobackup::View) -> String {
	let st = &v.state;
	let mut out = match (st.ok_at, &st.ok_file, st.ok_bytes) {
		(Some(at), Some(file), Some(bytes)) => format!("last backup: {} ({bytes} bytes) {file}\n", utc(at)),
		_ => "last backup: none\n".to_owned(),
	};
	if let Some(due) = v.next_due {
		out.push_str(&format!("next backup: {}\n", utc(due)));
	}
	if let Some(p) = &v.placement {
		out.push_str(&format!("backup disk: {} is {p}\n", v.dir));
	}
	for w in v.warnings() {
		out.push_str(&format!("backup warning: {w}\n"));
	}
	out
}

fn utc(unix: i64) -> String {
	time::OffsetDateTime::from_unix_timestamp(unix)
		.map(|t| format!("{}-{:02}-{:02} {:02}:{:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second()))
		.unwrap_or_else(|_| unix.to_string())
}

#[cfg(test)]
mod tests {
	use crate::store::DiskStatus;

	#[test]
	fn disk_lines_say_low_and_failing() {
		let d = DiskStatus { free: Some(3 << 20), total: Some(1 << 30), low: false, failing: None };
		assert_eq!(super::disk_lines(&d, 1 << 20), "disk: 3.0 MiB free of 1024.0 MiB\n");
		assert!(super::disk_lines(&d, 100 << 20).contains("(low: below disk_free_warning_bytes, 100.0 MiB)"));
		let d = DiskStatus { failing: Some("No space left on device".into()), ..d };
		assert!(super::disk_lines(&d, 0).contains("storage: writes refused (No space left on device)"));
		assert_eq!(super::disk_lines(&DiskStatus { free: None, total: None, low: false, failing: None }, 0), "disk: free space unknown\n");
	}
}
