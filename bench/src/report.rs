//! `xmppbench report DIR`: one markdown table from the result lines in
//! DIR/*.txt, a column per server and the ratios Xerra/peer.

use std::collections::BTreeMap;

pub(crate) type Row = BTreeMap<String, String>;
type Pick = Box<dyn Fn(&[Row]) -> Option<f64>>;

fn parse_line(line: &str) -> Option<Row> {
	let row: Row = line.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
	(row.contains_key("label") && row.contains_key("scenario")).then_some(row)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
	if v.is_empty() {
		return None;
	}
	v.sort_by(f64::total_cmp);
	Some(v[v.len() / 2])
}

/// One metric: its name (with unit), how to pick it from one server's rows
/// (the median over repeated runs), and how many decimals to show.
struct Metric {
	name: String,
	pick: Pick,
	decimals: usize,
}

fn values(rows: &[Row], scenario: &str, filter: &dyn Fn(&Row) -> bool, key: &str) -> Vec<f64> {
	rows.iter().filter(|r| r["scenario"] == scenario && filter(r)).filter_map(|r| r.get(key)?.parse().ok()).collect()
}

fn metric(
	name: &str,
	scenario: &'static str,
	key: &'static str,
	scale: f64,
	decimals: usize,
	filter: impl Fn(&Row) -> bool + 'static,
) -> Metric {
	Metric { name: name.to_string(), pick: Box::new(move |rows| median(values(rows, scenario, &filter, key)).map(|v| v * scale)), decimals }
}

fn all(_: &Row) -> bool {
	true
}

pub fn report(dir: &str) -> Result<(), String> {
	let mut by_label: BTreeMap<String, Vec<Row>> = BTreeMap::new();
	let entries = std::fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))?;
	for e in entries.filter_map(Result::ok) {
		if e.path().extension().is_some_and(|x| x == "txt") {
			let text = std::fs::read_to_string(e.path()).map_err(|err| err.to_string())?;
			for row in text.lines().filter_map(parse_line) {
				by_label.entry(row["label"].clone()).or_default().push(row);
			}
		}
	}
	let mut sizes: Vec<usize> =
		by_label.values().flatten().filter(|r| r["scenario"] == "sessions").filter_map(|r| r.get("n")?.parse().ok()).collect();
	sizes.sort_unstable();
	sizes.dedup();
	let mut metrics = vec![
		metric("idle RSS (MiB)", "idle", "rss_kb", 1.0 / 1024.0, 1, all),
		metric("idle PSS (MiB)", "idle", "pss_kb", 1.0 / 1024.0, 1, all),
	];
	for n in sizes.clone() {
		let is_n = move |r: &Row| r.get("n").is_some_and(|v| *v == n.to_string());
		metrics.push(metric(&format!("RSS with {n} sessions (MiB)"), "sessions", "rss_kb", 1.0 / 1024.0, 1, is_n));
		metrics.push(metric(&format!("RSS per session at {n} (KiB)"), "sessions", "rss_per_session_kb", 1.0, 1, is_n));
		metrics.push(metric(&format!("PSS per session at {n} (KiB)"), "sessions", "pss_per_session_kb", 1.0, 1, is_n));
		metrics.push(metric(&format!("server CPU per login, {n} logins (ms)"), "sessions", "cpu_ms_per_login", 1.0, 2, is_n));
		metrics.push(metric(&format!("logins/s ({n})"), "sessions", "logins_per_s", 1.0, 0, is_n));
		metrics.push(metric(&format!("RSS after {n} left (MiB)"), "sessions", "rss_after_leave_kb", 1.0 / 1024.0, 1, is_n));
	}
	metrics.extend([
		metric("msgs/s, saturated", "msgs", "msgs_per_s", 1.0, 0, all),
		metric("latency p50 / saturated (ms)", "msgs", "p50_ms", 1.0, 1, all),
		metric("latency p99 / saturated (ms)", "msgs", "p99_ms", 1.0, 1, all),
		metric("server CPU per 1000 msgs (ms)", "msgs", "cpu_ms_per_1000", 1.0, 1, all),
		metric("latency p50 / paced (ms)", "msgs_paced", "p50_ms", 1.0, 2, all),
		metric("latency p99 / paced (ms)", "msgs_paced", "p99_ms", 1.0, 2, all),
		metric("MUC fan-out: deliveries/s", "muc", "deliveries_per_s", 1.0, 0, all),
		metric("MUC fan-out: latency p50 (ms)", "muc", "p50_ms", 1.0, 2, all),
		metric("MUC fan-out: latency p99 (ms)", "muc", "p99_ms", 1.0, 2, all),
		metric("MUC fan-out: server CPU per 1000 deliveries (ms)", "muc", "cpu_ms_per_1000", 1.0, 1, all),
		metric("MUC: RSS per occupant (KiB)", "muc", "rss_per_occupant_kb", 1.0, 1, all),
		metric("MUC fan-out paced: latency p50 (ms)", "muc_paced", "p50_ms", 1.0, 2, all),
		metric("MUC fan-out paced: latency p99 (ms)", "muc_paced", "p99_ms", 1.0, 2, all),
		metric("offline: bytes on disk per message", "offline", "bytes_per_msg", 1.0, 0, all),
		metric("offline: server CPU per 1000 stored (ms)", "offline", "store_cpu_ms_per_1000", 1.0, 1, all),
		metric("offline: flush of 1000 at login (s)", "offline", "flush_s", 1.0, 3, all),
		metric("login with 200 contacts: server CPU (ms)", "roster", "cpu_ms_per_login", 1.0, 2, all),
		metric("login with 200 contacts: p50 (ms)", "roster", "login_p50_ms", 1.0, 1, all),
		metric("startup to listening (ms)", "static", "startup_ms", 1.0, 0, all),
		metric("stripped binary (KiB)", "static", "binary_bytes", 1.0 / 1024.0, 0, all),
		metric("instructions, fixed scenario (millions)", "callgrind", "instructions", 1e-6, 1, all),
	]);
	let mut labels: Vec<String> = by_label.keys().cloned().collect();
	// Xerra first, then the peers in name order.
	labels.sort_by_key(|l| (l != "xerra", l.clone()));
	let peers: Vec<&String> = labels.iter().filter(|l| *l != "xerra").collect();
	let mut out = String::from("| metric |");
	for l in &labels {
		out.push_str(&format!(" {l} |"));
	}
	for p in &peers {
		out.push_str(&format!(" xerra/{p} |"));
	}
	out.push_str("\n|---|");
	out.push_str(&"---:|".repeat(labels.len() + peers.len()));
	out.push('\n');
	let head = out.len();
	for m in &metrics {
		let vals: Vec<Option<f64>> = labels.iter().map(|l| (m.pick)(&by_label[l])).collect();
		if vals.iter().all(Option::is_none) {
			continue;
		}
		out.push_str(&format!("| {} |", m.name));
		for v in &vals {
			match v {
				Some(v) => out.push_str(&format!(" {v:.*} |", m.decimals)),
				None => out.push_str(" – |"),
			}
		}
		let ours = labels.iter().position(|l| l == "xerra").and_then(|i| vals[i]);
		for p in &peers {
			let theirs = labels.iter().position(|l| l == *p).and_then(|i| vals[i]);
			match (ours, theirs) {
				(Some(a), Some(b)) if b != 0.0 => out.push_str(&format!(" {:.2} |", a / b)),
				_ => out.push_str(" – |"),
			}
		}
		out.push('\n');
	}
	// Only abuse lines: no main table.
	if out.len() == head {
		out.clear();
	}
	out.push_str(&crate::abuse::report::tables(&by_label, &labels));
	print!("{out}");
	Ok(())
}
