//! XEP-0357 push registrations: which app servers (JID and node) an
//! account's devices asked to be woken through, with their publish options.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::tables::PUSH;
use super::{Snapshot, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRegistration {
	/// The app server's JID.
	pub jid: String,
	pub node: String,
	/// The `<x/>` publish options (XML), empty for none.
	pub options: String,
}

impl Snapshot {
	/// Every account's registrations, for the in-memory copy made at start.
	pub fn all_push(&self) -> Result<Vec<(String, PushRegistration)>, StoreError> {
		let t = self.tx.open(PUSH)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, v) = row?;
			let (user, jid, node) = k.value();
			out.push((user.to_owned(), PushRegistration { jid: jid.to_owned(), node: node.to_owned(), options: v.value().to_owned() }));
		}
		Ok(out)
	}
}

impl Tx<'_> {
	fn push_count(&self, user: &str) -> Result<usize, StoreError> {
		let t = self.tx.open(PUSH)?;
		let mut n = 0;
		for row in t.range((user, "", "")..)? {
			if row?.0.value().0 != user {
				break;
			}
			n += 1;
		}
		Ok(n)
	}

	/// Adds or replaces a registration; false (nothing written) if a new
	/// one would make more than `max`.
	pub fn put_push(&self, user: &str, r: &PushRegistration, max: usize) -> Result<bool, StoreError> {
		let exists = self.tx.open(PUSH)?.get((user, r.jid.as_str(), r.node.as_str()))?.is_some();
		if !exists && self.push_count(user)? >= max {
			return Ok(false);
		}
		self.tx.open(PUSH)?.insert((user, r.jid.as_str(), r.node.as_str()), r.options.as_str())?;
		Ok(true)
	}

	/// Removes the registrations with app server `jid` (and `node`, if
	/// given); returns how many went.
	pub fn del_push(&self, user: &str, jid: &str, node: Option<&str>) -> Result<usize, StoreError> {
		let mut t = self.tx.open(PUSH)?;
		let mut gone = Vec::new();
		for row in t.range((user, jid, "")..)? {
			let (k, _) = row?;
			let (u, j, n) = k.value();
			if u != user || j != jid {
				break;
			}
			if node.is_none_or(|want| want == n) {
				gone.push(n.to_owned());
			}
		}
		for n in &gone {
			t.remove((user, jid, n.as_str()))?;
		}
		Ok(gone.len())
	}

	/// Every registration of a deleted account.
	pub fn del_all_push(&self, user: &str) -> Result<(), StoreError> {
		let mut t = self.tx.open(PUSH)?;
		let keys: Vec<(String, String)> = {
			let mut keys = Vec::new();
			for row in t.range((user, "", "")..)? {
				let (k, _) = row?;
				let (u, j, n) = k.value();
				if u != user {
					break;
				}
				keys.push((j.to_owned(), n.to_owned()));
			}
			keys
		};
		for (j, n) in &keys {
			t.remove((user, j.as_str(), n.as_str()))?;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::temp_store;

	fn reg(jid: &str, node: &str) -> PushRegistration {
		PushRegistration { jid: jid.into(), node: node.into(), options: String::new() }
	}

	#[test]
	fn registrations_are_bounded_replaced_and_removed() {
		let t = temp_store();
		let put = |user: &'static str, r: PushRegistration| t.store.write_blocking(move |tx| tx.put_push(user, &r, 2)).unwrap();
		assert!(put("a", reg("p.example", "n1")));
		assert!(put("a", reg("p.example", "n2")));
		assert!(!put("a", reg("q.example", "n1")), "a third is over the limit");
		let mut again = reg("p.example", "n1");
		again.options = "<x/>".into();
		assert!(put("a", again), "replacing is not adding");
		assert!(put("b", reg("p.example", "n1")));
		let all = t.store.snapshot().unwrap().all_push().unwrap();
		assert_eq!(all.len(), 3);
		assert!(all.contains(&("a".into(), PushRegistration { jid: "p.example".into(), node: "n1".into(), options: "<x/>".into() })));
		assert_eq!(t.store.write_blocking(|tx| tx.del_push("a", "p.example", Some("n2"))).unwrap(), 1);
		assert_eq!(t.store.write_blocking(|tx| tx.del_push("a", "p.example", None)).unwrap(), 1);
		t.store.write_blocking(|tx| tx.del_all_push("b")).unwrap();
		assert!(t.store.snapshot().unwrap().all_push().unwrap().is_empty());
	}
}
