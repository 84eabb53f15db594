//! Persistent settings (what `xerra config set` writes).

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::tables::SETTINGS;
use super::{Snapshot, StoreError, Tx};

impl Snapshot {
	pub fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
		let t = self.tx.open(SETTINGS)?;
		Ok(t.get(name)?.map(|g| g.value().to_owned()))
	}

	/// All stored settings, by name.
	pub fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
		let t = self.tx.open(SETTINGS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, v) = row?;
			out.push((k.value().to_owned(), v.value().to_owned()));
		}
		Ok(out)
	}
}

impl Tx<'_> {
	pub fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
		self.tx.open(SETTINGS)?.insert(name, value)?;
		Ok(())
	}

	pub fn unset_setting(&self, name: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(SETTINGS)?.remove(name)?.is_some())
	}
}

impl Tx<'_> {
	/// A setting as this transaction sees it (for checks that must not race).
	pub fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
		let t = self.tx.open(SETTINGS)?;
		Ok(t.get(name)?.map(|g| g.value().to_owned()))
	}
}
