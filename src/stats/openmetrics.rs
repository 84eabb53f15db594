//! `/metrics` on the web page's port: OpenMetrics 1.0 text (or the older
//! Prometheus text format 0.0.4 for scrapers that do not ask for
//! OpenMetrics), for loopback and `metrics_allow` only. Names follow the
//! Prometheus conventions: `process_*` as every client library writes them,
//! ours under `xerra_`, base units (bytes, seconds), `_total` on counters.

use std::fmt::Write as _;

use super::sampler::{Process, Storage};
use super::{ConnKind, Counters, StanzaKind, Tls};
use crate::http::{Request, Response};
use crate::server::App;

pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Everything one scrape shows.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
	pub process: Process,
	pub start_time: f64,
	pub counters: Counters,
	pub sessions: u64,
	pub storage: Option<Storage>,
	pub active: Option<[u64; 3]>,
}

enum Kind {
	Counter,
	Gauge,
}

struct Out {
	text: String,
	openmetrics: bool,
}

impl Out {
	/// A family's HELP/TYPE (and UNIT) lines. `name` is the sample name; a
	/// counter's family drops `_total` in OpenMetrics.
	fn family(&mut self, name: &str, kind: Kind, unit: Option<&str>, help: &str) {
		let (family, ty) = match kind {
			Kind::Counter if self.openmetrics => (name.strip_suffix("_total").unwrap_or(name), "counter"),
			Kind::Counter => (name, "counter"),
			Kind::Gauge => (name, "gauge"),
		};
		let _ = writeln!(self.text, "# HELP {family} {help}");
		let _ = writeln!(self.text, "# TYPE {family} {ty}");
		if let (Some(u), true) = (unit, self.openmetrics) {
			let _ = writeln!(self.text, "# UNIT {family} {u}");
		}
	}

	fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
		self.text.push_str(name);
		if !labels.is_empty() {
			self.text.push('{');
			for (i, (k, v)) in labels.iter().enumerate() {
				// Label values here are ours (kinds, versions), never a peer's.
				let _ = write!(self.text, "{}{k}=\"{v}\"", if i > 0 { "," } else { "" });
			}
			self.text.push('}');
		}
		let _ = writeln!(self.text, " {value}");
	}

	fn one(&mut self, name: &str, kind: Kind, unit: Option<&str>, help: &str, value: impl std::fmt::Display) {
		self.family(name, kind, unit, help);
		self.sample(name, &[], value);
	}
}

/// The exposition text (pure). `openmetrics`: OpenMetrics 1.0 with `# EOF`;
/// else the Prometheus text format 0.0.4.
pub fn render(m: &Metrics, openmetrics: bool) -> String {
	let mut o = Out { text: String::with_capacity(4096), openmetrics };
	let c = &m.counters;
	o.one(
		"process_cpu_seconds_total",
		Kind::Counter,
		Some("seconds"),
		"Total user and system CPU time spent in seconds.",
		m.process.cpu_seconds,
	);
	o.one("process_resident_memory_bytes", Kind::Gauge, Some("bytes"), "Resident memory size in bytes.", m.process.rss_bytes);
	o.one("process_open_fds", Kind::Gauge, None, "Number of open file descriptors.", m.process.open_fds);
	o.one(
		"process_start_time_seconds",
		Kind::Gauge,
		Some("seconds"),
		"Start time of the process since unix epoch in seconds.",
		m.start_time,
	);
	o.family("xerra_connections", Kind::Gauge, None, "Open connections by kind and TLS version.");
	for k in ConnKind::ALL {
		for t in Tls::ALL {
			o.sample("xerra_connections", &[("kind", k.name()), ("tls", t.name())], c.conns[k as usize][t as usize]);
		}
	}
	o.one("xerra_sessions", Kind::Gauge, None, "Bound client sessions (resources).", m.sessions);
	o.one("xerra_sm_resumptions_total", Kind::Counter, None, "Stream management sessions resumed (XEP-0198).", c.sm_resumptions);
	for (name, values, help) in [
		("xerra_stanzas_in_total", &c.stanzas_in, "Stanzas received from clients, servers and components."),
		("xerra_stanzas_out_total", &c.stanzas_out, "Stanzas sent to clients, servers and components."),
	] {
		o.family(name, Kind::Counter, None, help);
		for k in StanzaKind::ALL {
			o.sample(name, &[("kind", k.name())], values[k as usize]);
		}
	}
	o.one("xerra_s2s_links", Kind::Gauge, None, "Authenticated links with other servers.", c.s2s_links);
	o.one("xerra_logins_total", Kind::Counter, None, "Successful client logins (sessions bound).", c.logins);
	o.one("xerra_login_failures_total", Kind::Counter, None, "Failed client authentications.", c.login_failures);
	if let Some(s) = m.storage {
		o.one("xerra_archive_messages", Kind::Gauge, None, "Messages in all message archives (XEP-0313).", s.archive_messages);
		o.one("xerra_database_bytes", Kind::Gauge, Some("bytes"), "Size of the database file.", s.db_bytes);
		o.one("xerra_upload_bytes", Kind::Gauge, Some("bytes"), "Size of the uploaded files kept (XEP-0363).", s.upload_bytes);
	}
	if let Some(a) = m.active {
		o.family("xerra_active_accounts", Kind::Gauge, None, "Accounts that logged in within the window.");
		for (w, n) in ["1d", "7d", "30d"].into_iter().zip(a) {
			o.sample("xerra_active_accounts", &[("window", w)], n);
		}
	}
	if openmetrics {
		o.text.push_str("# EOF\n");
	}
	o.text
}

/// Whether the scraper asked for OpenMetrics.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
	accept.is_some_and(|a| a.to_ascii_lowercase().contains("application/openmetrics-text"))
}

/// `GET /metrics`: 404 with `statistics` off, 403 for addresses neither
/// loopback nor in `metrics_allow`, 503 before the box is set up.
pub async fn answer(app: &App, req: &Request) -> Response {
	let config = app.config();
	if !config.statistics {
		return Response::text(404, "statistics are off\n");
	}
	if !super::cidr::metrics_allowed(req.peer.ip(), &config.metrics_allow) {
		return Response::text(403, "forbidden: not in metrics_allow\n");
	}
	let server = app.server.borrow().clone();
	let Some(server) = server else { return Response::text(503, "not set up yet\n") };
	// Fresh for each scrape, off the executor: /proc and the storage sums
	// (O(accounts) reads of two small tables).
	let (store, dir) = (server.store.clone(), server.config.data_dir.clone());
	let (process, storage) = blocking::unblock(move || (super::sampler::read_process(), super::sampler::read_storage(&store, &dir))).await;
	let stats = server.stats.as_ref();
	let uptime = server.started.elapsed().as_secs_f64();
	let m = Metrics {
		process,
		start_time: (super::sampler::unix_now() as f64 - uptime).round(),
		counters: super::now(),
		sessions: server.sessions.borrow().count() as u64,
		storage: Some(storage),
		active: stats.and_then(|s| s.active.get()),
	};
	let om = wants_openmetrics(req.header("accept"));
	Response::new(200, if om { OPENMETRICS } else { TEXT }, render(&m, om))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn sample() -> Metrics {
		let mut m =
			Metrics { sessions: 2, storage: Some(Storage { db_bytes: 4096, upload_bytes: 0, archive_messages: 9 }), ..Metrics::default() };
		m.process = Process { cpu_seconds: 1.5, rss_bytes: 8 << 20, open_fds: 12 };
		m.counters.conns[ConnKind::C2s as usize][Tls::V1_3 as usize] = 2;
		m.counters.stanzas_in[StanzaKind::Message as usize] = 5;
		m.counters.logins = 3;
		m.active = Some([1, 2, 3]);
		m
	}

	#[test]
	fn openmetrics_families_units_and_eof() {
		let t = render(&sample(), true);
		assert!(t.ends_with("# EOF\n"));
		assert!(
			t.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\nprocess_cpu_seconds_total 1.5\n"),
			"{t}"
		);
		assert!(t.contains(
			"# TYPE process_resident_memory_bytes gauge\n# UNIT process_resident_memory_bytes bytes\nprocess_resident_memory_bytes 8388608\n"
		));
		assert!(t.contains("xerra_connections{kind=\"c2s\",tls=\"1.3\"} 2\n"));
		assert!(t.contains("xerra_connections{kind=\"websocket\",tls=\"none\"} 0\n"));
		assert!(t.contains("# TYPE xerra_stanzas_in counter\n"));
		assert!(t.contains("xerra_stanzas_in_total{kind=\"message\"} 5\n"));
		assert!(t.contains("xerra_sessions 2\n"));
		assert!(t.contains("xerra_active_accounts{window=\"30d\"} 3\n"));
		assert!(t.contains("xerra_archive_messages 9\n"));
		// Every family is announced once, and every sample belongs to one.
		let families: Vec<&str> = t.lines().filter_map(|l| l.strip_prefix("# TYPE ")).map(|l| l.split(' ').next().unwrap()).collect();
		let mut unique = families.clone();
		unique.sort();
		unique.dedup();
		assert_eq!(unique.len(), families.len());
		for l in t.lines().filter(|l| !l.starts_with('#')) {
			let name = l.split(['{', ' ']).next().unwrap();
			assert!(families.iter().any(|f| name == *f || name == format!("{f}_total")), "{name} has no family");
		}
	}

	#[test]
	fn the_older_text_format_keeps_total_in_type_and_has_no_eof() {
		let t = render(&sample(), false);
		assert!(t.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"), "{t}");
		assert!(!t.contains("# EOF") && !t.contains("# UNIT"));
		assert!(wants_openmetrics(Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")));
		assert!(!wants_openmetrics(Some("text/plain")));
		assert!(!wants_openmetrics(None));
	}

	#[test]
	fn storage_and_active_people_are_left_out_until_measured() {
		let t = render(&Metrics::default(), true);
		assert!(!t.contains("xerra_database_bytes") && !t.contains("xerra_active_accounts"));
		assert!(t.contains("xerra_sessions 0\n"));
	}
}
