//! Statistics: the time series' ring records (see `stats::rings`) and the
//! day each account last logged in (for "active people"). Both are bounded:
//! the rings by their fixed slots, the days by the accounts (rows of deleted
//! accounts go at the next count).

use super::typed::{OpenRead as _, OpenWrite as _, Readable as _};

use super::tables::{ACCOUNTS, ACTIVE_DAY, MAM_COUNT, STATS_POINTS, UPLOAD_USAGE};
use super::{Snapshot, StoreError, Tx};

/// A ring record as stored: (level, index, slot, values).
pub type StatRecord = (u8, u16, u64, Vec<f32>);

fn encode(slot: u64, values: &[f32]) -> Vec<u8> {
	let mut out = Vec::with_capacity(8 + 4 * values.len());
	out.extend_from_slice(&slot.to_le_bytes());
	for v in values {
		out.extend_from_slice(&v.to_le_bytes());
	}
	out
}

fn decode(buf: &[u8]) -> Result<(u64, Vec<f32>), StoreError> {
	let (slot, rest) = buf.split_first_chunk::<8>().ok_or(StoreError::Corrupt("stats_points"))?;
	// Values a later version added are ignored; missing ones are the caller's NaN.
	let values = rest.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
	Ok((u64::from_le_bytes(*slot), values))
}

impl Snapshot {
	/// Every stored ring record.
	pub fn stat_points(&self) -> Result<Vec<StatRecord>, StoreError> {
		let t = self.tx.open(STATS_POINTS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, v) = row?;
			let (level, index) = k.value();
			let (slot, values) = decode(v.value())?;
			out.push((level, index, slot, values));
		}
		Ok(out)
	}

	/// Messages in every account's archive together.
	pub fn archive_messages_total(&self) -> Result<u64, StoreError> {
		let mut n = 0u64;
		for row in self.tx.open(MAM_COUNT)?.iter()? {
			n = n.saturating_add(row?.1.value());
		}
		Ok(n)
	}

	/// Bytes of every account's uploads together.
	pub fn upload_bytes_total(&self) -> Result<u64, StoreError> {
		let mut n = 0u64;
		for row in self.tx.open(UPLOAD_USAGE)?.iter()? {
			n = n.saturating_add(row?.1.value());
		}
		Ok(n)
	}
}

impl Tx<'_> {
	pub fn put_stat_points(&self, records: &[StatRecord]) -> Result<(), StoreError> {
		let mut t = self.tx.open(STATS_POINTS)?;
		for (level, index, slot, values) in records {
			t.insert((*level, *index), encode(*slot, values).as_slice())?;
		}
		Ok(())
	}

	/// `users` logged in on `day` (days since 1970).
	pub fn mark_active(&self, users: &[Box<str>], day: u32) -> Result<(), StoreError> {
		let mut t = self.tx.open(ACTIVE_DAY)?;
		for u in users {
			t.insert(&**u, day)?;
		}
		Ok(())
	}

	/// How many accounts logged in within each of `days` days up to `today`
	/// (1 = today only); rows of accounts that no longer exist are removed.
	pub fn count_active<const K: usize>(&self, today: u32, days: [u32; K]) -> Result<[u64; K], StoreError> {
		let mut t = self.tx.open(ACTIVE_DAY)?;
		let accounts = self.tx.open(ACCOUNTS)?;
		let mut counts = [0u64; K];
		let mut gone = Vec::new();
		for row in t.iter()? {
			let (user, day) = row?;
			if accounts.get(user.value().as_str())?.is_none() {
				gone.push(user.value().to_owned());
				continue;
			}
			for (n, window) in counts.iter_mut().zip(days) {
				if today.saturating_sub(day.value()) < window {
					*n += 1;
				}
			}
		}
		for u in gone {
			t.remove(u.as_str())?;
		}
		Ok(counts)
	}

	/// Rows in the active-day table (for tests of its bound).
	pub fn active_rows(&self) -> Result<u64, StoreError> {
		Ok(self.tx.open(ACTIVE_DAY)?.len()?)
	}
}

#[cfg(test)]
mod tests {
	use crate::store::test_support::{temp_store, test_account};

	#[test]
	fn ring_records_round_trip_and_overwrite_their_slot() {
		let t = temp_store();
		t.store.write_blocking(|tx| tx.put_stat_points(&[(0, 5, 293, vec![1.0, f32::NAN]), (1, 0, 168, vec![2.0])])).unwrap();
		t.store.write_blocking(|tx| tx.put_stat_points(&[(0, 5, 581, vec![3.0, 4.0])])).unwrap();
		let mut got = t.store.snapshot().unwrap().stat_points().unwrap();
		got.sort_by_key(|r| (r.0, r.1));
		assert_eq!(got.len(), 2, "one record per ring slot");
		assert_eq!((got[0].0, got[0].1, got[0].2, got[0].3.clone()), (0, 5, 581, vec![3.0, 4.0]));
		assert_eq!(got[1].3, vec![2.0]);
	}

	#[test]
	fn active_people_by_window_and_deleted_accounts_go() {
		let t = temp_store();
		t.store
			.write_blocking(|tx| {
				for u in ["a", "b", "c"] {
					tx.create_account(u, &test_account())?;
				}
				Ok(())
			})
			.unwrap();
		let day = 20_000;
		t.store.write_blocking(move |tx| tx.mark_active(&["a".into()], day - 20)).unwrap();
		t.store.write_blocking(move |tx| tx.mark_active(&["b".into(), "gone".into()], day - 3)).unwrap();
		t.store.write_blocking(move |tx| tx.mark_active(&["c".into(), "a".into()], day)).unwrap();
		let counts = t.store.write_blocking(move |tx| tx.count_active(day, [1, 7, 30])).unwrap();
		assert_eq!(counts, [2, 3, 3]);
		assert_eq!(t.store.write_blocking(|tx| tx.active_rows()).unwrap(), 3, "the deleted account's row went");
		let later = t.store.write_blocking(move |tx| tx.count_active(day + 10, [1, 7, 30])).unwrap();
		assert_eq!(later, [0, 0, 3]);
	}
}
