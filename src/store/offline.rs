//! Offline message storage (XEP-0160): per account, in arrival order.

use redb::ReadableTable;

use super::tables::OFFLINE;
use super::{StoreError, Tx};

type OfflineTable = (&'static str, u64);

fn read_all(t: &impl ReadableTable<OfflineTable, &'static [u8]>, user: &str, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
	let mut out = Vec::new();
	for row in t.range((user, 0)..=(user, u64::MAX))?.take(limit) {
		let (k, v) = row?;
		out.push((k.value().1, v.value().to_vec()));
	}
	Ok(out)
}

/// Result of [`Tx::push_offline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
	Stored,
	/// The account already holds `max` messages.
	Full,
	/// There is no such account (any more): a message for a session that
	/// ended because its account was deleted must not wait for an account
	/// made later with the same name.
	NoAccount,
}

impl Tx<'_> {
	/// The oldest `limit` stored messages, read in the writer so no message
	/// still being stored is missed (a delivery reads a batch, sends it, then
	/// [`Tx::drop_offline`]s it).
	pub fn offline_batch(&self, user: &str, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
		read_all(&self.tx.open_table(OFFLINE)?, user, limit)
	}

	/// Appends a message unless `user` already has `max` stored.
	pub fn push_offline(&self, user: &str, stanza: &[u8], max: usize) -> Result<Pushed, StoreError> {
		if !self.account_exists(user)? {
			return Ok(Pushed::NoAccount);
		}
		let mut t = self.tx.open_table(OFFLINE)?;
		let (count, last) = {
			let mut range = t.range((user, 0)..=(user, u64::MAX))?;
			let last = range.next_back().transpose()?.map(|(k, _)| k.value().1);
			// Counting is bounded by `max`: the range stops being walked there.
			(if last.is_some() { 1 + range.take(max).count() } else { 0 }, last)
		};
		if count >= max {
			return Ok(Pushed::Full);
		}
		let seq = last.map_or(0, |s| s + 1);
		t.insert((user, seq), stanza)?;
		Ok(Pushed::Stored)
	}

	/// Deletes messages up to and including `upto` (after delivery).
	pub fn drop_offline(&self, user: &str, upto: u64) -> Result<(), StoreError> {
		let mut t = self.tx.open_table(OFFLINE)?;
		t.retain_in((user, 0)..=(user, upto), |_, _| false)?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::{temp_store, test_account};

	#[test]
	fn push_respects_cap_and_drop_removes_delivered() {
		let t = temp_store();
		// Nothing is kept for an account that does not exist.
		assert_eq!(t.store.write_blocking(|tx| tx.push_offline("bob", b"m", 3)).unwrap(), Pushed::NoAccount);
		for user in ["bob", "bobby"] {
			t.store.write_blocking(move |tx| tx.create_account(user, &test_account())).unwrap();
		}
		for i in 0..3 {
			let body = format!("m{i}");
			let r = t.store.write_blocking(move |tx| tx.push_offline("bob", body.as_bytes(), 3)).unwrap();
			assert_eq!(r, Pushed::Stored);
		}
		assert_eq!(t.store.write_blocking(|tx| tx.push_offline("bob", b"m3", 3)).unwrap(), Pushed::Full);
		t.store.write_blocking(|tx| tx.push_offline("bobby", b"other", 3)).unwrap();
		let msgs = t.store.write_blocking(|tx| tx.offline_batch("bob", usize::MAX)).unwrap();
		assert_eq!(msgs.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![0, 1, 2]);
		assert_eq!(msgs[2].1, b"m2");
		t.store.write_blocking(|tx| tx.drop_offline("bob", 1)).unwrap();
		assert_eq!(t.store.write_blocking(|tx| tx.offline_batch("bob", usize::MAX)).unwrap().len(), 1);
		assert_eq!(t.store.write_blocking(|tx| tx.offline_batch("bobby", 10)).unwrap().len(), 1);
	}
}
