//! What the server process tree uses, from /proc: RSS and PSS from
//! smaps_rollup, CPU from stat (utime + stime, all threads), summed over the
//! process and its descendants (ejabberd runs helper programs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kernel clock ticks per second for /proc/PID/stat (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

fn parent_of(pid: u32) -> Option<u32> {
	let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
	stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// `pid` and every descendant.
pub fn tree(pid: u32) -> Vec<u32> {
	let all: Vec<u32> =
		std::fs::read_dir("/proc").map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()).unwrap_or_default();
	let mut out = vec![pid];
	let mut i = 0;
	while i < out.len() {
		let p = out[i];
		out.extend(all.iter().copied().filter(|c| parent_of(*c) == Some(p)));
		i += 1;
	}
	out
}

/// (RSS, PSS) in KiB.
pub fn memory(pid: u32) -> (u64, u64) {
	memory_of(&tree(pid))
}

/// (RSS, PSS) in KiB of these processes.
fn memory_of(pids: &[u32]) -> (u64, u64) {
	let mut rss = 0;
	let mut pss = 0;
	for &p in pids {
		let Ok(text) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else { continue };
		for line in text.lines() {
			let value = || line.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
			if line.starts_with("Rss:") {
				rss += value();
			} else if line.starts_with("Pss:") {
				pss += value();
			}
		}
	}
	(rss, pss)
}

/// CPU seconds used so far.
pub fn cpu(pid: u32) -> f64 {
	tree(pid)
		.into_iter()
		.filter_map(|p| {
			let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
			let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
			let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
			Some(ticks as f64 / TICKS)
		})
		.sum()
}

pub fn alive(pid: u32) -> bool {
	std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Bytes under a directory (for storage per message).
pub fn dir_bytes(path: &std::path::Path) -> u64 {
	let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
	if !meta.is_dir() {
		return meta.len();
	}
	std::fs::read_dir(path).map(|d| d.filter_map(Result::ok).map(|e| dir_bytes(&e.path())).sum()).unwrap_or(0)
}

/// RSS of a process tree sampled on its own thread every `every`, for the
/// peak of a burst that no single reading would catch.
pub struct Sampler {
	stop: Arc<AtomicBool>,
	state: Arc<Mutex<Samples>>,
	thread: Option<std::thread::JoinHandle<()>>,
}

/// What a sampler saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Samples {
	pub peak_kb: u64,
	/// When the peak was seen, since the sampler started.
	pub peak_at: Duration,
	pub last_kb: u64,
	pub count: u64,
	/// The process was gone at some sample.
	pub died: bool,
}

impl Sampler {
	/// Samples `pid`'s tree; past `ceiling` (KiB, flag) it sets the flag.
	pub fn start(pid: u32, every: Duration, ceiling: Option<(u64, Arc<AtomicBool>)>) -> Sampler {
		let stop = Arc::new(AtomicBool::new(false));
		let state = Arc::new(Mutex::new(Samples::default()));
		let (stop2, state2) = (stop.clone(), state.clone());
		let thread = std::thread::spawn(move || {
			let start = Instant::now();
			let mut pids = tree(pid);
			let mut pids_at = start;
			while !stop2.load(Ordering::Relaxed) {
				// The tree rarely changes; scanning all of /proc each time would cost more than the sample.
				if pids_at.elapsed() > Duration::from_secs(1) {
					pids = tree(pid);
					pids_at = Instant::now();
				}
				let (rss, _) = memory_of(&pids);
				let alive = alive(pid);
				if let Some((limit, flag)) = &ceiling
					&& rss > *limit
				{
					flag.store(true, Ordering::Relaxed);
				}
				if let Ok(mut s) = state2.lock() {
					if rss > s.peak_kb {
						s.peak_kb = rss;
						s.peak_at = start.elapsed();
					}
					s.last_kb = rss;
					s.count += 1;
					s.died |= !alive;
				}
				std::thread::sleep(every);
			}
		});
		Sampler { stop, state, thread: Some(thread) }
	}

	pub fn now(&self) -> Samples {
		self.state.lock().map(|s| *s).unwrap_or_default()
	}

	/// The latest reading, for another thread.
	pub fn reader(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
		let state = self.state.clone();
		move || state.lock().map(|s| s.last_kb).unwrap_or(0)
	}

	pub fn stop(mut self) -> Samples {
		self.stop.store(true, Ordering::Relaxed);
		if let Some(t) = self.thread.take() {
			let _ = t.join();
		}
		self.now()
	}
}

impl Drop for Sampler {
	fn drop(&mut self) {
		self.stop.store(true, Ordering::Relaxed);
	}
}

/// MemAvailable from /proc/meminfo, KiB.
pub fn mem_available_kb() -> Option<u64> {
	let text = std::fs::read_to_string("/proc/meminfo").ok()?;
	text.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes that arrived on connections to local `port` and that the process
/// there has not read yet (their receive queues, /proc/net/tcp and tcp6).
pub fn unread_on_port(port: u16) -> u64 {
	let mut total = 0;
	for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
		let Ok(text) = std::fs::read_to_string(table) else { continue };
		for line in text.lines().skip(1) {
			// sl local_address rem_address st tx_queue:rx_queue ..., in hex
			let cols: Vec<&str> = line.split_whitespace().take(5).collect();
			let local_port = cols.get(1).and_then(|a| a.rsplit(':').next()).and_then(|p| u16::from_str_radix(p, 16).ok());
			if local_port != Some(port) {
				continue;
			}
			total += cols.get(4).and_then(|q| q.split(':').nth(1)).and_then(|q| u64::from_str_radix(q, 16).ok()).unwrap_or(0);
		}
	}
	total
}
