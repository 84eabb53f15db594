//! Accounts: the localpart and its salted SCRAM keys, never the password
//! (RFC 5802 §3; one set per hash so both SCRAM-SHA-1 and -SHA-256 work).

use redb::ReadableTable;

use super::codec::{Reader, Writer};
use super::tables::ACCOUNTS;
use super::{Snapshot, StoreError, Tx};
use crate::proto::sasl::scram::ScramCredentials;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
	/// Unix seconds.
	pub created: u64,
	pub sha1: ScramCredentials,
	pub sha256: ScramCredentials,
}

impl Account {
	fn encode(&self) -> Vec<u8> {
		let mut w = Writer::new(1);
		w.u64(self.created);
		for c in [&self.sha1, &self.sha256] {
			w.bytes(&c.salt).u64(u64::from(c.iterations)).bytes(&c.stored_key).bytes(&c.server_key);
		}
		w.finish()
	}

	fn decode(buf: &[u8]) -> Result<Account, StoreError> {
		let (mut r, _version) = Reader::new(buf)?;
		let created = r.u64()?;
		let mut creds = || -> Result<ScramCredentials, StoreError> {
			Ok(ScramCredentials {
				salt: r.bytes()?.to_vec(),
				iterations: r.u32()?,
				stored_key: r.bytes()?.to_vec(),
				server_key: r.bytes()?.to_vec(),
			})
		};
		let sha1 = creds()?;
		let sha256 = creds()?;
		Ok(Account { created, sha1, sha256 })
	}
}

impl Snapshot {
	pub fn account(&self, user: &str) -> Result<Option<Account>, StoreError> {
		let t = self.tx.open_table(ACCOUNTS)?;
		t.get(user)?.map(|g| Account::decode(g.value())).transpose()
	}

	/// All account localparts, sorted.
	pub fn account_names(&self) -> Result<Vec<String>, StoreError> {
		let t = self.tx.open_table(ACCOUNTS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			out.push(row?.0.value().to_owned());
		}
		Ok(out)
	}

	pub fn account_count(&self) -> Result<u64, StoreError> {
		use redb::ReadableTableMetadata;
		Ok(self.tx.open_table(ACCOUNTS)?.len()?)
	}
}

impl Tx<'_> {
	pub fn account_exists(&self, user: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open_table(ACCOUNTS)?.get(user)?.is_some())
	}

	/// Creates an account; false if it already exists.
	pub fn create_account(&self, user: &str, account: &Account) -> Result<bool, StoreError> {
		let mut t = self.tx.open_table(ACCOUNTS)?;
		if t.get(user)?.is_some() {
			return Ok(false);
		}
		t.insert(user, account.encode().as_slice())?;
		Ok(true)
	}

	/// Replaces the credentials of an existing account; false if there is none.
	pub fn set_credentials(&self, user: &str, account: &Account) -> Result<bool, StoreError> {
		let mut t = self.tx.open_table(ACCOUNTS)?;
		if t.get(user)?.is_none() {
			return Ok(false);
		}
		t.insert(user, account.encode().as_slice())?;
		Ok(true)
	}

	/// Deletes an account with its offline messages; the roster is left to
	/// the caller, which must also tell the contacts.
	pub fn delete_account(&self, user: &str) -> Result<bool, StoreError> {
		let existed = self.tx.open_table(ACCOUNTS)?.remove(user)?.is_some();
		self.clear_offline(user)?;
		self.clear_private(user)?;
		self.clear_last_activity(user)?;
		self.clear_pep(user)?;
		self.clear_pep_subscriptions(user)?;
		self.unblock(user, None)?;
		self.clear_mam(user)?;
		self.del_all_push(user)?;
		Ok(existed)
	}
}
