//! XEP-0191 block lists: one row per (account, blocked JID).

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::tables::BLOCKLIST;
use super::{Snapshot, StoreError, Tx};

impl Snapshot {
	/// Every (account, blocked JID), for the in-memory copy made at start.
	pub fn all_blocklists(&self) -> Result<Vec<(String, String)>, StoreError> {
		let t = self.tx.open(BLOCKLIST)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, _) = row?;
			let (user, jid) = k.value();
			out.push((user.to_owned(), jid.to_owned()));
		}
		Ok(out)
	}
}

impl Tx<'_> {
	fn blocklist_len(&self, user: &str) -> Result<usize, StoreError> {
		let t = self.tx.open(BLOCKLIST)?;
		let mut n = 0;
		for row in t.range((user, "")..)? {
			if row?.0.value().0 != user {
				break;
			}
			n += 1;
		}
		Ok(n)
	}

	/// Adds `jids`; false (nothing written) if the list would pass `max`.
	pub fn block(&self, user: &str, jids: &[String], max: usize) -> Result<bool, StoreError> {
		let mut t = self.tx.open(BLOCKLIST)?;
		let new = jids.iter().filter(|j| t.get((user, j.as_str())).is_ok_and(|g| g.is_none())).count();
		drop(t);
		if self.blocklist_len(user)? + new > max {
			return Ok(false);
		}
		t = self.tx.open(BLOCKLIST)?;
		for j in jids {
			t.insert((user, j.as_str()), ())?;
		}
		Ok(true)
	}

	/// Removes `jids`, or everything when `None`; returns what was removed.
	pub fn unblock(&self, user: &str, jids: Option<&[String]>) -> Result<Vec<String>, StoreError> {
		let mut t = self.tx.open(BLOCKLIST)?;
		let mut removed = Vec::new();
		match jids {
			Some(jids) => {
				for j in jids {
					if t.remove((user, j.as_str()))?.is_some() {
						removed.push(j.clone());
					}
				}
			}
			None => {
				t.retain_in((user, "")..=(user, "\u{10ffff}"), |k, _| {
					removed.push(k.1.to_owned());
					false
				})?;
			}
		}
		Ok(removed)
	}
}
