//! The scenarios. Load runs on `--threads` OS threads, each with its own
//! single-threaded executor; results come back over channels.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_executor::LocalExecutor;

use crate::client::{self, KeyCache, Session, Target};
use crate::procfs;

/// Parsed command line.
pub(crate) struct Opts {
	scenario: String,
	pub(crate) pid: u32,
	pub(crate) label: String,
	pub(crate) target: Target,
	threads: usize,
	pub(crate) concurrency: usize,
	pub(crate) settle: Duration,
	sessions: Vec<usize>,
	pairs: usize,
	duration: Duration,
	window: usize,
	rate: f64,
	size: usize,
	repeats: usize,
	count: usize,
	pub(crate) contacts: usize,
	pub(crate) logins: usize,
	occupants: usize,
	senders: usize,
	data_dir: Option<std::path::PathBuf>,
	positional: Vec<String>,
	/// `--count` was on the command line (msgs then runs by count).
	count_given: bool,
	/// abuse: which attack, counts scaled by `scale`, held for `hold`, RSS
	/// read again `after` it ended; the server's stanza limits
	/// (`c2s_preauth=N,c2s_stanza=N,s2s_preauth=N,children=N`), its s2s
	/// port, and a command that restarts it and prints the new PID.
	pub(crate) attack: String,
	pub(crate) scale: f64,
	pub(crate) hold: Duration,
	pub(crate) after: Duration,
	pub(crate) limits: String,
	pub(crate) s2s_port: u16,
	pub(crate) restart: Option<String>,
	/// abuse: an attack that takes the server past this much RSS (MiB) is
	/// ended early, so the bench machine is not pushed into swap or OOM.
	pub(crate) rss_ceiling_mib: Option<u64>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
	let mut o = Opts {
		scenario: args[0].clone(),
		pid: 0,
		label: "server".into(),
		target: Target { host: "127.0.0.1".into(), port: 5222, domain: "bench.local".into(), prefix: "user".into(), password: "pw".into() },
		threads: 2,
		concurrency: 50,
		settle: Duration::from_secs(5),
		sessions: vec![1000],
		pairs: 50,
		duration: Duration::from_secs(15),
		window: 8,
		rate: 0.0,
		size: 64,
		repeats: 1,
		count: 1000,
		contacts: 200,
		logins: 50,
		occupants: 50,
		senders: 5,
		data_dir: None,
		positional: Vec::new(),
		count_given: false,
		attack: String::new(),
		scale: 1.0,
		hold: Duration::from_secs(20),
		after: Duration::from_secs(15),
		limits: String::new(),
		s2s_port: 5269,
		restart: None,
		rss_ceiling_mib: None,
	};
	let mut it = args[1..].iter();
	while let Some(a) = it.next() {
		if !a.starts_with("--") {
			o.positional.push(a.clone());
			continue;
		}
		let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
		let num = || v.parse::<f64>().map_err(|_| format!("{a}: {v:?} is not a number"));
		match a.as_str() {
			"--pid" => o.pid = num()? as u32,
			"--label" => o.label = v.clone(),
			"--host" => o.target.host = v.clone(),
			"--port" => o.target.port = num()? as u16,
			"--domain" => o.target.domain = v.clone(),
			"--prefix" => o.target.prefix = v.clone(),
			"--password" => o.target.password = v.clone(),
			"--threads" => o.threads = (num()? as usize).max(1),
			"--concurrency" => o.concurrency = (num()? as usize).max(1),
			"--settle" => o.settle = Duration::from_secs_f64(num()?),
			"--sessions" => {
				o.sessions = v
					.split(',')
					.filter(|s| !s.is_empty())
					.map(|s| s.parse().map_err(|_| format!("--sessions: {s:?}")))
					.collect::<Result<_, _>>()?
			}
			"--pairs" => o.pairs = num()? as usize,
			"--duration" => o.duration = Duration::from_secs_f64(num()?),
			"--window" => o.window = (num()? as usize).max(1),
			"--rate" => o.rate = num()?,
			"--size" => o.size = num()? as usize,
			"--repeats" => o.repeats = num()? as usize,
			"--count" => {
				o.count = num()? as usize;
				o.count_given = true;
			}
			"--contacts" => o.contacts = num()? as usize,
			"--logins" => o.logins = num()? as usize,
			"--occupants" => o.occupants = (num()? as usize).max(2),
			"--senders" => o.senders = (num()? as usize).max(1),
			"--data-dir" => o.data_dir = Some(v.into()),
			"--attack" => o.attack = v.clone(),
			"--scale" => o.scale = num()?.clamp(0.001, 100.0),
			"--hold" => o.hold = Duration::from_secs_f64(num()?),
			"--after" => o.after = Duration::from_secs_f64(num()?),
			"--limits" => o.limits = v.clone(),
			"--s2s-port" => o.s2s_port = num()? as u16,
			"--restart" => o.restart = Some(v.clone()),
			"--rss-ceiling" => o.rss_ceiling_mib = Some(num()? as u64),
			_ => return Err(format!("unknown option {a}")),
		}
	}
	if o.scenario != "report" && (o.pid == 0 || !procfs::alive(o.pid)) {
		return Err("--pid must name the running server".into());
	}
	Ok(o)
}

pub fn run(args: &[String]) -> Result<(), String> {
	let o = parse(args)?;
	match o.scenario.as_str() {
		"idle" => idle(&o),
		"sessions" => sessions(&o),
		"msgs" => msgs(&o),
		"offline" => offline(&o),
		"roster" => roster(&o),
		"reconnect" => crate::reconnect::reconnect(&o),
		"muc" => muc(&o),
		"abuse" => crate::abuse::run(&o),
		"report" => crate::report::report(o.positional.first().ok_or("report DIR")?),
		other => Err(format!("unknown scenario {other}")),
	}
}

/// One result line.
pub(crate) fn emit(o: &Opts, scenario: &str, fields: &[(&str, String)]) {
	let mut line = format!("label={} scenario={scenario}", o.label);
	for (k, v) in fields {
		line.push_str(&format!(" {k}={v}"));
	}
	println!("{line}");
}

fn mib(kib: u64) -> f64 {
	kib as f64 / 1024.0
}

fn idle(o: &Opts) -> Result<(), String> {
	std::thread::sleep(o.settle);
	let (rss, pss) = procfs::memory(o.pid);
	eprintln!("[{}] idle: RSS {:.1} MiB, PSS {:.1} MiB", o.label, mib(rss), mib(pss));
	emit(o, "idle", &[("rss_kb", rss.to_string()), ("pss_kb", pss.to_string())]);
	Ok(())
}

/// Runs `work(thread_index)` on `threads` threads, each with its own executor.
fn on_threads<T: Send + 'static>(threads: usize, work: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
	let work = std::sync::Arc::new(work);
	let handles: Vec<_> = (0..threads)
		.map(|i| {
			let w = work.clone();
			std::thread::spawn(move || w(i))
		})
		.collect();
	handles.into_iter().map(|h| h.join().expect("driver thread panicked")).collect()
}

/// Logs in users `ids` with `concurrency` in flight on this thread.
pub(crate) async fn login_many(
	ex: &LocalExecutor<'_>,
	t: &Target,
	ids: Vec<usize>,
	concurrency: usize,
) -> (Vec<Session>, Vec<Duration>, Vec<String>) {
	let tls = client::tls_connector();
	let keys = Rc::new(RefCell::new(KeyCache::default()));
	let queue = Rc::new(RefCell::new(ids.into_iter()));
	let done = Rc::new(RefCell::new((Vec::new(), Vec::new(), Vec::new())));
	let mut workers = Vec::new();
	for _ in 0..concurrency {
		let (queue, done, keys, tls, t) = (queue.clone(), done.clone(), keys.clone(), tls.clone(), t.clone());
		workers.push(ex.spawn(async move {
			loop {
				let Some(n) = queue.borrow_mut().next() else { break };
				let start = Instant::now();
				match client::login(&t, n, &tls, &keys).await {
					Ok((s, _)) => {
						let mut d = done.borrow_mut();
						d.0.push(s);
						d.1.push(start.elapsed());
					}
					Err(e) => done.borrow_mut().2.push(format!("{}: {e}", t.jid(n))),
				}
			}
		}));
	}
	for w in workers {
		w.await;
	}
	Rc::try_unwrap(done).map(RefCell::into_inner).unwrap_or_default()
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
	if sorted.is_empty() {
		return 0.0;
	}
	sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn sessions(o: &Opts) -> Result<(), String> {
	std::thread::sleep(o.settle);
	let (idle_rss, idle_pss) = procfs::memory(o.pid);
	eprintln!("[{}] idle: RSS {:.1} MiB", o.label, mib(idle_rss));
	emit(o, "idle", &[("rss_kb", idle_rss.to_string()), ("pss_kb", idle_pss.to_string())]);
	for &n in &o.sessions {
		let c0 = procfs::cpu(o.pid);
		let start = Instant::now();
		let (ready_tx, ready_rx) = mpsc::channel();
		let (release_tx, release_rx) = mpsc::channel::<()>();
		let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
		let (t, threads, conc) = (o.target.clone(), o.threads, o.concurrency);
		let handle = std::thread::spawn(move || {
			on_threads(threads, move |i| {
				let ids: Vec<usize> = (1..=n).filter(|k| k % threads == i).collect();
				let ex = LocalExecutor::new();
				let (sessions, lat, errs) = async_io::block_on(ex.run(login_many(&ex, &t, ids, conc.div_ceil(threads))));
				let _ = ready_tx.send((sessions.len(), lat, errs));
				// Hold the sessions until released, then leave politely.
				let _ = release_rx.lock().map(|r| r.recv());
				async_io::block_on(async {
					for s in sessions {
						s.close().await;
					}
				});
			})
		});
		let mut ok = 0;
		let mut lat = Vec::new();
		let mut errs = Vec::new();
		for _ in 0..o.threads {
			let (k, l, e) = ready_rx.recv().map_err(|_| "driver thread died")?;
			ok += k;
			lat.extend(l.into_iter().map(|d| d.as_secs_f64() * 1000.0));
			errs.extend(e);
		}
		let elapsed = start.elapsed().as_secs_f64();
		let c1 = procfs::cpu(o.pid);
		std::thread::sleep(o.settle);
		let (rss, pss) = procfs::memory(o.pid);
		for _ in 0..o.threads {
			let _ = release_tx.send(());
		}
		let _ = handle.join();
		std::thread::sleep(o.settle);
		let (after_rss, _) = procfs::memory(o.pid);
		lat.sort_by(f64::total_cmp);
		let per = |total: u64, idle: u64| if ok > 0 { (total as f64 - idle as f64) / ok as f64 } else { 0.0 };
		let cpu_ms = if ok > 0 { (c1 - c0) * 1000.0 / ok as f64 } else { 0.0 };
		eprintln!(
			"[{}] {n} sessions: {ok} in, {} failed{}; {:.0} logins/s (p50 {:.0} ms, p99 {:.0} ms); server CPU {:.2} ms/login; RSS {:.1} MiB = {:.2} KiB/session (PSS {:.2}); after leave {:.1} MiB",
			o.label,
			errs.len(),
			errs.first().map(|e| format!(" ({e})")).unwrap_or_default(),
			ok as f64 / elapsed,
			percentile(&lat, 0.5),
			percentile(&lat, 0.99),
			cpu_ms,
			mib(rss),
			per(rss, idle_rss),
			per(pss, idle_pss),
			mib(after_rss)
		);
		emit(
			o,
			"sessions",
			&[
				("n", n.to_string()),
				("ok", ok.to_string()),
				("failed", errs.len().to_string()),
				("logins_per_s", format!("{:.1}", ok as f64 / elapsed)),
				("login_p50_ms", format!("{:.1}", percentile(&lat, 0.5))),
				("login_p99_ms", format!("{:.1}", percentile(&lat, 0.99))),
				("cpu_ms_per_login", format!("{cpu_ms:.3}")),
				("rss_kb", rss.to_string()),
				("pss_kb", pss.to_string()),
				("rss_per_session_kb", format!("{:.2}", per(rss, idle_rss))),
				("pss_per_session_kb", format!("{:.2}", per(pss, idle_pss))),
				("rss_after_leave_kb", after_rss.to_string()),
				("idle_rss_kb", idle_rss.to_string()),
			],
		);
		if !procfs::alive(o.pid) {
			return Err("the server died".into());
		}
		// A run with failures measures something else: stop loudly.
		if let Some(e) = errs.first() {
			return Err(format!("{} of {n} logins failed, e.g. {e}", errs.len()));
		}
	}
	Ok(())
}

/// Monotonic nanoseconds since the first call (one clock for the process).
fn now_ns() -> u64 {
	static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
	BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// What one pair measured.
#[derive(Default)]
struct PairResult {
	sent: u64,
	received: u64,
	latencies_us: Vec<u32>,
	error: Option<String>,
}

fn body(size: usize) -> String {
	let stamp = now_ns().to_string();
	format!("{stamp} {}", "x".repeat(size.saturating_sub(stamp.len() + 1)))
}

/// Two sessions chatting: each side keeps `window` messages in flight (or
/// sends at `interval`), until `until`, then waits for what is in flight.
async fn pair(a: &mut Session, b: &mut Session, o: &PairCfg) -> PairResult {
	let mut r = PairResult::default();
	let (to_a, to_b) = (bare(&a.jid), bare(&b.jid));
	let mut sent = [0u64; 2];
	let mut got = [0u64; 2];
	let mut next_send = [Instant::now(); 2];
	let mut stopped_at: Option<Instant> = None;
	loop {
		let now = Instant::now();
		let still = |sent: &[u64; 2], side: usize| now < o.until && o.count.is_none_or(|c| sent[side] < c);
		let sending = still(&sent, 0) || still(&sent, 1);
		for side in 0..2 {
			let room = sent[side] - got[1 - side] < o.window as u64;
			// Closed loop: `next_send` never moves, so a free slot is enough.
			let due = now >= next_send[side];
			if still(&sent, side) && room && due {
				let (s, to) = if side == 0 { (&mut *a, &to_b) } else { (&mut *b, &to_a) };
				let msg = format!("<message type='chat' to='{to}'><body>{}</body></message>", body(o.size));
				if let Err(e) = s.send(&msg).await {
					r.error = Some(e);
					return r;
				}
				sent[side] += 1;
				if let Some(iv) = o.interval {
					next_send[side] += iv;
				}
			}
		}
		let in_flight = sent[0] - got[1] + sent[1] - got[0];
		if !sending && in_flight == 0 {
			break;
		}
		if !sending {
			let since = *stopped_at.get_or_insert(now);
			if now > since + Duration::from_secs(10) {
				break; // what has not arrived by now counts as lost
			}
		}
		// Wait for a message (or the next send slot when paced).
		let wait = match o.interval {
			Some(_) if sending => next_send[0].min(next_send[1]).saturating_duration_since(Instant::now()).max(Duration::from_micros(50)),
			_ => Duration::from_millis(200),
		};
		let ev = futures_lite::future::or(async { (0, a.next(wait).await) }, async { (1, b.next(wait).await) }).await;
		match ev {
			(side, Ok(el)) if el.name() == "message" => {
				got[side] += 1;
				if let Some(t) = el
					.children()
					.find(|c| c.name() == "body")
					.and_then(|bd| bd.text().split(' ').next().and_then(|s| s.parse::<u64>().ok()))
				{
					r.latencies_us.push(((now_ns().saturating_sub(t)) / 1000).min(u64::from(u32::MAX)) as u32);
				}
			}
			(_, Ok(_)) => {}
			(_, Err(e)) if e == "timed out" => {}
			(_, Err(e)) => {
				r.error = Some(e);
				break;
			}
		}
	}
	r.sent = sent[0] + sent[1];
	r.received = got[0] + got[1];
	r
}

pub(crate) fn bare(jid: &str) -> String {
	jid.split('/').next().unwrap_or(jid).to_string()
}

#[derive(Clone)]
struct PairCfg {
	until: Instant,
	/// Messages per direction, for runs of fixed size (instruction counts).
	count: Option<u64>,
	window: usize,
	interval: Option<Duration>,
	size: usize,
}

fn msgs(o: &Opts) -> Result<(), String> {
	for rep in 0..o.repeats.max(1) {
		let (t, threads, pairs, conc) = (o.target.clone(), o.threads.min(o.pairs.max(1)), o.pairs, o.concurrency);
		let (window, size, duration, rate) = (o.window, o.size, o.duration, o.rate);
		// --count: that many messages per direction of each pair, then stop.
		let count = (o.count_given).then_some(o.count as u64);
		let (start_tx, start_rx) = mpsc::channel::<()>();
		let start_rx = std::sync::Arc::new(std::sync::Mutex::new(start_rx));
		let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
		let handle = std::thread::spawn(move || {
			on_threads(threads, move |i| {
				let mine: Vec<usize> = (0..pairs).filter(|p| p % threads == i).collect();
				let ids: Vec<usize> = mine.iter().flat_map(|p| [2 * p + 1, 2 * p + 2]).collect();
				let ex = LocalExecutor::new();
				let (sessions, _, errs) = async_io::block_on(ex.run(login_many(&ex, &t, ids.clone(), conc.div_ceil(threads))));
				if !errs.is_empty() {
					let _ = ready_tx.send(Err(errs[0].clone()));
					return Vec::new();
				}
				let _ = ready_tx.send(Ok(()));
				let _ = start_rx.lock().map(|r| r.recv());
				// Pair up by user number: 2p+1 with 2p+2.
				let mut by_user: HashMap<String, Session> = sessions.into_iter().map(|s| (bare(&s.jid), s)).collect();
				let interval = (rate > 0.0).then(|| Duration::from_secs_f64(2.0 * pairs as f64 / rate));
				let cfg = PairCfg { until: Instant::now() + duration, count, window, interval, size };
				let mut tasks = Vec::new();
				for p in &mine {
					let a = by_user.remove(&t.jid(2 * p + 1));
					let b = by_user.remove(&t.jid(2 * p + 2));
					let (Some(mut a), Some(mut b)) = (a, b) else { continue };
					let cfg = cfg.clone();
					tasks.push(ex.spawn(async move { pair(&mut a, &mut b, &cfg).await }));
				}
				join_all(&ex, tasks)
			})
		});
		for _ in 0..threads {
			ready_rx.recv().map_err(|_| "driver thread died")??;
		}
		std::thread::sleep(Duration::from_secs(1));
		let c0 = procfs::cpu(o.pid);
		let start = Instant::now();
		for _ in 0..threads {
			let _ = start_tx.send(());
		}
		let results: Vec<PairResult> = handle.join().map_err(|_| "driver thread panicked")?.into_iter().flatten().collect();
		let elapsed = start.elapsed().as_secs_f64();
		let c1 = procfs::cpu(o.pid);
		let sent: u64 = results.iter().map(|r| r.sent).sum();
		let received: u64 = results.iter().map(|r| r.received).sum();
		let mut lat: Vec<f64> = results.iter().flat_map(|r| r.latencies_us.iter().map(|u| f64::from(*u) / 1000.0)).collect();
		lat.sort_by(f64::total_cmp);
		let errors: Vec<&String> = results.iter().filter_map(|r| r.error.as_ref()).collect();
		let cpu_per_1000 = if received > 0 { (c1 - c0) * 1e6 / received as f64 } else { 0.0 };
		let mode = if o.rate > 0.0 { "paced" } else { "saturated" };
		eprintln!(
			"[{}] msgs {mode} run {}: {} pairs, {:.0} msgs/s, latency p50 {:.2} ms p99 {:.2} ms, lost {}, server CPU {:.1} ms/1000 msgs{}",
			o.label,
			rep + 1,
			o.pairs,
			received as f64 / elapsed,
			percentile(&lat, 0.5),
			percentile(&lat, 0.99),
			sent - received,
			cpu_per_1000,
			errors.first().map(|e| format!(", error: {e}")).unwrap_or_default()
		);
		emit(
			o,
			if o.rate > 0.0 { "msgs_paced" } else { "msgs" },
			&[
				("pairs", o.pairs.to_string()),
				("window", o.window.to_string()),
				("rate", format!("{}", o.rate)),
				("msgs_per_s", format!("{:.0}", received as f64 / elapsed)),
				("p50_ms", format!("{:.3}", percentile(&lat, 0.5))),
				("p99_ms", format!("{:.3}", percentile(&lat, 0.99))),
				("sent", sent.to_string()),
				("lost", (sent - received).to_string()),
				("cpu_ms_per_1000", format!("{cpu_per_1000:.1}")),
				("errors", errors.len().to_string()),
			],
		);
		if let Some(e) = errors.first() {
			return Err(format!("{} pairs failed, e.g. {e}", errors.len()));
		}
		if sent > received {
			return Err(format!("{} messages lost", sent - received));
		}
	}
	Ok(())
}

/// Runs the tasks on `ex` and collects their results, in order.
fn join_all<T>(ex: &LocalExecutor<'_>, tasks: Vec<async_executor::Task<T>>) -> Vec<T> {
	async_io::block_on(ex.run(async {
		let mut out = Vec::with_capacity(tasks.len());
		for task in tasks {
			out.push(task.await);
		}
		out
	}))
}

/// Runs one async closure on a fresh executor on this thread.
pub(crate) fn local<T>(f: impl AsyncFnOnce(&LocalExecutor<'_>) -> T) -> T {
	let ex = LocalExecutor::new();
	async_io::block_on(ex.run(f(&ex)))
}

fn offline(o: &Opts) -> Result<(), String> {
	let t = o.target.clone();
	let tls = client::tls_connector();
	let keys = RefCell::new(KeyCache::default());
	let (count, size) = (o.count, o.size);
	let before = o.data_dir.as_deref().map(procfs::dir_bytes);
	let c0 = procfs::cpu(o.pid);
	let stored = local(async |_| -> Result<Duration, String> {
		let (mut sender, _) = client::login(&t, 1, &tls, &keys).await?;
		let to = bare(&t.jid(2));
		let start = Instant::now();
		for i in 0..count {
			sender.send(&format!("<message type='chat' to='{to}'><body>{i} {}</body></message>", "x".repeat(size))).await?;
			// A ping now and then keeps the sender from running far ahead.
			if i % 100 == 99 {
				sender.iq("<iq type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>", Duration::from_secs(120)).await?;
			}
		}
		sender.iq("<iq type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>", Duration::from_secs(120)).await?;
		let took = start.elapsed();
		sender.close().await;
		Ok(took)
	})?;
	let c1 = procfs::cpu(o.pid);
	std::thread::sleep(o.settle);
	let after = o.data_dir.as_deref().map(procfs::dir_bytes);
	let flushed = local(async |_| -> Result<(Duration, usize), String> {
		let start = Instant::now();
		let (mut receiver, _) = client::login(&t, 2, &tls, &keys).await?;
		let mut n = 0;
		while n < count {
			let el = receiver.next(Duration::from_secs(30)).await.map_err(|e| format!("after {n} of {count}: {e}"))?;
			if el.name() == "message" {
				n += 1;
			}
		}
		let took = start.elapsed();
		receiver.close().await;
		Ok((took, n))
	})?;
	let c2 = procfs::cpu(o.pid);
	let per_msg = match (before, after) {
		(Some(b), Some(a)) => format!("{:.0}", (a as f64 - b as f64) / count as f64),
		_ => "-".into(),
	};
	eprintln!(
		"[{}] offline: stored {count} in {:.2} s ({:.1} ms CPU/1000), {per_msg} bytes/msg on disk; flushed at login in {:.3} s ({:.1} ms CPU/1000)",
		o.label,
		stored.as_secs_f64(),
		(c1 - c0) * 1e6 / count as f64,
		flushed.0.as_secs_f64(),
		(c2 - c1) * 1e6 / count as f64
	);
	emit(
		o,
		"offline",
		&[
			("count", count.to_string()),
			("store_s", format!("{:.3}", stored.as_secs_f64())),
			("store_cpu_ms_per_1000", format!("{:.1}", (c1 - c0) * 1e6 / count as f64)),
			("bytes_per_msg", per_msg),
			("flush_s", format!("{:.3}", flushed.0.as_secs_f64())),
			("flush_cpu_ms_per_1000", format!("{:.1}", (c2 - c1) * 1e6 / count as f64)),
		],
	);
	Ok(())
}

fn roster(o: &Opts) -> Result<(), String> {
	let t = o.target.clone();
	let tls = client::tls_connector();
	let keys = RefCell::new(KeyCache::default());
	let contacts = o.contacts;
	// Fill user1's roster (idempotent: a roster set of an existing item is fine).
	local(async |_| -> Result<(), String> {
		let (mut s, roster) = client::login(&t, 1, &tls, &keys).await?;
		let have = roster.children().next().map_or(0, |q| q.children().count());
		for c in have..contacts {
			let jid = bare(&t.jid(c + 2));
			s.iq(&format!("<iq type='set' id='{{id}}'><query xmlns='jabber:iq:roster'><item jid='{jid}' name='Contact {c}'><group>Bench</group></item></query></iq>"), Duration::from_secs(60)).await?;
		}
		s.close().await;
		Ok(())
	})?;
	let c0 = procfs::cpu(o.pid);
	let mut times = Vec::new();
	for _ in 0..o.logins {
		let start = Instant::now();
		let items = local(async |_| -> Result<usize, String> {
			let (s, roster) = client::login(&t, 1, &tls, &keys).await?;
			let n = roster.children().next().map_or(0, |q| q.children().count());
			s.close().await;
			Ok(n)
		})?;
		if items < contacts {
			return Err(format!("roster has {items} items, expected {contacts}"));
		}
		times.push(start.elapsed().as_secs_f64() * 1000.0);
	}
	let c1 = procfs::cpu(o.pid);
	times.sort_by(f64::total_cmp);
	let cpu = (c1 - c0) * 1000.0 / o.logins.max(1) as f64;
	eprintln!("[{}] roster of {contacts}: login p50 {:.1} ms, server CPU {cpu:.2} ms/login", o.label, percentile(&times, 0.5));
	emit(
		o,
		"roster",
		&[
			("contacts", contacts.to_string()),
			("logins", o.logins.to_string()),
			("login_p50_ms", format!("{:.1}", percentile(&times, 0.5))),
			("cpu_ms_per_login", format!("{cpu:.2}")),
		],
	);
	Ok(())
}

/// What one occupant measured in the fan-out run.
#[derive(Default)]
struct OccupantResult {
	sent: u64,
	received: u64,
	latencies_us: Vec<u32>,
	error: Option<String>,
}

/// Joins `room` as `nick`; done at the room's subject (XEP-0045 §7.2.15).
/// Whoever makes the room accepts the default configuration (an instant
/// room, §10.1.2), since some servers keep a new room locked until then;
/// others retry while it is.
pub(crate) async fn join_room(s: &mut Session, room: &str, nick: &str) -> Result<(), String> {
	for _attempt in 0..100 {
		s.send(&format!("<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>"))
			.await?;
		loop {
			let el = s.next(Duration::from_secs(30)).await.map_err(|e| format!("joining {room}: {e}"))?;
			if el.name() == "presence" && el.attr("type") == Some("error") {
				break; // locked (or not there yet): try again
			}
			let has_status = |code: &str| {
				el.children()
					.filter(|x| x.name() == "x")
					.flat_map(|x| x.children())
					.any(|st| st.name() == "status" && st.attr("code") == Some(code))
			};
			if el.name() == "presence" && has_status("201") {
				let form = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query>";
				s.iq(&format!("<iq type='set' id='{{id}}' to='{room}'>{form}</iq>"), Duration::from_secs(30)).await?;
				// In (whether or not a subject follows for a new room).
				return Ok(());
			}
			if el.name() == "message" && el.children().any(|c| c.name() == "subject") {
				return Ok(());
			}
		}
		async_io::Timer::after(Duration::from_millis(100)).await;
	}
	Err(format!("joining {room}: still refused"))
}

/// One occupant: senders keep `window` of their own messages in flight (or
/// send at `interval`); everyone counts what the room delivers.
async fn occupant(
	s: &mut Session,
	room: &str,
	sender: bool,
	window: usize,
	interval: Option<Duration>,
	until: Instant,
	size: usize,
) -> OccupantResult {
	let mut r = OccupantResult::default();
	let mut own_in_flight = 0usize;
	let mut next_send = Instant::now();
	loop {
		let now = Instant::now();
		let sending = sender && now < until;
		if sending && own_in_flight < window && now >= next_send {
			let msg = format!("<message type='groupchat' to='{room}'><body>{}</body></message>", body(size));
			if let Err(e) = s.send(&msg).await {
				r.error = Some(e);
				return r;
			}
			r.sent += 1;
			own_in_flight += 1;
			if let Some(iv) = interval {
				next_send += iv;
			}
		}
		// Everyone listens until well after the last sender stopped.
		if now > until + Duration::from_secs(3) {
			return r;
		}
		let wait = match interval {
			Some(_) if sending => next_send.saturating_duration_since(Instant::now()).max(Duration::from_micros(50)),
			_ => Duration::from_millis(100),
		};
		match s.next(wait).await {
			Ok(el) if el.name() == "message" && el.attr("type") == Some("groupchat") => {
				let Some(text) = el.children().find(|c| c.name() == "body").map(|b| b.text()) else { continue };
				r.received += 1;
				if let Some(t) = text.split(' ').next().and_then(|t| t.parse::<u64>().ok()) {
					r.latencies_us.push(((now_ns().saturating_sub(t)) / 1000).min(u64::from(u32::MAX)) as u32);
				}
				// Our own message came back: one fewer in flight.
				if el.attr("from").is_some_and(|f| f.ends_with(&format!("/{}", s.jid.split('@').next().unwrap_or("")))) {
					own_in_flight = own_in_flight.saturating_sub(1);
				}
			}
			Ok(_) => {}
			Err(e) if e == "timed out" => {}
			Err(e) => {
				r.error = Some(e);
				return r;
			}
		}
	}
}

/// MUC fan-out: `occupants` sessions in one room, `senders` of them talking.
/// Every message goes to every occupant; reports deliveries per second, the
/// latency of a delivery, server CPU per 1000 deliveries and the memory an
/// occupant costs.
fn muc(o: &Opts) -> Result<(), String> {
	let (t, threads, n, senders, conc) = (o.target.clone(), o.threads, o.occupants, o.senders.min(o.occupants), o.concurrency);
	let (window, size, duration, rate) = (o.window, o.size, o.duration, o.rate);
	let room = format!("fanout@rooms.{}", t.domain);
	let (phase_tx, phase_rx) = mpsc::channel::<Result<(), String>>();
	let (go_tx, go_rx) = mpsc::channel::<()>();
	let go_rx = std::sync::Arc::new(std::sync::Mutex::new(go_rx));
	let room2 = room.clone();
	let handle = std::thread::spawn(move || {
		on_threads(threads, move |i| {
			let ids: Vec<usize> = (1..=n).filter(|k| k % threads == i).collect();
			let ex = LocalExecutor::new();
			let (mut sessions, _, errs) = async_io::block_on(ex.run(login_many(&ex, &t, ids, conc.div_ceil(threads))));
			if let Some(e) = errs.first() {
				let _ = phase_tx.send(Err(e.clone()));
				return Vec::new();
			}
			let _ = phase_tx.send(Ok(()));
			let _ = go_rx.lock().map(|r| r.recv());
			// Join one at a time per thread: each join is answered with the whole room.
			let joined = async_io::block_on(async {
				for s in &mut sessions {
					let nick = s.jid.split('@').next().unwrap_or("x").to_owned();
					join_room(s, &room2, &nick).await?;
				}
				Ok::<(), String>(())
			});
			let _ = phase_tx.send(joined.clone());
			if joined.is_err() {
				return Vec::new();
			}
			let _ = go_rx.lock().map(|r| r.recv());
			let interval = (rate > 0.0).then(|| Duration::from_secs_f64(senders as f64 / rate));
			let until = Instant::now() + duration;
			let mut tasks = Vec::new();
			for mut s in sessions {
				let local = s.jid.split('@').next().unwrap_or("");
				let number: usize = local.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().unwrap_or(usize::MAX);
				let room = room2.clone();
				tasks.push(ex.spawn(async move { occupant(&mut s, &room, number <= senders, window, interval, until, size).await }));
			}
			join_all(&ex, tasks)
		})
	});
	for _ in 0..threads {
		phase_rx.recv().map_err(|_| "driver thread died")??;
	}
	std::thread::sleep(o.settle);
	let (before_rss, _) = procfs::memory(o.pid);
	for _ in 0..threads {
		let _ = go_tx.send(());
	}
	for _ in 0..threads {
		phase_rx.recv().map_err(|_| "driver thread died")??;
	}
	std::thread::sleep(o.settle);
	let (joined_rss, _) = procfs::memory(o.pid);
	let c0 = procfs::cpu(o.pid);
	let start = Instant::now();
	for _ in 0..threads {
		let _ = go_tx.send(());
	}
	let results: Vec<OccupantResult> = handle.join().map_err(|_| "driver thread panicked")?.into_iter().flatten().collect();
	let elapsed = start.elapsed().as_secs_f64().min(o.duration.as_secs_f64() + 3.0);
	let c1 = procfs::cpu(o.pid);
	let sent: u64 = results.iter().map(|r| r.sent).sum();
	let received: u64 = results.iter().map(|r| r.received).sum();
	let expected = sent * n as u64;
	let mut lat: Vec<f64> = results.iter().flat_map(|r| r.latencies_us.iter().map(|u| f64::from(*u) / 1000.0)).collect();
	lat.sort_by(f64::total_cmp);
	let errors: Vec<&String> = results.iter().filter_map(|r| r.error.as_ref()).collect();
	let cpu_per_1000 = if received > 0 { (c1 - c0) * 1e6 / received as f64 } else { 0.0 };
	let per_occupant = (joined_rss as f64 - before_rss as f64) / n as f64;
	eprintln!(
		"[{}] muc: {n} occupants, {senders} talking, {:.0} deliveries/s, latency p50 {:.2} ms p99 {:.2} ms, lost {}, server CPU {:.1} ms/1000 deliveries, {:.1} KiB per occupant{}",
		o.label,
		received as f64 / elapsed,
		percentile(&lat, 0.5),
		percentile(&lat, 0.99),
		expected.saturating_sub(received),
		cpu_per_1000,
		per_occupant,
		errors.first().map(|e| format!(", error: {e}")).unwrap_or_default()
	);
	emit(
		o,
		if rate > 0.0 { "muc_paced" } else { "muc" },
		&[
			("occupants", n.to_string()),
			("senders", senders.to_string()),
			("rate", format!("{rate}")),
			("deliveries_per_s", format!("{:.0}", received as f64 / elapsed)),
			("p50_ms", format!("{:.3}", percentile(&lat, 0.5))),
			("p99_ms", format!("{:.3}", percentile(&lat, 0.99))),
			("sent", sent.to_string()),
			("lost", expected.saturating_sub(received).to_string()),
			("cpu_ms_per_1000", format!("{cpu_per_1000:.1}")),
			("rss_per_occupant_kb", format!("{per_occupant:.1}")),
		],
	);
	if let Some(e) = errors.first() {
		return Err(format!("{} occupants failed, e.g. {e}", errors.len()));
	}
	Ok(())
}
