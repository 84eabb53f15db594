//! What the admin engine keeps besides accounts: one-time password reset
//! tokens, the message of the day, and how much an account stores.

use super::typed::{OpenRead as _, OpenWrite as _, Readable as _};

use super::codec::{Reader, Writer};
use super::tables::{MAM_BYTES, NOTICES, OFFLINE_BYTES, RESETS, UPLOAD_USAGE};
use super::{Snapshot, StoreError, Tx};

fn decode_reset(buf: &[u8]) -> Result<(String, u64), StoreError> {
	let (mut r, _) = Reader::new(buf)?;
	Ok((r.string()?, r.u64()?))
}

/// The notice holding the message of the day.
const MOTD: &str = "motd";

impl Snapshot {
	/// The account a reset token is for, while it is good at `now`.
	pub fn reset(&self, token: &str, now: u64) -> Result<Option<String>, StoreError> {
		let t = self.tx.open(RESETS)?;
		let found = t.get(token)?.map(|g| decode_reset(g.value())).transpose()?;
		Ok(found.filter(|(_, expires)| *expires > now).map(|(user, _)| user))
	}

	pub fn motd(&self) -> Result<Option<String>, StoreError> {
		Ok(self.tx.open(NOTICES)?.get(MOTD)?.map(|g| g.value().to_owned()))
	}

	/// Bytes `user` keeps in its archive, offline queue and uploads (kept
	/// counters: no scan).
	pub fn storage_bytes(&self, user: &str) -> Result<u64, StoreError> {
		let mut sum = 0;
		for table in [MAM_BYTES, OFFLINE_BYTES, UPLOAD_USAGE] {
			sum += self.tx.open(table)?.get(user)?.map_or(0, |g| g.value());
		}
		Ok(sum)
	}
}

impl Tx<'_> {
	/// Stores a reset token for `user`, replacing any older one of theirs
	/// and dropping expired ones; false (nothing stored) when `max` tokens
	/// are open already.
	pub fn create_reset(&self, token: &str, user: &str, expires: u64, now: u64, max: usize) -> Result<bool, StoreError> {
		let mut t = self.tx.open(RESETS)?;
		t.retain(|_, v| decode_reset(v).is_ok_and(|(u, e)| u != user && e > now))?;
		if t.len()? >= max as u64 {
			return Ok(false);
		}
		let mut w = Writer::new(1);
		w.str(user).u64(expires);
		t.insert(token, w.finish().as_slice())?;
		Ok(true)
	}

	/// Uses a token up (gone afterwards, good or not): its account, if good.
	pub fn take_reset(&self, token: &str, now: u64) -> Result<Option<String>, StoreError> {
		let found = self.tx.open(RESETS)?.remove(token)?.map(|g| decode_reset(g.value())).transpose()?;
		Ok(found.filter(|(_, expires)| *expires > now).map(|(user, _)| user))
	}

	pub fn clear_resets_of(&self, user: &str) -> Result<(), StoreError> {
		self.tx.open(RESETS)?.retain(|_, v| decode_reset(v).is_ok_and(|(u, _)| u != user))?;
		Ok(())
	}

	/// Sets (`Some`) or deletes the message of the day.
	pub fn set_motd(&self, text: Option<&str>) -> Result<(), StoreError> {
		let mut t = self.tx.open(NOTICES)?;
		match text {
			Some(text) => t.insert(MOTD, text)?,
			None => t.remove(MOTD)?,
		};
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use crate::store::test_support::temp_store;

	#[test]
	fn reset_tokens_are_used_once_expire_and_are_bounded() {
		let t = temp_store();
		assert!(t.store.write_blocking(|tx| tx.create_reset("t1", "alice", 100, 10, 2)).unwrap());
		assert!(t.store.write_blocking(|tx| tx.create_reset("t2", "bob", 100, 10, 2)).unwrap());
		// Full: a third account's token is refused...
		assert!(!t.store.write_blocking(|tx| tx.create_reset("t3", "carol", 100, 10, 2)).unwrap());
		// ...but a new one for alice replaces hers.
		assert!(t.store.write_blocking(|tx| tx.create_reset("t4", "alice", 100, 10, 2)).unwrap());
		let s = t.store.snapshot().unwrap();
		assert_eq!(s.reset("t1", 10).unwrap(), None);
		assert_eq!(s.reset("t4", 10).unwrap().as_deref(), Some("alice"));
		assert_eq!(s.reset("t4", 100).unwrap(), None, "expired");
		assert_eq!(t.store.write_blocking(|tx| tx.take_reset("t4", 10)).unwrap().as_deref(), Some("alice"));
		assert_eq!(t.store.write_blocking(|tx| tx.take_reset("t4", 10)).unwrap(), None, "used once");
		t.store.write_blocking(|tx| tx.clear_resets_of("bob")).unwrap();
		assert_eq!(t.store.snapshot().unwrap().reset("t2", 10).unwrap(), None);
	}

	#[test]
	fn the_message_of_the_day_is_set_and_deleted() {
		let t = temp_store();
		assert_eq!(t.store.snapshot().unwrap().motd().unwrap(), None);
		t.store.write_blocking(|tx| tx.set_motd(Some("Lunch at noon"))).unwrap();
		assert_eq!(t.store.snapshot().unwrap().motd().unwrap().as_deref(), Some("Lunch at noon"));
		t.store.write_blocking(|tx| tx.set_motd(None)).unwrap();
		assert_eq!(t.store.snapshot().unwrap().motd().unwrap(), None);
	}
}
