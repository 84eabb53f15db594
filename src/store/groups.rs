//! Department groups: named sets of accounts the admin defines (first-boot
//! wizard, `xerra group`). Membership only; `crate::groups` turns it into
//! roster items. A group made without members holds the empty name as a
//! marker, so `group add` can create it before anyone is in it.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::tables::GROUPS;
use super::{Snapshot, StoreError, Tx};

fn pairs(t: &impl Readable<(&'static str, &'static str), ()>) -> Result<Vec<(String, String)>, StoreError> {
	let mut out = Vec::new();
	for row in t.iter()? {
		let (k, _) = row?;
		let (g, m) = k.value();
		out.push((g.to_owned(), m.to_owned()));
	}
	Ok(out)
}

impl Snapshot {
	/// Every (group, member) pair, sorted by group then member; an empty
	/// member marks a group that exists without members.
	pub fn group_members(&self) -> Result<Vec<(String, String)>, StoreError> {
		pairs(&self.tx.open(GROUPS)?)
	}
}

impl Tx<'_> {
	pub fn group_members(&self) -> Result<Vec<(String, String)>, StoreError> {
		pairs(&self.tx.open(GROUPS)?)
	}

	/// The members of `group` (no marker).
	pub fn members(&self, group: &str) -> Result<Vec<String>, StoreError> {
		let t = self.tx.open(GROUPS)?;
		let mut out = Vec::new();
		for row in t.range((group, "")..)? {
			let (k, _) = row?;
			let (g, m) = k.value();
			if g != group {
				break;
			}
			if !m.is_empty() {
				out.push(m.to_owned());
			}
		}
		Ok(out)
	}

	/// Adds `member` (or, with "", the group's marker); false if already there.
	pub fn add_group_member(&self, group: &str, member: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(GROUPS)?.insert((group, member), ())?.is_none())
	}

	/// Removes `member`; false if it was not in the group.
	pub fn remove_group_member(&self, group: &str, member: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(GROUPS)?.remove((group, member))?.is_some())
	}
}
