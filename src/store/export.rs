//! Whole-account reads for export (`migrate`): everything one account
//! stored, in the order it was stored.

use super::mam::decode_item;
use super::tables::{MAM, OFFLINE, PRIVATE};
use super::typed::{OpenRead as _, Readable as _};
use super::{Archived, Snapshot, StoreError};

impl Snapshot {
	/// Every offline message of `user`, oldest first.
	pub fn offline_all(&self, user: &str) -> Result<Vec<Vec<u8>>, StoreError> {
		let t = self.tx.open(OFFLINE)?;
		let mut out = Vec::new();
		for row in t.range((user, 0)..=(user, u64::MAX))? {
			out.push(row?.1.value().to_vec());
		}
		Ok(out)
	}

	/// Every archived message of `user`, oldest first.
	pub fn archive_all(&self, user: &str) -> Result<Vec<Archived>, StoreError> {
		let t = self.tx.open(MAM)?;
		let mut out = Vec::new();
		for row in t.range((user, 0)..=(user, u64::MAX))? {
			let (k, v) = row?;
			out.push(decode_item(k.value().1, v.value())?);
		}
		Ok(out)
	}

	/// Every private XML fragment of `user` as (key "ns name", xml).
	pub fn private_all(&self, user: &str) -> Result<Vec<(String, String)>, StoreError> {
		let t = self.tx.open(PRIVATE)?;
		let mut out = Vec::new();
		for row in t.range((user, "")..)? {
			let (k, v) = row?;
			let (u, key) = k.value();
			if u != user {
				break;
			}
			out.push((key.to_owned(), String::from_utf8_lossy(v.value()).into_owned()));
		}
		Ok(out)
	}
}
