//! Department groups: named sets of accounts the admin defines (first-boot
//! wizard, `xerra group`). Membership only; what groups mean for rosters is
//! the roster feature's business.

use redb::ReadableTable;

use super::tables::GROUPS;
use super::{Snapshot, StoreError, Tx};

impl Snapshot {
	/// Every (group, member) pair, sorted by group then member.
	pub fn group_members(&self) -> Result<Vec<(String, String)>, StoreError> {
		let t = self.tx.open_table(GROUPS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, _) = row?;
			let (g, m) = k.value();
			out.push((g.to_owned(), m.to_owned()));
		}
		Ok(out)
	}
}

impl Tx<'_> {
	/// Adds `member` to `group`; false if it was already in it.
	pub fn add_group_member(&self, group: &str, member: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open_table(GROUPS)?.insert((group, member), ())?.is_none())
	}
}
