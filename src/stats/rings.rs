//! The time series behind the plots: for every series, three rings of
//! fixed resolution (24 h of 5-minute points, 7 days of hourly points, 30
//! days of 6-hour points). A point holds every series at once, so a ring
//! slot is one small record: `LEVELS` bounds the records (576) and `N` their
//! size, whatever runs for how long. Pure data, no I/O: `sampler` feeds it
//! and stores what [`Rings::record`] says changed.

/// What is plotted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
	/// Client connections over TCP.
	ConnC2s,
	/// Client connections over WebSocket.
	ConnWs,
	/// Server-to-server connections, both ways.
	ConnS2s,
	Sessions,
	/// Messages from clients, servers and components.
	Messages,
	Logins,
	LoginFailures,
	RssBytes,
	CpuPercent,
	DbBytes,
	UploadBytes,
	Active1d,
	Active7d,
	Active30d,
}

/// Number of series (values in a point).
pub const N: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
	Count,
	Bytes,
	Percent,
}

impl Series {
	pub const ALL: [Series; N] = [
		Series::ConnC2s,
		Series::ConnWs,
		Series::ConnS2s,
		Series::Sessions,
		Series::Messages,
		Series::Logins,
		Series::LoginFailures,
		Series::RssBytes,
		Series::CpuPercent,
		Series::DbBytes,
		Series::UploadBytes,
		Series::Active1d,
		Series::Active7d,
		Series::Active30d,
	];

	/// Its name in URLs and the API (`/stats/NAME.svg` for the console).
	pub fn name(self) -> &'static str {
		match self {
			Series::ConnC2s => "connections_c2s",
			Series::ConnWs => "connections_websocket",
			Series::ConnS2s => "connections_s2s",
			Series::Sessions => "sessions",
			Series::Messages => "messages",
			Series::Logins => "logins",
			Series::LoginFailures => "login_failures",
			Series::RssBytes => "memory",
			Series::CpuPercent => "cpu",
			Series::DbBytes => "database",
			Series::UploadBytes => "uploads",
			Series::Active1d => "active_1d",
			Series::Active7d => "active_7d",
			Series::Active30d => "active_30d",
		}
	}

	pub fn parse(name: &str) -> Option<Series> {
		Series::ALL.into_iter().find(|s| s.name() == name)
	}

	/// A plot's title.
	pub fn title(self) -> &'static str {
		match self {
			Series::ConnC2s => "Client connections",
			Series::ConnWs => "WebSocket connections",
			Series::ConnS2s => "Server connections",
			Series::Sessions => "Sessions",
			Series::Messages => "Messages",
			Series::Logins => "Logins",
			Series::LoginFailures => "Failed logins",
			Series::RssBytes => "Memory (RSS)",
			Series::CpuPercent => "CPU",
			Series::DbBytes => "Database size",
			Series::UploadBytes => "Uploaded files",
			Series::Active1d => "Active people (1 day)",
			Series::Active7d => "Active people (7 days)",
			Series::Active30d => "Active people (30 days)",
		}
	}

	pub fn unit(self) -> Unit {
		match self {
			Series::RssBytes | Series::DbBytes | Series::UploadBytes => Unit::Bytes,
			Series::CpuPercent => Unit::Percent,
			_ => Unit::Count,
		}
	}

	/// Events counted per point (summed when points are merged) rather
	/// than a level sampled (averaged).
	pub fn is_count(self) -> bool {
		matches!(self, Series::Messages | Series::Logins | Series::LoginFailures)
	}
}

/// One ring: `len` points `res` seconds apart.
#[derive(Debug, Clone, Copy)]
pub struct Level {
	pub res: u64,
	pub len: usize,
}

/// Finest first; each level's ring covers at least one point of the next.
pub const LEVELS: [Level; 3] = [Level { res: 300, len: 288 }, Level { res: 3600, len: 168 }, Level { res: 21_600, len: 120 }];

/// What a plot shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
	Day,
	Week,
	Month,
}

impl Range {
	pub const ALL: [Range; 3] = [Range::Day, Range::Week, Range::Month];

	pub fn level(self) -> usize {
		self as usize
	}

	pub fn name(self) -> &'static str {
		match self {
			Range::Day => "24h",
			Range::Week => "7d",
			Range::Month => "30d",
		}
	}

	pub fn parse(s: &str) -> Option<Range> {
		Range::ALL.into_iter().find(|r| r.name() == s)
	}

	/// Seconds between points.
	pub fn res(self) -> u64 {
		LEVELS[self.level()].res
	}
}

/// Every series at one slot (`slot * res` = its start in unix seconds);
/// NaN = not known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
	pub slot: u64,
	pub v: [f32; N],
}

/// A changed ring record: (level, index in its ring, point).
pub type Changed = (u8, u16, Point);

#[derive(Clone)]
pub struct Rings {
	levels: [Vec<Option<Point>>; 3],
}

impl Default for Rings {
	fn default() -> Rings {
		Rings { levels: std::array::from_fn(|l| vec![None; LEVELS[l].len]) }
	}
}

impl Rings {
	/// Puts a stored record back (at start-up); out-of-range ones are ignored.
	pub fn load(&mut self, level: u8, index: u16, p: Point) {
		let Some(ring) = self.levels.get_mut(usize::from(level)) else { return };
		if let Some(slot) = ring.get_mut(usize::from(index))
			&& usize::try_from(p.slot % LEVELS[usize::from(level)].len as u64) == Ok(usize::from(index))
		{
			*slot = Some(p);
		}
	}

	/// The stored point of `slot` at `level`, if the ring still has it.
	pub fn point(&self, level: usize, slot: u64) -> Option<Point> {
		self.get(level, slot).copied()
	}

	fn get(&self, level: usize, slot: u64) -> Option<&Point> {
		let len = LEVELS[level].len as u64;
		self.levels[level][(slot % len) as usize].as_ref().filter(|p| p.slot == slot)
	}

	/// Records the finest point of 5-minute `slot` and recomputes the coarser
	/// points that cover it from the level below. Returns the records that
	/// changed (one per level), to be stored.
	pub fn record(&mut self, slot: u64, v: [f32; N]) -> Vec<Changed> {
		let mut changed = Vec::with_capacity(LEVELS.len());
		let mut p = Point { slot, v };
		let start = slot * LEVELS[0].res;
		for level in 0..LEVELS.len() {
			if level > 0 {
				let (fine, coarse) = (LEVELS[level - 1], LEVELS[level]);
				let cslot = start / coarse.res;
				let per = coarse.res / fine.res;
				let parts: Vec<&Point> = (cslot * per..(cslot + 1) * per).filter_map(|s| self.get(level - 1, s)).collect();
				p = Point { slot: cslot, v: merge(&parts) };
			}
			let index = (p.slot % LEVELS[level].len as u64) as usize;
			self.levels[level][index] = Some(p);
			changed.push((level as u8, index as u16, p));
		}
		changed
	}

	/// The points of `series` over `range` up to `now` (unix seconds),
	/// oldest first, one per slot: (slot start, value), NaN where unknown.
	pub fn points(&self, series: Series, range: Range, now: u64) -> Vec<(u64, f32)> {
		let (level, l) = (range.level(), LEVELS[range.level()]);
		let last = now / l.res;
		let first = (last + 1).saturating_sub(l.len as u64);
		(first..=last).map(|s| (s * l.res, self.get(level, s).map_or(f32::NAN, |p| p.v[series as usize]))).collect()
	}

	/// The newest known value of `series` at the finest level.
	pub fn latest(&self, series: Series) -> Option<f32> {
		self.levels[0].iter().flatten().max_by_key(|p| p.slot).map(|p| p.v[series as usize]).filter(|v| !v.is_nan())
	}
}

/// A coarser point from finer ones: counts add up, levels average; a
/// series none of them knows stays unknown.
fn merge(parts: &[&Point]) -> [f32; N] {
	std::array::from_fn(|i| {
		let known: Vec<f32> = parts.iter().map(|p| p.v[i]).filter(|v| !v.is_nan()).collect();
		if known.is_empty() {
			return f32::NAN;
		}
		let sum: f64 = known.iter().map(|v| f64::from(*v)).sum();
		if Series::ALL[i].is_count() { sum as f32 } else { (sum / known.len() as f64) as f32 }
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	fn values(x: f32) -> [f32; N] {
		[x; N]
	}

	#[test]
	fn a_ring_keeps_its_length_and_its_newest_points() {
		let mut r = Rings::default();
		let day = LEVELS[0].len as u64;
		for s in 0..3 * day {
			r.record(1000 + s, values(s as f32));
		}
		let now = (1000 + 3 * day - 1) * 300;
		let pts = r.points(Series::Sessions, Range::Day, now);
		assert_eq!(pts.len(), LEVELS[0].len);
		assert_eq!(pts.first().unwrap().1, (2 * day) as f32, "the oldest kept is a day old");
		assert_eq!(pts.last().unwrap(), &(now, (3 * day - 1) as f32));
		assert!(r.levels.iter().zip(LEVELS).all(|(ring, l)| ring.len() == l.len));
	}

	#[test]
	fn missing_points_are_gaps_and_stale_ones_are_not_shown() {
		let mut r = Rings::default();
		r.record(10, values(1.0));
		r.record(12, values(3.0));
		let pts = r.points(Series::Messages, Range::Day, 12 * 300 + 299);
		let tail: Vec<f32> = pts[pts.len() - 3..].iter().map(|p| p.1).collect();
		assert_eq!(tail[0], 1.0);
		assert!(tail[1].is_nan());
		assert_eq!(tail[2], 3.0);
		// A day later the same ring indexes hold old slots: not shown.
		let later = r.points(Series::Messages, Range::Day, (12 + 288 + 5) * 300);
		assert!(later.iter().all(|p| p.1.is_nan()));
	}

	#[test]
	fn coarser_points_sum_counts_and_average_levels() {
		let mut r = Rings::default();
		// Twelve 5-minute points make the hour starting at slot 12 * 100.
		let base = 12 * 100;
		let mut changed = Vec::new();
		for i in 0..12 {
			let mut v = values(f32::NAN);
			v[Series::Messages as usize] = 2.0;
			v[Series::Sessions as usize] = i as f32;
			changed = r.record(base + i, v);
		}
		assert_eq!(changed.len(), 3, "one record per level");
		let hour = r.points(Series::Messages, Range::Week, (base + 11) * 300);
		assert_eq!(hour.last().unwrap().1, 24.0);
		let avg = r.points(Series::Sessions, Range::Week, (base + 11) * 300).last().unwrap().1;
		assert!((avg - 5.5).abs() < 1e-6, "{avg}");
		assert!(r.points(Series::RssBytes, Range::Week, (base + 11) * 300).last().unwrap().1.is_nan());
		// The 6-hour point so far is that one hour.
		assert_eq!(r.points(Series::Messages, Range::Month, (base + 11) * 300).last().unwrap().1, 24.0);
	}

	#[test]
	fn loaded_records_come_back_and_bad_ones_are_ignored() {
		let mut r = Rings::default();
		let changed = r.record(5000, values(7.0));
		let mut again = Rings::default();
		for (l, i, p) in changed {
			again.load(l, i, p);
		}
		again.load(9, 0, Point { slot: 1, v: values(1.0) });
		again.load(0, 3, Point { slot: 1, v: values(1.0) });
		assert_eq!(again.latest(Series::DbBytes), Some(7.0));
		assert_eq!(again.points(Series::DbBytes, Range::Month, 5000 * 300).last().unwrap().1, 7.0);
	}
}
