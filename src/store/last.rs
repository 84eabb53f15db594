//! Last activity (XEP-0012): when an account's last resource went offline.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::codec::{Reader, Writer};
use super::tables::LAST;
use super::{Snapshot, StoreError, Tx};

type Last = Option<(u64, Option<String>)>;

fn read(t: &impl Readable<&'static str, &'static [u8]>, user: &str) -> Result<Last, StoreError> {
	let Some(g) = t.get(user)? else { return Ok(None) };
	decode(g.value()).map(Some)
}

pub(super) fn decode(buf: &[u8]) -> Result<(u64, Option<String>), StoreError> {
	let (mut r, _) = Reader::new(buf)?;
	Ok((r.u64()?, r.opt_string()?))
}

impl Snapshot {
	/// (unix seconds, status text) of the last logout, if any.
	pub fn last_activity(&self, user: &str) -> Result<Last, StoreError> {
		read(&self.tx.open(LAST)?, user)
	}
}

impl Tx<'_> {
	/// As [`Snapshot::last_activity`], seeing every write queued before.
	pub fn last_activity(&self, user: &str) -> Result<Last, StoreError> {
		read(&self.tx.open(LAST)?, user)
	}

	pub fn set_last_activity(&self, user: &str, secs: u64, status: Option<&str>) -> Result<(), StoreError> {
		let mut w = Writer::new(1);
		w.u64(secs).opt_str(status);
		self.tx.open(LAST)?.insert(user, w.finish().as_slice())?;
		Ok(())
	}

	pub fn clear_last_activity(&self, user: &str) -> Result<(), StoreError> {
		self.tx.open(LAST)?.remove(user)?;
		Ok(())
	}
}
