//! Free space on the data directory's file system (statvfs), as last seen
//! by the writer, and whether writes are failing. Shared with readers through
//! atomics, so `xerra status` never touches the disk on the executor.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What `xerra status` shows about the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStatus {
	/// Bytes an unprivileged process may still write; `None` if statvfs failed.
	pub free: Option<u64>,
	pub total: Option<u64>,
	/// Free space below `disk_free_warning_bytes`.
	pub low: bool,
	/// Why writes are refused now (disk full, an I/O error); `None` when they work.
	pub failing: Option<String>,
}

#[derive(Default)]
pub(super) struct Disk {
	free: AtomicU64,
	total: AtomicU64,
	known: AtomicBool,
	warn_below: AtomicU64,
	low: AtomicBool,
	failing: Mutex<Option<String>>,
}

/// Bytes free for us and in all, by statvfs.
fn measure(dir: &Path) -> Option<(u64, u64)> {
	let s = nix::sys::statvfs::statvfs(dir).ok()?;
	// The field types differ by target (32 bits on armv7 glibc), so widen.
	let unit = wide(s.fragment_size());
	Some((wide(s.blocks_available()).saturating_mul(unit), wide(s.blocks()).saturating_mul(unit)))
}

fn wide<T: Into<u64>>(v: T) -> u64 {
	v.into()
}

impl Disk {
	/// Measures again and logs when free space falls below the threshold or
	/// rises above it again. Returns the free bytes.
	pub(super) fn check(&self, dir: &Path) -> Option<u64> {
		let Some((free, total)) = measure(dir) else {
			self.known.store(false, Ordering::Relaxed);
			return None;
		};
		self.free.store(free, Ordering::Relaxed);
		self.total.store(total, Ordering::Relaxed);
		self.known.store(true, Ordering::Relaxed);
		let threshold = self.warn_below.load(Ordering::Relaxed);
		let low = free < threshold;
		if self.low.swap(low, Ordering::Relaxed) != low {
			if low {
				log::warn!(
					"low free space: {} free of {} on {} (disk_free_warning_bytes = {}); writes are refused when it runs out",
					mib(free),
					mib(total),
					dir.display(),
					mib(threshold)
				);
			} else {
				log::info!("free space is back above disk_free_warning_bytes: {} free on {}", mib(free), dir.display());
			}
		}
		Some(free)
	}

	pub(super) fn set_threshold(&self, bytes: u64, dir: &Path) {
		self.warn_below.store(bytes, Ordering::Relaxed);
		self.check(dir);
	}

	pub(super) fn set_failing(&self, why: Option<String>) {
		if let Ok(mut f) = self.failing.lock() {
			*f = why;
		}
	}

	pub(super) fn status(&self) -> DiskStatus {
		let known = self.known.load(Ordering::Relaxed);
		DiskStatus {
			free: known.then(|| self.free.load(Ordering::Relaxed)),
			total: known.then(|| self.total.load(Ordering::Relaxed)),
			low: known && self.low.load(Ordering::Relaxed),
			failing: self.failing.lock().ok().and_then(|f| f.clone()),
		}
	}
}

/// Bytes in MiB (or GiB) for people.
pub fn mib(bytes: u64) -> String {
	const MIB: u64 = 1 << 20;
	if bytes >= 10 << 30 { format!("{} GiB", bytes >> 30) } else { format!("{}.{} MiB", bytes / MIB, bytes % MIB * 10 / MIB) }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn measures_and_flags_low_space() {
		let d = Disk::default();
		let dir = std::env::temp_dir();
		d.set_threshold(0, &dir);
		let s = d.status();
		assert!(s.free.is_some_and(|f| f > 0) && s.total >= s.free && !s.low);
		d.set_threshold(u64::MAX, &dir);
		assert!(d.status().low);
		assert_eq!(d.check(Path::new("/nonexistent/xerra")), None);
		assert_eq!(d.status().free, None);
		assert_eq!(mib(3 << 19), "1.5 MiB");
		assert_eq!(mib(12 << 30), "12 GiB");
	}
}
