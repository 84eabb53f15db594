//! Samples the counters once a minute, makes a 5-minute point of the
//! samples and stores it with one write (`Rings::record`'s records, the
//! accounts that logged in, and the count of active people). Whatever
//! touches files (/proc, the database file's size, the storage sums) runs on
//! the blocking pool or the storage writer, never on the executor.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::rings::{LEVELS, N, Range, Rings, Series};
use crate::server::Server;
use crate::store::Store;

/// How often the counters are sampled.
const SAMPLE: Duration = Duration::from_secs(60);
/// The windows of "active people", in days.
pub const ACTIVE_DAYS: [u32; 3] = [1, 7, 30];

/// The process, from /proc/self.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Process {
	pub cpu_seconds: f64,
	pub rss_bytes: u64,
	pub open_fds: u64,
}

/// What storage holds, measured off the executor.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Storage {
	pub db_bytes: u64,
	pub upload_bytes: u64,
	pub archive_messages: u64,
}

/// Reads /proc/self (blocking: call on the blocking pool). Zero for what
/// cannot be read (not Linux).
pub fn read_process() -> Process {
	// SAFETY: sysconf only reads a constant of the system.
	let (tick, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
	let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
	// Fields after the command name (which may hold spaces) in parentheses.
	let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
	let fields: Vec<&str> = after.split_whitespace().collect();
	// utime and stime are fields 14 and 15 of stat(5); field 3 is after[0].
	let ticks: u64 = [11, 12].iter().filter_map(|i| fields.get(*i)?.parse::<u64>().ok()).sum();
	let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
	let rss_pages: u64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
	let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
	Process {
		cpu_seconds: if tick > 0 { ticks as f64 / tick as f64 } else { 0.0 },
		rss_bytes: rss_pages * u64::try_from(page).unwrap_or(4096),
		open_fds,
	}
}

/// Measures storage (blocking: call on the blocking pool).
pub fn read_storage(store: &Store, dir: &Path) -> Storage {
	let snap = store.snapshot();
	let sum =
		|f: fn(&crate::store::Snapshot) -> Result<u64, crate::store::StoreError>| snap.as_ref().ok().and_then(|s| f(s).ok()).unwrap_or(0);
	Storage {
		db_bytes: Store::file_bytes(dir),
		upload_bytes: sum(crate::store::Snapshot::upload_bytes_total),
		archive_messages: sum(crate::store::Snapshot::archive_messages_total),
	}
}

pub fn unix_now() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The samples of the 5-minute point being made.
#[derive(Clone)]
struct Acc {
	slot: u64,
	sum: [f64; N],
	n: [u32; N],
}

impl Acc {
	fn new(slot: u64) -> Acc {
		Acc { slot, sum: [0.0; N], n: [0; N] }
	}

	fn add(&mut self, v: &[f32; N]) {
		for ((x, sum), n) in v.iter().zip(&mut self.sum).zip(&mut self.n) {
			if x.is_finite() {
				*sum += f64::from(*x);
				*n += 1;
			}
		}
	}

	fn value(&self) -> [f32; N] {
		std::array::from_fn(|i| match self.n[i] {
			0 => f32::NAN,
			_ if Series::ALL[i].is_count() => self.sum[i] as f32,
			n => (self.sum[i] / f64::from(n)) as f32,
		})
	}

	/// Starts from a point stored for the same slot (before a restart), as
	/// one sample: its samples are not lost when the slot is recorded again.
	fn seed(&mut self, p: &super::rings::Point) {
		for ((x, sum), n) in p.v.iter().zip(&mut self.sum).zip(&mut self.n) {
			if x.is_finite() {
				*sum = f64::from(*x);
				*n = 1;
			}
		}
	}

	fn is_empty(&self) -> bool {
		self.n.iter().all(|n| *n == 0)
	}
}

/// What the statistics know, kept on the server (executor thread only).
pub struct Stats {
	rings: RefCell<Rings>,
	acc: RefCell<Acc>,
	pub process: Cell<Option<Process>>,
	pub storage: Cell<Option<Storage>>,
	/// People who logged in within 1, 7 and 30 days.
	pub active: Cell<Option<[u64; 3]>>,
}

impl Stats {
	/// The series as stored (read once at start-up).
	pub fn load(store: &Store) -> Stats {
		let mut rings = Rings::default();
		match store.snapshot().and_then(|s| s.stat_points()) {
			Ok(records) => {
				log::debug!("statistics: {} ring records loaded", records.len());
				for (level, index, slot, values) in records {
					let v = std::array::from_fn(|i| values.get(i).copied().unwrap_or(f32::NAN));
					rings.load(level, index, super::rings::Point { slot, v });
				}
			}
			Err(e) => log::error!("statistics: {e}"),
		}
		let slot = unix_now() / LEVELS[0].res;
		let mut acc = Acc::new(slot);
		if let Some(p) = rings.point(0, slot) {
			acc.seed(&p);
		}
		Stats {
			rings: RefCell::new(rings),
			acc: RefCell::new(acc),
			process: Cell::new(None),
			storage: Cell::new(None),
			active: Cell::new(None),
		}
	}

	/// The points of a plot, the 5-minute point being made included.
	pub fn points(&self, series: Series, range: Range, now: u64) -> Vec<(u64, f32)> {
		let acc = self.acc.borrow();
		if acc.is_empty() {
			return self.rings.borrow().points(series, range, now);
		}
		let mut rings = self.rings.borrow().clone();
		rings.record(acc.slot, acc.value());
		rings.points(series, range, now)
	}

	/// The SVG plot of `series` over `range` (see `svg::svg`).
	pub fn plot(&self, series: Series, range: Range, size: super::svg::Size) -> String {
		super::svg::svg(series, &self.points(series, range, unix_now()), range, size)
	}
}

/// Stores the 5-minute point being made (at shutdown, so a clean restart
/// loses no samples: it goes on from that point).
pub async fn flush(server: &Server) {
	let Some(stats) = server.stats.as_ref() else { return };
	let acc = stats.acc.borrow().clone();
	if acc.is_empty() {
		return;
	}
	let changed = stats.rings.borrow_mut().record(acc.slot, acc.value());
	let records: Vec<crate::store::StatRecord> = changed.iter().map(|(l, i, p)| (*l, *i, p.slot, p.v.to_vec())).collect();
	let logins = super::take_logins();
	let day = u32::try_from(unix_now() / 86_400).unwrap_or(u32::MAX);
	if let Err(e) = server
		.store
		.write(move |tx| {
			tx.put_stat_points(&records)?;
			tx.mark_active(&logins, day)
		})
		.await
	{
		log::warn!("statistics not stored: {e}");
	}
}

/// Samples every minute and stores a point every five; runs for the
/// server's life (only when `statistics` is on).
pub async fn run(server: Rc<Server>) {
	let Some(stats) = server.stats.as_ref() else { return };
	let (store, dir) = (server.store.clone(), server.config.data_dir.clone());
	let mut prev = super::now();
	let mut prev_cpu: Option<(f64, std::time::Instant)> = None;
	// Active people are known soon after a start, then with every point.
	let mut first = true;
	let mut day_marked = 0u64;
	loop {
		let (s, d) = (store.clone(), dir.clone());
		let (process, storage) = blocking::unblock(move || (read_process(), read_storage(&s, &d))).await;
		stats.process.set(Some(process));
		stats.storage.set(Some(storage));
		let now = std::time::Instant::now();
		let cpu = prev_cpu.map(|(c, t)| {
			let secs = now.duration_since(t).as_secs_f64();
			if secs > 0.0 { ((process.cpu_seconds - c) / secs * 100.0) as f32 } else { f32::NAN }
		});
		prev_cpu = Some((process.cpu_seconds, now));
		let c = super::now();
		let mut v = [f32::NAN; N];
		let set = |v: &mut [f32; N], s: Series, x: f64| v[s as usize] = x as f32;
		use super::ConnKind as K;
		set(&mut v, Series::ConnC2s, c.conns_of(K::C2s) as f64);
		set(&mut v, Series::ConnWs, c.conns_of(K::Ws) as f64);
		set(&mut v, Series::ConnS2s, (c.conns_of(K::S2sIn) + c.conns_of(K::S2sOut)) as f64);
		set(&mut v, Series::Sessions, server.sessions.borrow().count() as f64);
		let delta = |a: u64, b: u64| a.wrapping_sub(b) as f64;
		set(&mut v, Series::Messages, delta(c.stanzas_in[0], prev.stanzas_in[0]));
		set(&mut v, Series::Logins, delta(c.logins, prev.logins));
		set(&mut v, Series::LoginFailures, delta(c.login_failures, prev.login_failures));
		set(&mut v, Series::RssBytes, process.rss_bytes as f64);
		v[Series::CpuPercent as usize] = cpu.unwrap_or(f32::NAN);
		set(&mut v, Series::DbBytes, storage.db_bytes as f64);
		set(&mut v, Series::UploadBytes, storage.upload_bytes as f64);
		if let Some(a) = stats.active.get() {
			set(&mut v, Series::Active1d, a[0] as f64);
			set(&mut v, Series::Active7d, a[1] as f64);
			set(&mut v, Series::Active30d, a[2] as f64);
		}
		prev = c;
		let unix = unix_now();
		let slot = unix / LEVELS[0].res;
		let done = {
			let mut acc = stats.acc.borrow_mut();
			let done = (acc.slot != slot && !acc.is_empty()).then(|| acc.clone());
			if acc.slot != slot {
				*acc = Acc::new(slot);
			}
			acc.add(&v);
			done
		};
		if done.is_some() || first {
			first = false;
			let changed = done
				.map(|acc| {
					log::debug!("statistics: storing the point of {}", acc.slot * LEVELS[0].res);
					stats.rings.borrow_mut().record(acc.slot, acc.value())
				})
				.unwrap_or_default();
			let records: Vec<crate::store::StatRecord> = changed.iter().map(|(l, i, p)| (*l, *i, p.slot, p.v.to_vec())).collect();
			let mut logins = super::take_logins();
			// Someone connected for days (or resuming, XEP-0198) logs in
			// seldom: whoever is online counts as active, once a day.
			if unix / 86_400 != day_marked {
				day_marked = unix / 86_400;
				let sessions = server.sessions.borrow();
				let mut online: Vec<Box<str>> = sessions.all().filter_map(|s| s.jid.node()).map(Box::from).collect();
				online.sort_unstable();
				online.dedup();
				logins.extend(online);
			}
			let day = u32::try_from(unix / 86_400).unwrap_or(u32::MAX);
			// One write for everything: the points, the logins, the count.
			let counted = store
				.write(move |tx| {
					tx.put_stat_points(&records)?;
					tx.mark_active(&logins, day)?;
					tx.count_active(day, ACTIVE_DAYS)
				})
				.await;
			match counted {
				Ok(a) => stats.active.set(Some(a)),
				Err(e) => log::warn!("statistics not stored: {e}"),
			}
		}
		async_io::Timer::after(SAMPLE).await;
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn process_figures_are_read_from_proc() {
		let p = read_process();
		assert!(p.rss_bytes > 1 << 20, "{p:?}");
		assert!(p.open_fds >= 3, "{p:?}");
		let spin = std::time::Instant::now();
		while spin.elapsed() < Duration::from_millis(50) {}
		assert!(read_process().cpu_seconds > 0.0);
	}

	#[test]
	fn stored_points_come_back_after_a_restart_and_the_current_one_goes_on() {
		let t = crate::store::test_support::temp_store();
		let slot = unix_now() / LEVELS[0].res;
		let mut rings = Rings::default();
		let mut v = [f32::NAN; N];
		v[Series::Sessions as usize] = 4.0;
		v[Series::Messages as usize] = 10.0;
		let mut records = Vec::new();
		for s in [slot - 1, slot] {
			records.extend(rings.record(s, v).into_iter().map(|(l, i, p)| (l, i, p.slot, p.v.to_vec())));
		}
		t.store.write_blocking(move |tx| tx.put_stat_points(&records)).unwrap();
		let stats = Stats::load(&t.store);
		let now = unix_now();
		let day = stats.points(Series::Sessions, Range::Day, now);
		assert_eq!(day[day.len() - 2].1, 4.0, "the point before the restart");
		assert_eq!(day.last().unwrap().1, 4.0, "the current slot's point, as a sample");
		// A sample after the restart joins the stored one: 2 + 10 messages.
		let mut w = [f32::NAN; N];
		w[Series::Messages as usize] = 2.0;
		stats.acc.borrow_mut().add(&w);
		assert_eq!(stats.points(Series::Messages, Range::Day, now).last().unwrap().1, 12.0);
		let svg = stats.plot(Series::Sessions, Range::Week, super::super::svg::DEFAULT_SIZE);
		assert!(svg.contains("now 4"), "{svg}");
	}

	#[test]
	fn a_point_sums_counts_and_averages_levels() {
		let mut acc = Acc::new(7);
		let mut v = [f32::NAN; N];
		v[Series::Messages as usize] = 3.0;
		v[Series::Sessions as usize] = 2.0;
		acc.add(&v);
		v[Series::Sessions as usize] = 4.0;
		acc.add(&v);
		let p = acc.value();
		assert_eq!(p[Series::Messages as usize], 6.0);
		assert_eq!(p[Series::Sessions as usize], 3.0);
		assert!(p[Series::DbBytes as usize].is_nan());
	}
}
