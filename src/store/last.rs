//! Last activity (XEP-0012): when an account's last resource went offline.

use super::codec::{Reader, Writer};
use super::tables::LAST;
use super::{Snapshot, StoreError, Tx};

impl Snapshot {
	/// (unix seconds, status text) of the last logout, if any.
	pub fn last_activity(&self, user: &str) -> Result<Option<(u64, Option<String>)>, StoreError> {
		let t = self.tx.open_table(LAST)?;
		let Some(g) = t.get(user)? else { return Ok(None) };
		let (mut r, _) = Reader::new(g.value())?;
		Ok(Some((r.u64()?, r.opt_string()?)))
	}
}

impl Tx<'_> {
	pub fn set_last_activity(&self, user: &str, secs: u64, status: Option<&str>) -> Result<(), StoreError> {
		let mut w = Writer::new(1);
		w.u64(secs).opt_str(status);
		self.tx.open_table(LAST)?.insert(user, w.finish().as_slice())?;
		Ok(())
	}

	pub fn clear_last_activity(&self, user: &str) -> Result<(), StoreError> {
		self.tx.open_table(LAST)?.remove(user)?;
		Ok(())
	}
}
