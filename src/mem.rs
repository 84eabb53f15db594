//! The memory budget: one ledger of the bytes peers can make the server
//! hold (stanzas half read, stanzas queued for a session or another server,
//! stanzas a client has not acknowledged or that wait while it is away or
//! inactive, room history), checked against `max_memory_bytes`.
//!
//! Every holder also has a bound of its own (per stanza, per session, per
//! link, per room); the ledger is the backstop for their sum, so that no mix
//! of attacks can take the box's memory. What happens when it is full is
//! decided by the holder (see the README's limits table): a stream that is
//! reading a stanza ends with `resource-constraint`, a stanza for a session
//! bounces with `resource-constraint`, room history drops its oldest.
//!
//! History is kept only while the ledger is under half full, so a room's
//! past never crowds out what is being delivered now.
//!
//! The ledger is per thread: what it counts lives on the executor thread
//! (the only one with connections), and a [`Charge`] is not `Send`, so it is
//! released on the thread that took it. Other threads (the storage writer,
//! unit tests) see a ledger without a limit.

use std::cell::Cell;
use std::marker::PhantomData;

thread_local! {
	static USED: Cell<usize> = const { Cell::new(0) };
	static LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
	static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// How a charge may use the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
	/// What is on its way (read, queued, unacknowledged): the whole budget.
	Transit,
	/// What is kept for later (room history): only while under half of it.
	Kept,
}

/// The budget cannot take more now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

/// Sets this thread's budget (the server does it at start).
pub fn set_limit(bytes: usize) {
	LIMIT.with(|l| l.set(bytes));
}

pub fn limit() -> usize {
	LIMIT.with(Cell::get)
}

/// Bytes counted now.
pub fn used() -> usize {
	USED.with(Cell::get)
}

/// The most counted since the last call (for housekeeping and `status`).
pub fn take_peak() -> usize {
	PEAK.with(|p| p.replace(used()))
}

/// Would `more` bytes fit in `class` now?
pub fn fits(more: usize, class: Class) -> bool {
	let cap = match class {
		Class::Transit => limit(),
		Class::Kept => limit() / 2,
	};
	used().checked_add(more).is_some_and(|total| total <= cap)
}

fn add(bytes: usize) {
	let now = USED.with(|u| {
		let v = u.get().saturating_add(bytes);
		u.set(v);
		v
	});
	PEAK.with(|p| p.set(p.get().max(now)));
}

/// Bytes counted against the budget until this is dropped.
#[derive(Debug)]
pub struct Charge {
	bytes: usize,
	/// Released on the thread that counted it.
	_here: PhantomData<*const ()>,
}

impl Default for Charge {
	fn default() -> Charge {
		Charge::none()
	}
}

impl Charge {
	/// Nothing counted (yet).
	pub const fn none() -> Charge {
		Charge { bytes: 0, _here: PhantomData }
	}

	/// Counts `bytes` if the budget has room for them in `class`.
	pub fn try_new(bytes: usize, class: Class) -> Result<Charge, Exhausted> {
		if !fits(bytes, class) {
			return Err(Exhausted);
		}
		add(bytes);
		Ok(Charge { bytes, _here: PhantomData })
	}

	/// Counts `bytes` whatever the budget says: for what other limits
	/// already bound (answers to a session's own requests).
	pub fn force(bytes: usize) -> Charge {
		add(bytes);
		Charge { bytes, _here: PhantomData }
	}

	/// Changes the count to `bytes`; growing needs room in `class`.
	pub fn resize(&mut self, bytes: usize, class: Class) -> Result<(), Exhausted> {
		if bytes > self.bytes {
			let more = bytes - self.bytes;
			if !fits(more, class) {
				return Err(Exhausted);
			}
			add(more);
		} else {
			USED.with(|u| u.set(u.get().saturating_sub(self.bytes - bytes)));
		}
		self.bytes = bytes;
		Ok(())
	}

	pub fn bytes(&self) -> usize {
		self.bytes
	}
}

impl Drop for Charge {
	fn drop(&mut self) {
		USED.with(|u| u.set(u.get().saturating_sub(self.bytes)));
	}
}

/// The default `max_memory_bytes`: a sixteenth of the machine's memory,
/// between 16 MiB and 64 MiB (64 MiB on a 1 GiB Raspberry Pi). An office
/// never needs more in flight; a bigger box may be given more by hand.
pub fn default_limit() -> usize {
	const MIB: usize = 1 << 20;
	let total = nix::sys::sysinfo::sysinfo().map(|i| i.ram_total()).unwrap_or(1 << 30);
	usize::try_from(total / 16).unwrap_or(usize::MAX).clamp(16 * MIB, 64 * MIB)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn charges_count_until_dropped_and_respect_the_limit() {
		// Each test thread has a ledger of its own.
		set_limit(1000);
		let a = Charge::try_new(400, Class::Transit).unwrap();
		assert_eq!(used(), 400);
		// History only while under half.
		assert_eq!(Charge::try_new(200, Class::Kept).unwrap_err(), Exhausted);
		let b = Charge::try_new(100, Class::Kept).unwrap();
		let mut c = Charge::try_new(500, Class::Transit).unwrap();
		assert!(Charge::try_new(1, Class::Transit).is_err());
		assert!(c.resize(501, Class::Transit).is_err());
		c.resize(100, Class::Transit).unwrap();
		assert_eq!(used(), 600);
		drop((a, b));
		assert_eq!(used(), 100);
		let forced = Charge::force(5000);
		assert_eq!(used(), 5100);
		assert!(take_peak() >= 5100);
		drop((c, forced));
		assert_eq!(used(), 0);
	}

	#[test]
	fn default_fits_a_small_box() {
		let d = default_limit();
		assert!((16 << 20..=64 << 20).contains(&d), "{d}");
	}
}
