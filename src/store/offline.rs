//! Offline message storage (XEP-0160): per account, in arrival order.

use super::typed::{OpenWrite as _, Readable};

use super::tables::{OFFLINE, OFFLINE_BYTES};
use super::{StoreError, Tx};

/// How much one account may have waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineQuota {
	pub messages: usize,
	pub bytes: u64,
}

/// Result of [`Tx::push_offline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
	Stored,
	/// The account already holds its quota of messages or bytes.
	Full,
	/// There is no such account (any more): a message for a session that
	/// ended because its account was deleted must not wait for an account
	/// made later with the same name.
	NoAccount,
}

impl Tx<'_> {
	/// The oldest stored messages, at most `limit` of them and no more than
	/// `max_bytes` together (but at least one). Read in the writer so no
	/// message still being stored is missed (a delivery reads a batch, sends
	/// it, then [`Tx::drop_offline`]s it).
	pub fn offline_batch(&self, user: &str, limit: usize, max_bytes: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
		let t = self.tx.open(OFFLINE)?;
		let mut out = Vec::new();
		let mut bytes = 0;
		for row in t.range((user, 0)..=(user, u64::MAX))?.take(limit) {
			let (k, v) = row?;
			let v = v.value();
			if !out.is_empty() && bytes + v.len() > max_bytes {
				break;
			}
			bytes += v.len();
			out.push((k.value().1, v.to_vec()));
		}
		Ok(out)
	}

	/// Bytes `user` has stored (counted once from the rows if not known yet).
	fn offline_bytes(&self, user: &str) -> Result<u64, StoreError> {
		if let Some(n) = self.tx.open(OFFLINE_BYTES)?.get(user)? {
			return Ok(n.value());
		}
		let t = self.tx.open(OFFLINE)?;
		let mut n = 0;
		for row in t.range((user, 0)..=(user, u64::MAX))? {
			n += row?.1.value().len() as u64;
		}
		Ok(n)
	}

	/// Appends a message unless `user` would then hold more than its quota.
	pub fn push_offline(&self, user: &str, stanza: &[u8], quota: OfflineQuota) -> Result<Pushed, StoreError> {
		if !self.account_exists(user)? {
			return Ok(Pushed::NoAccount);
		}
		let used = self.offline_bytes(user)?;
		let mut t = self.tx.open(OFFLINE)?;
		let (count, last) = {
			let mut range = t.range((user, 0)..=(user, u64::MAX))?;
			let last = range.next_back().transpose()?.map(|(k, _)| k.value().1);
			// Counting is bounded by the quota: the range stops being walked there.
			(if last.is_some() { 1 + range.take(quota.messages).count() } else { 0 }, last)
		};
		let bytes = used + stanza.len() as u64;
		if count >= quota.messages || bytes > quota.bytes {
			return Ok(Pushed::Full);
		}
		let seq = last.map_or(0, |s| s + 1);
		t.insert((user, seq), stanza)?;
		self.tx.open(OFFLINE_BYTES)?.insert(user, bytes)?;
		Ok(Pushed::Stored)
	}

	/// Deletes messages up to and including `upto` (after delivery).
	pub fn drop_offline(&self, user: &str, upto: u64) -> Result<(), StoreError> {
		let used = self.offline_bytes(user)?;
		let mut gone = 0;
		self.tx.open(OFFLINE)?.retain_in((user, 0)..=(user, upto), |_, v| {
			gone += v.len() as u64;
			false
		})?;
		self.tx.open(OFFLINE_BYTES)?.insert(user, used.saturating_sub(gone))?;
		Ok(())
	}

	/// Deletes every stored message of `user` (with the account).
	pub fn clear_offline(&self, user: &str) -> Result<(), StoreError> {
		self.tx.open(OFFLINE)?.retain_in((user, 0)..=(user, u64::MAX), |_, _| false)?;
		self.tx.open(OFFLINE_BYTES)?.remove(user)?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::{temp_store, test_account};

	const THREE: OfflineQuota = OfflineQuota { messages: 3, bytes: 1 << 20 };

	#[test]
	fn push_respects_cap_and_drop_removes_delivered() {
		let t = temp_store();
		// Nothing is kept for an account that does not exist.
		assert_eq!(t.store.write_blocking(|tx| tx.push_offline("bob", b"m", THREE)).unwrap(), Pushed::NoAccount);
		for user in ["bob", "bobby"] {
			t.store.write_blocking(move |tx| tx.create_account(user, &test_account())).unwrap();
		}
		for i in 0..3 {
			let body = format!("m{i}");
			let r = t.store.write_blocking(move |tx| tx.push_offline("bob", body.as_bytes(), THREE)).unwrap();
			assert_eq!(r, Pushed::Stored);
		}
		assert_eq!(t.store.write_blocking(|tx| tx.push_offline("bob", b"m3", THREE)).unwrap(), Pushed::Full);
		t.store.write_blocking(|tx| tx.push_offline("bobby", b"other", THREE)).unwrap();
		let msgs = t.store.write_blocking(|tx| tx.offline_batch("bob", usize::MAX, usize::MAX)).unwrap();
		assert_eq!(msgs.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![0, 1, 2]);
		assert_eq!(msgs[2].1, b"m2");
		t.store.write_blocking(|tx| tx.drop_offline("bob", 1)).unwrap();
		assert_eq!(t.store.write_blocking(|tx| tx.offline_batch("bob", usize::MAX, usize::MAX)).unwrap().len(), 1);
		assert_eq!(t.store.write_blocking(|tx| tx.offline_batch("bobby", 10, usize::MAX)).unwrap().len(), 1);
	}

	#[test]
	fn bytes_are_capped_counted_back_and_batched() {
		let t = temp_store();
		t.store.write_blocking(|tx| tx.create_account("bob", &test_account())).unwrap();
		let quota = OfflineQuota { messages: 100, bytes: 250 };
		let push = |n: usize| t.store.write_blocking(move |tx| tx.push_offline("bob", &vec![b'x'; n], quota)).unwrap();
		assert_eq!(push(100), Pushed::Stored);
		assert_eq!(push(100), Pushed::Stored);
		assert_eq!(push(51), Pushed::Full);
		assert_eq!(push(50), Pushed::Stored);
		assert_eq!(push(1), Pushed::Full);
		// Batches stop at a byte budget, but always hold one message.
		let sizes = |max| {
			t.store.write_blocking(move |tx| tx.offline_batch("bob", 10, max)).unwrap().iter().map(|(_, m)| m.len()).collect::<Vec<_>>()
		};
		assert_eq!(sizes(150), [100]);
		assert_eq!(sizes(10), [100]);
		assert_eq!(sizes(200), [100, 100]);
		// Delivered messages leave the quota.
		t.store.write_blocking(|tx| tx.drop_offline("bob", 0)).unwrap();
		assert_eq!(push(100), Pushed::Stored);
		// A database from before the count: it is made from the rows.
		t.store.write_blocking(|tx| Ok(tx.tx.open(OFFLINE_BYTES)?.remove("bob").map(|_| ())?)).unwrap();
		assert_eq!(push(1), Pushed::Full);
		t.store.write_blocking(|tx| tx.clear_offline("bob")).unwrap();
		assert_eq!(push(250), Pushed::Stored);
	}
}
