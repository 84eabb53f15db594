//! Rosters (RFC 6121 §2) and subscription state (§3), one row per
//! (account, contact). A row can exist without being in the roster: a
//! subscription request from a stranger is kept (so it survives restarts)
//! but is not a roster item until the user adds the contact.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::codec::{Reader, Writer};
use super::tables::{ROSTER, ROSTER_VERSION};
use super::{Snapshot, StoreError, Tx};
use crate::proto::subscription::{Sub, SubState};

/// One contact as the account sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RosterEntry {
	/// Shown in roster results and pushes.
	pub in_roster: bool,
	pub name: Option<String>,
	pub groups: Vec<String>,
	pub state: SubState,
	/// The `<status/>` of a pending inbound request, replayed at login.
	pub request_status: Option<String>,
}

impl RosterEntry {
	/// True if the row carries nothing worth keeping.
	pub fn is_empty(&self) -> bool {
		!self.in_roster && !self.state.pending_in && !self.state.approved
	}

	pub(super) fn encode(&self) -> Vec<u8> {
		let mut w = Writer::new(1);
		w.bool(self.in_roster).opt_str(self.name.as_deref());
		w.u64(self.groups.len() as u64);
		for g in &self.groups {
			w.str(g);
		}
		let sub = match self.state.sub {
			Sub::None => 0,
			Sub::To => 1,
			Sub::From => 2,
			Sub::Both => 3,
		};
		w.u64(sub).bool(self.state.pending_out).bool(self.state.pending_in).bool(self.state.approved);
		w.opt_str(self.request_status.as_deref());
		w.finish()
	}

	pub(super) fn decode(buf: &[u8]) -> Result<RosterEntry, StoreError> {
		let corrupt = |_| StoreError::Corrupt("roster");
		let (mut r, _version) = Reader::new(buf).map_err(corrupt)?;
		let in_roster = r.bool().map_err(corrupt)?;
		let name = r.opt_string().map_err(corrupt)?;
		let n = r.u64().map_err(corrupt)?;
		let mut groups = Vec::new();
		for _ in 0..n {
			groups.push(r.string().map_err(corrupt)?);
		}
		let sub = match r.u64().map_err(corrupt)? {
			0 => Sub::None,
			1 => Sub::To,
			2 => Sub::From,
			3 => Sub::Both,
			_ => return Err(StoreError::Corrupt("roster")),
		};
		let state = SubState {
			sub,
			pending_out: r.bool().map_err(corrupt)?,
			pending_in: r.bool().map_err(corrupt)?,
			approved: r.bool().map_err(corrupt)?,
		};
		let request_status = r.opt_string().map_err(corrupt)?;
		Ok(RosterEntry { in_roster, name, groups, state, request_status })
	}
}

type RosterKey = (&'static str, &'static str);

fn read_roster(t: &impl Readable<RosterKey, &'static [u8]>, user: &str) -> Result<Vec<(String, RosterEntry)>, StoreError> {
	let mut out = Vec::new();
	for row in t.range((user, "")..)? {
		let (k, v) = row?;
		let (u, contact) = k.value();
		if u != user {
			break;
		}
		out.push((contact.to_owned(), RosterEntry::decode(v.value())?));
	}
	Ok(out)
}

fn read_entry(t: &impl Readable<RosterKey, &'static [u8]>, user: &str, contact: &str) -> Result<Option<RosterEntry>, StoreError> {
	t.get((user, contact))?.map(|g| RosterEntry::decode(g.value())).transpose()
}

impl Snapshot {
	/// Every row of `user`'s roster table (items and pending requests), by contact.
	pub fn roster(&self, user: &str) -> Result<Vec<(String, RosterEntry)>, StoreError> {
		read_roster(&self.tx.open(ROSTER)?, user)
	}

	pub fn roster_entry(&self, user: &str, contact: &str) -> Result<Option<RosterEntry>, StoreError> {
		read_entry(&self.tx.open(ROSTER)?, user, contact)
	}

	pub fn roster_version(&self, user: &str) -> Result<u64, StoreError> {
		let t = self.tx.open(ROSTER_VERSION)?;
		Ok(t.get(user)?.map_or(0, |g| g.value()))
	}
}

impl Tx<'_> {
	pub fn roster_entry(&self, user: &str, contact: &str) -> Result<Option<RosterEntry>, StoreError> {
		read_entry(&self.tx.open(ROSTER)?, user, contact)
	}

	/// Every row of `user`'s roster table, read inside the writer.
	pub fn roster(&self, user: &str) -> Result<Vec<(String, RosterEntry)>, StoreError> {
		read_roster(&self.tx.open(ROSTER)?, user)
	}

	/// Stores (or, if empty, deletes) a row. Returns the new roster version
	/// if the visible roster changed, so the caller can push it.
	pub fn put_roster_entry(&self, user: &str, contact: &str, entry: &RosterEntry) -> Result<Option<u64>, StoreError> {
		let old = self.roster_entry(user, contact)?;
		let mut t = self.tx.open(ROSTER)?;
		if entry.is_empty() {
			t.remove((user, contact))?;
		} else {
			t.insert((user, contact), entry.encode().as_slice())?;
		}
		let was_visible = old.as_ref().is_some_and(|o| o.in_roster);
		let visible_changed = match &old {
			Some(o) => was_visible != entry.in_roster || (entry.in_roster && visible_item_differs(o, entry)),
			None => entry.in_roster,
		};
		if !visible_changed {
			return Ok(None);
		}
		self.bump_roster_version(user).map(Some)
	}

	fn bump_roster_version(&self, user: &str) -> Result<u64, StoreError> {
		let mut t = self.tx.open(ROSTER_VERSION)?;
		let next = t.get(user)?.map_or(0, |g| g.value()) + 1;
		t.insert(user, next)?;
		Ok(next)
	}

	/// Deletes every row of `user`'s roster; returns the contacts.
	pub fn clear_roster(&self, user: &str) -> Result<Vec<(String, RosterEntry)>, StoreError> {
		let mut t = self.tx.open(ROSTER)?;
		let rows = read_roster(&t, user)?;
		for (contact, _) in &rows {
			t.remove((user, contact.as_str()))?;
		}
		self.tx.open(ROSTER_VERSION)?.remove(user)?;
		Ok(rows)
	}
}

/// What a client sees of an item: name, groups, subscription, ask.
fn visible_item_differs(a: &RosterEntry, b: &RosterEntry) -> bool {
	a.name != b.name || a.groups != b.groups || a.state.sub != b.state.sub || a.state.pending_out != b.state.pending_out
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::temp_store;

	#[test]
	fn entries_round_trip_and_versions_bump_only_on_visible_change() {
		let t = temp_store();
		let item = RosterEntry {
			in_roster: true,
			name: Some("Bob".into()),
			groups: vec!["Friends".into(), "Work".into()],
			state: SubState { sub: Sub::To, pending_out: false, pending_in: true, approved: false },
			request_status: Some("hi".into()),
		};
		let it = item.clone();
		let v1 = t.store.write_blocking(move |tx| tx.put_roster_entry("alice", "bob@x", &it)).unwrap();
		assert_eq!(v1, Some(1));
		let snap = t.store.snapshot().unwrap();
		assert_eq!(snap.roster_entry("alice", "bob@x").unwrap().as_ref(), Some(&item));
		assert_eq!(snap.roster("alice").unwrap().len(), 1);
		assert_eq!(snap.roster("alic").unwrap().len(), 0);
		// Only a hidden field changes: no new version.
		let mut it = item.clone();
		it.request_status = None;
		assert_eq!(t.store.write_blocking(move |tx| tx.put_roster_entry("alice", "bob@x", &it)).unwrap(), None);
		// An empty row is deleted.
		let gone = t.store.write_blocking(|tx| tx.put_roster_entry("alice", "bob@x", &RosterEntry::default())).unwrap();
		assert_eq!(gone, Some(2));
		assert!(t.store.snapshot().unwrap().roster("alice").unwrap().is_empty());
	}
}
