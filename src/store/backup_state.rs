//! The scheduled backups' state, for the console, `xerra status` and the
//! scheduler: one row per field, as text, so a later version may add fields.

use super::tables::BACKUP_STATE;
use super::typed::{OpenRead as _, OpenWrite as _, Readable as _};
use super::{Snapshot, StoreError, Tx};

/// What the scheduled (and console-made) backups did last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupState {
	/// When a schedule was first seen on (unix seconds): "overdue" counts from here before a first success.
	pub since: Option<i64>,
	/// The last attempt, made or failed.
	pub last_attempt: Option<i64>,
	/// The last success: when, the file (full path), its size.
	pub ok_at: Option<i64>,
	pub ok_file: Option<String>,
	pub ok_bytes: Option<u64>,
	/// The last failure after the last success (cleared by a success).
	pub failed_at: Option<i64>,
	pub failure: Option<String>,
}

const FIELDS: [&str; 7] = ["since", "last_attempt", "ok_at", "ok_file", "ok_bytes", "failed_at", "failure"];

impl BackupState {
	fn fields(&self) -> [Option<String>; 7] {
		[
			self.since.map(|v| v.to_string()),
			self.last_attempt.map(|v| v.to_string()),
			self.ok_at.map(|v| v.to_string()),
			self.ok_file.clone(),
			self.ok_bytes.map(|v| v.to_string()),
			self.failed_at.map(|v| v.to_string()),
			self.failure.clone(),
		]
	}
}

impl Snapshot {
	pub fn backup_state(&self) -> Result<BackupState, StoreError> {
		let t = self.tx.open(BACKUP_STATE)?;
		let get = |k: &str| -> Result<Option<String>, StoreError> { Ok(t.get(k)?.map(|g| g.value().to_owned())) };
		// A number that does not read is taken as missing, not as corruption: this is a display.
		let num = |k: &str| -> Result<Option<i64>, StoreError> { Ok(get(k)?.and_then(|v| v.parse().ok())) };
		Ok(BackupState {
			since: num("since")?,
			last_attempt: num("last_attempt")?,
			ok_at: num("ok_at")?,
			ok_file: get("ok_file")?,
			ok_bytes: get("ok_bytes")?.and_then(|v| v.parse().ok()),
			failed_at: num("failed_at")?,
			failure: get("failure")?,
		})
	}
}

impl Tx<'_> {
	pub fn put_backup_state(&self, state: &BackupState) -> Result<(), StoreError> {
		let mut t = self.tx.open(BACKUP_STATE)?;
		for (k, v) in FIELDS.iter().zip(state.fields()) {
			match v {
				Some(v) => {
					t.insert(*k, v.as_str())?;
				}
				None => {
					t.remove(*k)?;
				}
			}
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_state_is_stored_and_read_back_with_fields_cleared() {
		let t = super::super::test_support::temp_store();
		assert_eq!(t.store.snapshot().unwrap().backup_state().unwrap(), BackupState::default());
		let s = BackupState {
			since: Some(1),
			last_attempt: Some(5),
			ok_at: Some(5),
			ok_file: Some("/b/xerra-backup-1.age".into()),
			ok_bytes: Some(1234),
			failed_at: Some(3),
			failure: Some("disk full".into()),
		};
		let c = s.clone();
		t.store.write_blocking(move |tx| tx.put_backup_state(&c)).unwrap();
		assert_eq!(t.store.snapshot().unwrap().backup_state().unwrap(), s);
		let cleared = BackupState { failed_at: None, failure: None, ..s };
		let c = cleared.clone();
		t.store.write_blocking(move |tx| tx.put_backup_state(&c)).unwrap();
		assert_eq!(t.store.snapshot().unwrap().backup_state().unwrap(), cleared);
	}
}
