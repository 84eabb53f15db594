//! Per-account XML kept as text: private XML storage (XEP-0049), one
//! fragment per (namespace, element name), and the vCard (XEP-0054).

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::tables::{PRIVATE, VCARD};
use super::{Snapshot, StoreError, Tx};

impl Snapshot {
	pub fn vcard(&self, user: &str) -> Result<Option<String>, StoreError> {
		let t = self.tx.open(VCARD)?;
		Ok(t.get(user)?.map(|g| String::from_utf8_lossy(g.value()).into_owned()))
	}

	pub fn private(&self, user: &str, key: &str) -> Result<Option<String>, StoreError> {
		let t = self.tx.open(PRIVATE)?;
		Ok(t.get((user, key))?.map(|g| String::from_utf8_lossy(g.value()).into_owned()))
	}
}

impl Tx<'_> {
	/// As [`Snapshot::private`], seeing this transaction's writes.
	pub fn private(&self, user: &str, key: &str) -> Result<Option<String>, StoreError> {
		let t = self.tx.open(PRIVATE)?;
		Ok(t.get((user, key))?.map(|g| String::from_utf8_lossy(g.value()).into_owned()))
	}

	/// As [`Snapshot::vcard`], seeing this transaction's writes.
	pub fn vcard(&self, user: &str) -> Result<Option<String>, StoreError> {
		let t = self.tx.open(VCARD)?;
		Ok(t.get(user)?.map(|g| String::from_utf8_lossy(g.value()).into_owned()))
	}

	/// Stores `xml` under `key` if the account's total stays within
	/// `max_bytes`; false (nothing written) otherwise.
	pub fn put_private(&self, user: &str, key: &str, xml: &str, max_bytes: usize) -> Result<bool, StoreError> {
		let mut t = self.tx.open(PRIVATE)?;
		let mut others = 0usize;
		for row in t.range((user, "")..)? {
			let (k, v) = row?;
			let (u, existing) = k.value();
			if u != user {
				break;
			}
			if existing != key {
				others += v.value().len();
			}
		}
		if others + xml.len() > max_bytes {
			return Ok(false);
		}
		t.insert((user, key), xml.as_bytes())?;
		Ok(true)
	}

	pub fn put_vcard(&self, user: &str, xml: &str) -> Result<(), StoreError> {
		self.tx.open(VCARD)?.insert(user, xml.as_bytes())?;
		Ok(())
	}

	/// Deletes everything an account stored (with the account).
	pub fn clear_private(&self, user: &str) -> Result<(), StoreError> {
		self.tx.open(VCARD)?.remove(user)?;
		self.tx.open(PRIVATE)?.retain_in((user, "")..=(user, "\u{10ffff}"), |_, _| false)?;
		Ok(())
	}
}
