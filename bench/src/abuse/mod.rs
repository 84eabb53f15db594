//! The `abuse` scenario: one attacking host (127.0.0.1) does one thing a
//! misbehaving or hostile client can do within the server's limits, while
//! the server's process tree RSS is sampled every 50 ms; meanwhile a normal
//! client from another address (127.0.0.2) logs in and chats. One result
//! line per attack: idle RSS, peak growth, the normal client's login and
//! round trip, RSS some seconds after the attack ended, and what the server
//! did with the attacking connections (a connection it closed is a defence,
//! recorded with its stream error condition).
//!
//! Every step has a deadline, so a server that stops answering makes a
//! slow result line, never a hung run.

mod attacks;
pub mod report;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use futures_lite::FutureExt as _;

use crate::client::{self, KeyCache, Session, Target};
use crate::procfs;
use crate::scenarios::{Opts, bare, emit};

/// The attacks, in the order of the report, with what each does (full size;
/// `--scale` multiplies the counts).
pub const ATTACKS: &[(&str, &str)] = &[
	("preauth-c2s-tls", "100 c2s connections, each after STARTTLS+TLS sends an unfinished 15.7 KB <iq> (4000-char namespace, 2900 <a/>)"),
	("preauth-c2s-plain", "the same without TLS, before STARTTLS"),
	("preauth-s2s-tls", "50 s2s connections from a made-up domain, after STARTTLS+TLS, before dialback, the same unfinished <iq>"),
	("preauth-s2s-plain", "the same without TLS"),
	(
		"halfsent-one",
		"one logged-in client sends 246 KB of one <message> (<a/> children of an element with a 4000-char namespace) and stops before its end",
	),
	("halfsent-many", "the same from 100 logged-in clients"),
	(
		"sm-noack",
		"a client enables stream management (resume) and never acks, reading everything; 100 x 240 KB messages (<a/> children) to it",
	),
	("never-read", "a client stops reading its socket; 100 x 240 KB messages to it"),
	("muc-history", "4 rooms, 20 x 240 KB messages to each (the history)"),
	("csi", "a contact (mutual subscription) goes inactive (XEP-0352); 100 x 200 KB presence updates (<a/> children) to it"),
	("rooms-restart", "3 persistent rooms with 20 x 240 KB messages each; the server restarts: RSS right after"),
	("sm-noack-text", "sm-noack with messages of text (240 KB), which every server takes: the unacknowledged queue itself"),
	("never-read-text", "never-read with messages of text"),
	("csi-text", "csi with chat states of 200 KB text (they wait for an inactive client; presence would replace itself)"),
	("muc-history-text", "muc-history with messages of text"),
	("rooms-restart-text", "rooms-restart with messages of text"),
];

/// The normal clients' address: another host than the attacker's.
const PROBE_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// The normal clients (users 1 and 2); the attacks use 3 and up.
const PROBE_USERS: (usize, usize) = (1, 2);
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// Login + round trip of the normal client, at most.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Setting an attack up (connections, logins, the flood) takes at most this.
const SETUP_LIMIT: Duration = Duration::from_secs(450);
/// The default RSS ceiling, MiB (or a quarter of the free memory, if less).
const CEILING_MIB: u64 = 4096;

/// The stanza limits of the server under test; each attack sizes its
/// stanzas to fit under them (the report says when that is below the
/// attack's own size).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
	pub c2s_preauth: usize,
	pub c2s_stanza: usize,
	pub s2s_preauth: usize,
	/// Most elements in one stanza (Prosody has such a limit).
	pub children: usize,
}

impl Limits {
	fn parse(text: &str) -> Result<Limits, String> {
		// Xerra's: 16 KiB before authentication, max_stanza_bytes after.
		let mut l = Limits { c2s_preauth: 16384, c2s_stanza: 262_144, s2s_preauth: 16384, children: usize::MAX };
		for kv in text.split(',').filter(|s| !s.is_empty()) {
			let (k, v) = kv.split_once('=').ok_or_else(|| format!("--limits: {kv:?} is not name=bytes"))?;
			let v: usize = v.parse().map_err(|_| format!("--limits: {v:?} is not a number"))?;
			match k {
				"c2s_preauth" => l.c2s_preauth = v,
				"c2s_stanza" => l.c2s_stanza = v,
				"s2s_preauth" => l.s2s_preauth = v,
				"children" => l.children = v,
				_ => return Err(format!("--limits: unknown {k}")),
			}
		}
		Ok(l)
	}
}

/// Result fields, in order.
pub type Fields = Vec<(String, String)>;

pub fn field(fields: &mut Fields, k: &str, v: impl ToString) {
	// Result lines are split at white space: keep values in one word.
	let v: String = v.to_string().chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
	fields.push((k.to_string(), if v.is_empty() { "-".into() } else { v }));
}

/// What the attack thread needs.
pub struct Ctx {
	pub target: Target,
	pub scale: f64,
	pub limits: Limits,
	pub s2s_port: u16,
	pub concurrency: usize,
	/// Set when the attack is to end: every attacking connection closes.
	pub stop: Arc<AtomicBool>,
	/// Set when the server grew past the ceiling: nothing more is sent, but
	/// what is in place is held until `stop`.
	pub enough: Arc<AtomicBool>,
	/// The server's RSS as last sampled, KiB.
	pub rss: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl Ctx {
	/// No more sending: the attack ends, or the server is past the ceiling.
	pub fn no_more(&self) -> bool {
		self.stop.load(Ordering::Relaxed) || self.enough.load(Ordering::Relaxed)
	}
}

impl Ctx {
	/// A full-size count, scaled.
	pub fn n(&self, full: usize) -> usize {
		((full as f64 * self.scale).round() as usize).max(1)
	}
}

/// The normal client's try: users 1 and 2 log in from 127.0.0.2 and one
/// message goes there and back.
struct Probe {
	result: Result<(), String>,
	login_ms: f64,
	rtt_ms: f64,
	total_ms: f64,
}

fn probe(t: &Target, token: &str) -> Probe {
	let start = Instant::now();
	let mut login_ms = 0.0;
	let mut rtt_ms = 0.0;
	let work = async {
		let tls = client::tls_connector();
		let keys = std::cell::RefCell::new(KeyCache::default());
		let (a, b) = futures_lite::future::zip(
			client::login_from(t, PROBE_USERS.0, &tls, &keys, Some(PROBE_SOURCE)),
			client::login_from(t, PROBE_USERS.1, &tls, &keys, Some(PROBE_SOURCE)),
		)
		.await;
		let ((mut a, _), (mut b, _)) = (a?, b?);
		login_ms = start.elapsed().as_secs_f64() * 1000.0;
		let sent = Instant::now();
		a.send(&format!("<message type='chat' to='{}'><body>ping {token}</body></message>", bare(&b.jid))).await?;
		wait_body(&mut b, &format!("ping {token}")).await?;
		b.send(&format!("<message type='chat' to='{}'><body>pong {token}</body></message>", bare(&a.jid))).await?;
		wait_body(&mut a, &format!("pong {token}")).await?;
		rtt_ms = sent.elapsed().as_secs_f64() * 1000.0;
		a.close().await;
		b.close().await;
		Ok::<(), String>(())
	};
	let result = async_io::block_on(work.or(async {
		async_io::Timer::after(PROBE_TIMEOUT).await;
		Err(format!("no login and round trip within {} s", PROBE_TIMEOUT.as_secs()))
	}));
	Probe { result, login_ms, rtt_ms, total_ms: start.elapsed().as_secs_f64() * 1000.0 }
}

async fn wait_body(s: &mut Session, body: &str) -> Result<(), String> {
	loop {
		let el = s.next(PROBE_TIMEOUT).await?;
		if el.name() == "message" && el.children().any(|c| c.name() == "body" && c.text() == body) {
			return Ok(());
		}
	}
}

fn probe_fields(fields: &mut Fields, prefix: &str, p: &Probe) {
	match &p.result {
		Ok(()) => {
			field(fields, prefix, "ok");
			field(fields, &format!("{prefix}_ms"), format!("{:.0}", p.total_ms));
			field(fields, &format!("{prefix}_login_ms"), format!("{:.0}", p.login_ms));
			field(fields, &format!("{prefix}_rtt_ms"), format!("{:.1}", p.rtt_ms));
		}
		Err(e) => {
			field(fields, prefix, "failed");
			field(fields, &format!("{prefix}_ms"), format!("{:.0}", p.total_ms));
			field(fields, &format!("{prefix}_error"), e);
		}
	}
}

pub fn run(o: &Opts) -> Result<(), String> {
	let name = o.attack.as_str();
	if !ATTACKS.iter().any(|(a, _)| *a == name) {
		let names: Vec<&str> = ATTACKS.iter().map(|(a, _)| *a).collect();
		return Err(format!("--attack must be one of {}", names.join(", ")));
	}
	let limits = Limits::parse(&o.limits)?;
	std::thread::sleep(o.settle);
	// A normal client first: the setup works, and the first login's
	// warm-up (code paths, caches) does not count as the attack's growth.
	let before = probe(&o.target, "before");
	if let Err(e) = &before.result {
		let mut fields = Fields::new();
		field(&mut fields, "attack", name);
		field(&mut fields, "error", format!("before the attack, a normal client could not log in and chat: {e}"));
		let refs: Vec<(&str, String)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
		emit(o, "abuse", &refs);
		return Err(format!("before the attack, a normal client could not log in and chat: {e}"));
	}
	std::thread::sleep(Duration::from_secs(1));
	let (idle_kb, _) = procfs::memory(o.pid);
	eprintln!("[{}] abuse {name}: idle RSS {:.1} MiB; attacking", o.label, idle_kb as f64 / 1024.0);

	let stop = Arc::new(AtomicBool::new(false));
	let enough = Arc::new(AtomicBool::new(false));
	let ceiling_mib = o.rss_ceiling_mib.unwrap_or_else(|| CEILING_MIB.min(procfs::mem_available_kb().unwrap_or(u64::MAX) / 4096));
	let sampler = procfs::Sampler::start(o.pid, SAMPLE_EVERY, Some((idle_kb + ceiling_mib * 1024, enough.clone())));
	let ctx = Ctx {
		target: o.target.clone(),
		scale: o.scale,
		limits,
		s2s_port: o.s2s_port,
		concurrency: o.concurrency,
		stop: stop.clone(),
		enough: enough.clone(),
		rss: Box::new(sampler.reader()),
	};
	let (placed_tx, placed_rx) = mpsc::channel::<()>();
	let (done_tx, done_rx) = mpsc::channel::<Result<Fields, String>>();
	let started = Instant::now();
	let attack = name.to_owned();
	std::thread::spawn(move || {
		let _ = done_tx.send(attacks::run(&ctx, &attack, placed_tx));
	});
	// In place: every connection set up, every stanza sent (or given up on).
	let _ = placed_rx.recv_timeout(SETUP_LIMIT);
	let placed = started.elapsed();
	let during = probe(&o.target, "during");
	std::thread::sleep((started + placed + o.hold).saturating_duration_since(Instant::now()));
	stop.store(true, Ordering::Relaxed);
	let ceiling_hit = enough.load(Ordering::Relaxed);
	let attack_result = done_rx.recv_timeout(Duration::from_secs(60));
	let ended = started.elapsed();
	std::thread::sleep(o.after);
	let alive = procfs::alive(o.pid);
	let (after_kb, _) = procfs::memory(o.pid);
	let seen = sampler.stop();

	let mut fields = Fields::new();
	field(&mut fields, "attack", name);
	match attack_result {
		Ok(Ok(f)) => fields.extend(f),
		Ok(Err(e)) => field(&mut fields, "error", e),
		Err(_) => field(&mut fields, "error", "the attack did not end within 60 s of being stopped"),
	}
	field(&mut fields, "idle_rss_kb", idle_kb);
	field(&mut fields, "peak_rss_kb", seen.peak_kb);
	field(&mut fields, "growth_kb", seen.peak_kb.saturating_sub(idle_kb));
	field(&mut fields, "peak_at_s", format!("{:.1}", seen.peak_at.as_secs_f64()));
	field(&mut fields, "placed_s", format!("{:.1}", placed.as_secs_f64()));
	field(&mut fields, "ended_s", format!("{:.1}", ended.as_secs_f64()));
	field(&mut fields, "hold_s", o.hold.as_secs_f64());
	field(&mut fields, "ceiling_mib", ceiling_mib);
	field(&mut fields, "ceiling_hit", u8::from(ceiling_hit));
	probe_fields(&mut fields, "probe_before", &before);
	probe_fields(&mut fields, "probe", &during);
	field(&mut fields, "after_s", o.after.as_secs_f64());
	field(&mut fields, "after_rss_kb", after_kb);
	field(&mut fields, "server_alive", u8::from(alive && !seen.died));
	if name.starts_with("rooms-restart") && alive {
		restart(o, idle_kb, &mut fields);
	}
	let f = |k: &str| fields.iter().find(|(n, _)| n == k).map_or("-", |(_, v)| v.as_str()).to_owned();
	eprintln!(
		"[{}] abuse {name}: idle {:.1} MiB, peak +{:.1} MiB, normal client {} ({} ms), after {:.1} MiB{}",
		o.label,
		idle_kb as f64 / 1024.0,
		seen.peak_kb.saturating_sub(idle_kb) as f64 / 1024.0,
		f("probe"),
		f("probe_ms"),
		after_kb as f64 / 1024.0,
		if f("error") != "-" { format!(", error: {}", f("error")) } else { String::new() }
	);
	let refs: Vec<(&str, String)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
	emit(o, "abuse", &refs);
	Ok(())
}

/// rooms-restart, second half: restart the server (its data kept), then its
/// RSS right after start and over the next seconds, a normal client, and how
/// much room history came back.
fn restart(o: &Opts, idle_kb: u64, fields: &mut Fields) {
	let Some(cmd) = &o.restart else {
		field(fields, "restart", "not-possible");
		return;
	};
	let t0 = Instant::now();
	let out = std::process::Command::new("sh").arg("-c").arg(cmd).stderr(std::process::Stdio::inherit()).output();
	let restart_ms = t0.elapsed().as_secs_f64() * 1000.0;
	let pid = match &out {
		Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).lines().last().and_then(|l| l.trim().parse::<u32>().ok()),
		_ => None,
	};
	let Some(pid) = pid.filter(|p| procfs::alive(*p)) else {
		field(fields, "restart", "failed");
		field(fields, "restart_ms", format!("{restart_ms:.0}"));
		return;
	};
	let (first_kb, _) = procfs::memory(pid);
	let sampler = procfs::Sampler::start(pid, SAMPLE_EVERY, None);
	std::thread::sleep(o.settle.max(Duration::from_secs(3)));
	let seen = sampler.stop();
	let peak = seen.peak_kb.max(first_kb);
	field(fields, "restart", "ok");
	field(fields, "restart_pid", pid);
	field(fields, "restart_ms", format!("{restart_ms:.0}"));
	field(fields, "restart_rss_kb", first_kb);
	field(fields, "restart_peak_kb", peak);
	field(fields, "restart_growth_kb", peak.saturating_sub(idle_kb));
	let p = probe(&o.target, "restarted");
	probe_fields(fields, "restart_probe", &p);
	match attacks::room_history(&o.target, PROBE_SOURCE, PROBE_USERS.0) {
		Ok(n) => field(fields, "history_after_restart", n),
		Err(e) => field(fields, "history_after_restart_error", e),
	}
	let (end_kb, _) = procfs::memory(pid);
	field(fields, "restart_end_rss_kb", end_kb);
	field(fields, "restart_alive", u8::from(procfs::alive(pid)));
}
