//! XEP-0363 uploads: what was uploaded under which slot id (the file itself
//! lives in DATA/uploads/ID), and how many bytes each account has there.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::codec::{Reader, Writer};
use super::tables::{ACCOUNTS, UPLOAD_USAGE, UPLOADS};
use super::{Snapshot, StoreError, Tx};

/// One uploaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
	pub user: String,
	pub filename: String,
	pub size: u64,
	pub content_type: String,
	/// Unix seconds.
	pub created: u64,
}

impl Upload {
	pub(super) fn encode(&self) -> Vec<u8> {
		Writer::new(1).str(&self.user).str(&self.filename).u64(self.size).str(&self.content_type).u64(self.created).finish()
	}

	pub(super) fn decode(buf: &[u8]) -> Result<Upload, StoreError> {
		let c = |_| StoreError::Corrupt("upload");
		let (mut r, _) = Reader::new(buf).map_err(c)?;
		Ok(Upload {
			user: r.string().map_err(c)?,
			filename: r.string().map_err(c)?,
			size: r.u64().map_err(c)?,
			content_type: r.string().map_err(c)?,
			created: r.u64().map_err(c)?,
		})
	}
}

impl Snapshot {
	pub fn upload(&self, id: &str) -> Result<Option<Upload>, StoreError> {
		self.tx.open(UPLOADS)?.get(id)?.map(|g| Upload::decode(g.value())).transpose()
	}

	/// Every upload record, by slot id (for backups).
	pub fn uploads(&self) -> Result<Vec<(String, Upload)>, StoreError> {
		let t = self.tx.open(UPLOADS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, v) = row?;
			out.push((k.value(), Upload::decode(v.value())?));
		}
		Ok(out)
	}

	/// Bytes `user` has uploaded and not yet expired.
	pub fn upload_usage(&self, user: &str) -> Result<u64, StoreError> {
		Ok(self.tx.open(UPLOAD_USAGE)?.get(user)?.map_or(0, |g| g.value()))
	}
}

impl Tx<'_> {
	/// Records a stored file; false (nothing recorded) if its account was
	/// deleted while the file was on its way.
	pub fn put_upload(&self, id: &str, u: &Upload) -> Result<bool, StoreError> {
		if self.tx.open(ACCOUNTS)?.get(u.user.as_str())?.is_none() {
			return Ok(false);
		}
		self.tx.open(UPLOADS)?.insert(id, u.encode().as_slice())?;
		let mut usage = self.tx.open(UPLOAD_USAGE)?;
		let n = usage.get(u.user.as_str())?.map_or(0, |g| g.value());
		usage.insert(u.user.as_str(), n + u.size)?;
		Ok(true)
	}

	/// Forgets uploads made before `cutoff` (unix seconds); returns their ids,
	/// whose files the caller deletes.
	pub fn expire_uploads(&self, cutoff: u64) -> Result<Vec<String>, StoreError> {
		self.drop_uploads(|u| u.created < cutoff)
	}

	/// Forgets every upload of `user` (the account is being deleted);
	/// returns their ids, whose files the caller deletes.
	pub fn delete_uploads_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
		self.drop_uploads(|u| u.user == user)
	}

	fn drop_uploads(&self, gone_if: impl Fn(&Upload) -> bool) -> Result<Vec<String>, StoreError> {
		let mut gone: Vec<(String, Upload)> = Vec::new();
		self.tx.open(UPLOADS)?.retain(|id, v| match Upload::decode(v) {
			Ok(u) if gone_if(&u) => {
				gone.push((id.to_owned(), u));
				false
			}
			_ => true,
		})?;
		let mut usage = self.tx.open(UPLOAD_USAGE)?;
		for (_, u) in &gone {
			let n = usage.get(u.user.as_str())?.map_or(0, |g| g.value());
			match n.saturating_sub(u.size) {
				0 => usage.remove(u.user.as_str())?,
				left => usage.insert(u.user.as_str(), left)?,
			};
		}
		Ok(gone.into_iter().map(|(id, _)| id).collect())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::{temp_store, test_account};

	#[test]
	fn usage_follows_uploads_and_expiry() {
		let t = temp_store();
		t.store.write_blocking(|tx| tx.create_account("alice", &test_account())).unwrap();
		let up = |id: &str, created: u64| {
			let (id, u) = (
				id.to_owned(),
				Upload { user: "alice".into(), filename: "a.png".into(), size: 100, content_type: "image/png".into(), created },
			);
			assert!(t.store.write_blocking(move |tx| tx.put_upload(&id, &u)).unwrap());
		};
		up("one", 10);
		up("two", 20);
		assert_eq!(t.store.snapshot().unwrap().upload_usage("alice").unwrap(), 200);
		assert_eq!(t.store.write_blocking(|tx| tx.expire_uploads(15)).unwrap(), ["one"]);
		let snap = t.store.snapshot().unwrap();
		assert_eq!(snap.upload_usage("alice").unwrap(), 100);
		assert!(snap.upload("one").unwrap().is_none() && snap.upload("two").unwrap().is_some());
		up("three", 30);
		assert_eq!(t.store.write_blocking(|tx| tx.delete_uploads_of("alice")).unwrap().len(), 2);
		assert_eq!(t.store.snapshot().unwrap().upload_usage("alice").unwrap(), 0);
	}

	#[test]
	fn a_deleted_account_gets_no_upload() {
		let t = temp_store();
		let u = Upload { user: "gone".into(), filename: "a".into(), size: 1, content_type: "text/plain".into(), created: 1 };
		assert!(!t.store.write_blocking(move |tx| tx.put_upload("x", &u)).unwrap());
		assert!(t.store.snapshot().unwrap().upload("x").unwrap().is_none());
	}
}
