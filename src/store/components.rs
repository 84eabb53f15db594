//! External components (XEP-0114): the domains they serve and the secret
//! each proves it knows in its handshake.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::tables::COMPONENTS;
use super::{Snapshot, StoreError, Tx};

impl Snapshot {
	pub fn component_secret(&self, domain: &str) -> Result<Option<String>, StoreError> {
		Ok(self.tx.open(COMPONENTS)?.get(domain)?.map(|g| g.value().to_owned()))
	}

	pub fn component_domains(&self) -> Result<Vec<String>, StoreError> {
		let t = self.tx.open(COMPONENTS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			out.push(row?.0.value().to_owned());
		}
		Ok(out)
	}
}

impl Tx<'_> {
	/// Adds a component; false if the domain has one already.
	pub fn add_component(&self, domain: &str, secret: &str) -> Result<bool, StoreError> {
		let mut t = self.tx.open(COMPONENTS)?;
		if t.get(domain)?.is_some() {
			return Ok(false);
		}
		t.insert(domain, secret)?;
		Ok(true)
	}

	/// False if there was none.
	pub fn del_component(&self, domain: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(COMPONENTS)?.remove(domain)?.is_some())
	}
}

#[cfg(test)]
mod tests {
	use crate::store::test_support::temp_store;

	#[test]
	fn components_are_added_once_and_deleted() {
		let t = temp_store();
		assert!(t.store.write_blocking(|tx| tx.add_component("gw.example", "s1")).unwrap());
		assert!(!t.store.write_blocking(|tx| tx.add_component("gw.example", "s2")).unwrap(), "no second secret");
		let snap = t.store.snapshot().unwrap();
		assert_eq!(snap.component_secret("gw.example").unwrap().as_deref(), Some("s1"));
		assert_eq!(snap.component_domains().unwrap(), vec!["gw.example".to_owned()]);
		assert!(t.store.write_blocking(|tx| tx.del_component("gw.example")).unwrap());
		assert!(!t.store.write_blocking(|tx| tx.del_component("gw.example")).unwrap());
		assert_eq!(t.store.snapshot().unwrap().component_secret("gw.example").unwrap(), None);
	}
}
