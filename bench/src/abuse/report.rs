//! The abuse tables of `xmppbench report`: a row per attack, a column per
//! server, from the `scenario=abuse` result lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::ATTACKS;
use crate::report::Row;

/// Xerra's target (issue 11): growth at most this during any attack...
const TARGET_GROWTH_MIB: f64 = 64.0;
/// ...and RSS back within this of idle some seconds after it.
const NEAR_IDLE_MIB: f64 = 8.0;
/// Below this a peer's growth is noise: no ratio.
const RATIO_FLOOR_MIB: f64 = 1.0;

fn num(r: &Row, k: &str) -> Option<f64> {
	r.get(k)?.parse().ok()
}

fn text<'a>(r: &'a Row, k: &str) -> &'a str {
	r.get(k).map_or("-", String::as_str)
}

fn mib(r: &Row, k: &str) -> Option<f64> {
	num(r, k).map(|kb| kb / 1024.0)
}

/// The report's rows: each attack, and the restart as a row of its own.
fn rows() -> Vec<(&'static str, bool)> {
	let mut v: Vec<(&str, bool)> = ATTACKS.iter().map(|(a, _)| (*a, false)).collect();
	// Each restart right after its attack's filling.
	for restarted in ["rooms-restart", "rooms-restart-text"] {
		let at = v.iter().position(|(a, _)| *a == restarted).map_or(v.len(), |i| i + 1);
		v.insert(at, (restarted, true));
	}
	v
}

fn row_name(attack: &str, restart: bool) -> String {
	match (attack, restart) {
		(a, false) if a.starts_with("rooms-restart") => format!("{a}: filling"),
		(a, true) => format!("{a}: after the restart"),
		_ => attack.into(),
	}
}

fn growth(r: &Row, restart: bool) -> Option<f64> {
	if restart { mib(r, "restart_growth_kb") } else { mib(r, "growth_kb") }
}

fn growth_cell(r: &Row, restart: bool) -> String {
	if r.contains_key("error") {
		return format!("error: {}", text(r, "error"));
	}
	if restart && text(r, "restart") != "ok" {
		return format!("restart {}", text(r, "restart"));
	}
	let died = if text(r, "server_alive") == "0" { " (server died)" } else { "" };
	match growth(r, restart) {
		Some(g) if !restart && text(r, "ceiling_hit") == "1" => {
			format!("≥ {g:.1} (ended early at the {} MiB ceiling){died}", text(r, "ceiling_mib"))
		}
		Some(g) => format!("{g:.1}{died}"),
		None => "–".into(),
	}
}

fn probe_cell(r: &Row, prefix: &str) -> String {
	match text(r, prefix) {
		"ok" => format!(
			"{} ms (login {}, round trip {})",
			text(r, &format!("{prefix}_ms")),
			text(r, &format!("{prefix}_login_ms")),
			text(r, &format!("{prefix}_rtt_ms"))
		),
		"failed" => {
			format!("**failed** after {} ms: {}", text(r, &format!("{prefix}_ms")), text(r, &format!("{prefix}_error")).replace('_', " "))
		}
		_ => "–".into(),
	}
}

fn memory_cell(r: &Row, restart: bool) -> String {
	let idle = mib(r, "idle_rss_kb").unwrap_or(0.0);
	if restart {
		return match (mib(r, "restart_rss_kb"), mib(r, "restart_peak_kb"), mib(r, "restart_end_rss_kb")) {
			(Some(first), Some(peak), Some(end)) => {
				format!("{idle:.1} → {first:.1} at start, {peak:.1} peak; {end:.1} once a new occupant joined")
			}
			_ => "–".into(),
		};
	}
	match mib(r, "after_rss_kb") {
		Some(after) => format!("{idle:.1} → {after:.1}"),
		None => "–".into(),
	}
}

fn size(r: &Row) -> String {
	let (bytes, wanted) = (num(r, "bytes_each").unwrap_or(0.0), num(r, "wanted_bytes").unwrap_or(0.0));
	let reduced = if bytes < wanted { format!(" (of {:.1}: limit {})", wanted / 1000.0, text(r, "limit")) } else { String::new() };
	let elements = match r.get("elements_limit") {
		Some(l) => format!(", {} <a/> each (element limit {l})", text(r, "elements_each")),
		None => String::new(),
	};
	format!("{:.1} KB{reduced}{elements}", bytes / 1000.0)
}

fn details_cell(r: &Row, attack: &str, restart: bool) -> String {
	if restart {
		return match r.get("history_after_restart") {
			Some(n) => format!("a new occupant of the first room got {n} history messages"),
			None => format!("a new occupant of the first room: {}", text(r, "history_after_restart_error").replace('_', " ")),
		};
	}
	let mut s = String::new();
	if r.contains_key("conns") {
		let _ = write!(s, "{} of {} × {} sent", text(r, "sent"), text(r, "conns"), size(r));
		if let Some(failed) = r.get("login_failed") {
			let _ = write!(s, ", {failed} logins refused ({})", text(r, "login_error"));
		}
		let _ = write!(s, "; held {}", text(r, "held"));
		if text(r, "closed_by_server") != "0" {
			let _ = write!(s, "; ended early (closed by the server, or no answer in 10 s): {}", text(r, "closed_how"));
		}
		return s;
	}
	let _ = write!(s, "{} of {} × {} sent", text(r, "sent"), text(r, "count"), size(r));
	if text(r, "synced") != "1" {
		s.push_str(" (server not done with them)");
	}
	for (k, what) in [("sm", "SM"), ("csi", "CSI")] {
		match r.get(k).map(String::as_str) {
			Some("inactive") => s.push_str("; victim inactive (CSI)"),
			Some(v) => {
				let _ = write!(s, "; {what} {}", v.replace('-', " "));
			}
			None => {}
		}
	}
	if attack.starts_with("rooms-restart") {
		let _ = write!(s, "; persistent {} of {}", text(r, "persistent_confirmed"), text(r, "rooms"));
	}
	if text(r, "bounced") != "0" {
		let _ = write!(s, "; errors to the sender: {}", text(r, "bounce_how"));
	}
	if text(r, "attacker_closed") != "-" {
		let _ = write!(s, "; attacker's stream closed: {}", text(r, "attacker_closed"));
	}
	if let Some(n) = r.get("victim_got_msgs") {
		let _ = write!(s, "; victim read {n} messages, {} other", text(r, "victim_got_other"));
	}
	if text(r, "victim_closed") != "-" {
		let _ = write!(s, "; victim's stream closed: {}", text(r, "victim_closed"));
	}
	s
}

/// Xerra against the target, one cell.
fn target_cell(r: &Row, restart: bool) -> String {
	let mut missed = Vec::new();
	match growth(r, restart) {
		Some(g) if g <= TARGET_GROWTH_MIB => {}
		Some(g) => missed.push(format!("+{g:.0} MiB")),
		None => missed.push("no figure".into()),
	}
	let probe = if restart { "restart_probe" } else { "probe" };
	if text(r, probe) != "ok" {
		missed.push("normal client failed".into());
	}
	if !restart {
		let back = mib(r, "after_rss_kb").unwrap_or(f64::MAX) - mib(r, "idle_rss_kb").unwrap_or(0.0);
		if back > NEAR_IDLE_MIB {
			missed.push(format!("{back:.0} MiB above idle after"));
		}
	}
	if text(r, "server_alive") == "0" {
		missed.push("server died".into());
	}
	if missed.is_empty() { "met".into() } else { format!("missed: {}", missed.join(", ")) }
}

/// The abuse section, or nothing when there are no abuse lines.
pub fn tables(by_label: &BTreeMap<String, Vec<Row>>, labels: &[String]) -> String {
	// The last line per (server, attack) counts.
	let find = |label: &str, attack: &str| -> Option<&Row> {
		by_label.get(label)?.iter().rev().find(|r| r["scenario"] == "abuse" && r.get("attack").is_some_and(|a| a == attack))
	};
	let have: Vec<(&str, bool)> = rows().into_iter().filter(|(a, _)| labels.iter().any(|l| find(l, a).is_some())).collect();
	if have.is_empty() {
		return String::new();
	}
	let peers: Vec<&String> = labels.iter().filter(|l| *l != "xerra").collect();
	let header = |extra: &[String]| {
		let mut h = String::from("| attack |");
		for l in labels {
			let _ = write!(h, " {l} |");
		}
		for e in extra {
			let _ = write!(h, " {e} |");
		}
		h.push_str("\n|---|");
		h.push_str(&"---|".repeat(labels.len() + extra.len()));
		h.push('\n');
		h
	};
	let table = |title: &str, cell: &dyn Fn(&Row, &str, bool) -> String| {
		let mut out = format!("\n{title}\n\n{}", header(&[]));
		for (attack, restart) in &have {
			let _ = write!(out, "| {} |", row_name(attack, *restart));
			for l in labels {
				let _ = write!(out, " {} |", find(l, attack).map_or("–".into(), |r| cell(r, attack, *restart)));
			}
			out.push('\n');
		}
		out
	};
	let after = labels.iter().find_map(|l| have.iter().find_map(|(a, _)| find(l, a)?.get("after_s").cloned())).unwrap_or("?".into());

	let mut out = String::from(
		"\n## abuse: one host (127.0.0.1) attacks; a normal client (127.0.0.2) logs in and chats meanwhile\n\nEach attack on a fresh server.\n",
	);
	// Growth, with the ratios.
	let ratio_heads: Vec<String> = peers.iter().map(|p| format!("xerra/{p}")).collect();
	let _ = write!(out, "\nPeak RSS growth during the attack (MiB, peak − idle; RSS sampled every 50 ms)\n\n{}", header(&ratio_heads));
	for (attack, restart) in &have {
		let _ = write!(out, "| {} |", row_name(attack, *restart));
		for l in labels {
			let _ = write!(out, " {} |", find(l, attack).map_or("–".into(), |r| growth_cell(r, *restart)));
		}
		// An attack ended at the ceiling has no growth to compare.
		let growth_of = |l: &str| find(l, attack).filter(|r| *restart || text(r, "ceiling_hit") != "1").and_then(|r| growth(r, *restart));
		let ours = growth_of("xerra");
		for p in &peers {
			let theirs = growth_of(p);
			match (ours, theirs) {
				(Some(a), Some(b)) if b >= RATIO_FLOOR_MIB => {
					let _ = write!(out, " {:.2} |", a / b);
				}
				_ => out.push_str(" – |"),
			}
		}
		out.push('\n');
	}
	out.push_str(&table(
		"A normal client during the attack: two logins and one message there and back (after the restart for the last row)",
		&|r, _, restart| probe_cell(r, if restart { "restart_probe" } else { "probe" }),
	));
	out.push_str(&table(&format!("RSS (MiB): idle → {after} s after the attack ended"), &|r, _, restart| memory_cell(r, restart)));
	out.push_str(&table("What was sent, and what the server did with it", &|r, a, restart| details_cell(r, a, restart)));
	if labels.iter().any(|l| l == "xerra") {
		let _ = write!(
			out,
			"\nXerra against the target: growth ≤ {TARGET_GROWTH_MIB:.0} MiB, the normal client logs in and chats, RSS within {NEAR_IDLE_MIB:.0} MiB of idle {after} s after\n\n| attack | xerra |\n|---|---|\n"
		);
		for (attack, restart) in &have {
			if let Some(r) = find("xerra", attack) {
				let _ = writeln!(out, "| {} | {} |", row_name(attack, *restart), target_cell(r, *restart));
			}
		}
	}
	out
}
