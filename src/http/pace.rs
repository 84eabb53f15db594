//! The minimum transfer rate of a body (`http_min_bytes_per_second`): every
//! period (`http_timeout`) must move at least rate × period bytes, or the
//! transfer is cut. A period starts again as soon as its bytes are in, so a
//! fast start buys no slack for a trickle later.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Pace {
	per_period: u64,
	period: Duration,
	start: Instant,
	moved: u64,
}

impl Pace {
	pub fn new(min_bytes_per_second: u64, period: Duration, now: Instant) -> Pace {
		let per_period = (min_bytes_per_second as f64 * period.as_secs_f64()).ceil() as u64;
		Pace { per_period, period, start: now, moved: 0 }
	}

	/// Counts `n` bytes moved at `now`.
	pub fn moved(&mut self, n: usize, now: Instant) {
		self.moved = self.moved.saturating_add(n as u64);
		if self.moved >= self.per_period {
			self.start = now;
			self.moved = 0;
		}
	}

	/// When the transfer is cut unless enough moves before.
	pub fn deadline(&self) -> Instant {
		self.start + self.period
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn each_period_must_move_its_bytes() {
		let t = Instant::now();
		let s = Duration::from_secs(1);
		let mut p = Pace::new(1000, 10 * s, t);
		assert_eq!(p.deadline(), t + 10 * s);
		// 9,999 bytes in 9 s: not enough for a new period.
		p.moved(9_999, t + 9 * s);
		assert_eq!(p.deadline(), t + 10 * s);
		// The 10,000th starts one.
		p.moved(1, t + 9 * s);
		assert_eq!(p.deadline(), t + 19 * s);
		// A burst counts once: the next period needs its own bytes.
		p.moved(1_000_000, t + 10 * s);
		assert_eq!(p.deadline(), t + 20 * s);
		p.moved(10, t + 15 * s);
		assert_eq!(p.deadline(), t + 20 * s);
	}
}
