//! Accounts: the localpart and its salted SCRAM keys, never the password
//! (RFC 5802 §3; one set per hash so both SCRAM-SHA-1 and -SHA-256 work),
//! and whether the account is an admin (what only admins may do from their
//! apps, such as invitations that make accounts).
//!
//! Record versions: 1 has no role (written before roles existed: such an
//! account is no admin until [`Tx::upgrade_account_roles`] gives it one,
//! once); 2 ends with the admin flag; 3 then has the locked flag (a locked
//! account keeps its data but may not log in).

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::codec::{Reader, Writer};
use super::tables::{ACCOUNTS, SHA1_ONLY};
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
	pub(super) fn encode(&self, admin: bool) -> Vec<u8> {
		self.encode_flags(admin, false)
	}

	pub(super) fn encode_flags(&self, admin: bool, locked: bool) -> Vec<u8> {
		let mut w = Writer::new(3);
		w.u64(self.created);
		for c in [&self.sha1, &self.sha256] {
			w.bytes(&c.salt).u64(u64::from(c.iterations)).bytes(&c.stored_key).bytes(&c.server_key);
		}
		w.bool(admin).bool(locked).finish()
	}

	fn decode(buf: &[u8]) -> Result<Account, StoreError> {
		Ok(Self::decode_with_role(buf)?.0)
	}

	/// The account and its role; `None`: a record from before roles.
	pub(super) fn decode_with_role(buf: &[u8]) -> Result<(Account, Option<bool>), StoreError> {
		Self::decode_flags(buf).map(|(a, admin, _)| (a, admin))
	}

	/// The role (`None` before roles) and whether the account is locked.
	pub(super) fn decode_flags(buf: &[u8]) -> Result<(Account, Option<bool>, bool), StoreError> {
		let (mut r, version) = Reader::new(buf)?;
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
		let admin = if version >= 2 { Some(r.bool()?) } else { None };
		let locked = version >= 3 && r.bool()?;
		Ok((Account { created, sha1, sha256 }, admin, locked))
	}
}

impl Snapshot {
	pub fn account(&self, user: &str) -> Result<Option<Account>, StoreError> {
		let t = self.tx.open(ACCOUNTS)?;
		t.get(user)?.map(|g| Account::decode(g.value())).transpose()
	}

	/// All account localparts, sorted.
	pub fn account_names(&self) -> Result<Vec<String>, StoreError> {
		names(&self.tx.open(ACCOUNTS)?)
	}

	/// Whether `user` has the admin role (false for no such account).
	pub fn is_admin(&self, user: &str) -> Result<bool, StoreError> {
		let t = self.tx.open(ACCOUNTS)?;
		let role = t.get(user)?.map(|g| Account::decode_with_role(g.value())).transpose()?;
		Ok(role.and_then(|(_, admin)| admin).unwrap_or(false))
	}

	/// The admins' localparts, sorted.
	pub fn admin_names(&self) -> Result<Vec<String>, StoreError> {
		let t = self.tx.open(ACCOUNTS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (name, record) = row?;
			if Account::decode_with_role(record.value())?.1 == Some(true) {
				out.push(name.value().to_owned());
			}
		}
		Ok(out)
	}

	/// Whether `user` is locked (false for no such account).
	pub fn is_locked(&self, user: &str) -> Result<bool, StoreError> {
		let t = self.tx.open(ACCOUNTS)?;
		Ok(t.get(user)?.map(|g| Account::decode_flags(g.value())).transpose()?.is_some_and(|(_, _, l)| l))
	}

	/// Every account with (admin, locked), sorted by name.
	pub fn account_flags(&self) -> Result<Vec<(String, bool, bool)>, StoreError> {
		let t = self.tx.open(ACCOUNTS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (name, record) = row?;
			let (_, admin, locked) = Account::decode_flags(record.value())?;
			out.push((name.value().to_owned(), admin == Some(true), locked));
		}
		Ok(out)
	}

	/// How many accounts have SCRAM-SHA-1 keys only (see [`SHA1_ONLY`]).
	pub fn sha1_only_count(&self) -> Result<u64, StoreError> {
		Ok(self.tx.open(SHA1_ONLY)?.len()?)
	}

	pub fn account_count(&self) -> Result<u64, StoreError> {
		Ok(self.tx.open(ACCOUNTS)?.len()?)
	}
}

/// The keys of the accounts table, read or being written.
fn names(t: &impl Readable<&'static str, &'static [u8]>) -> Result<Vec<String>, StoreError> {
	let mut out = Vec::new();
	for row in t.iter()? {
		out.push(row?.0.value().to_owned());
	}
	Ok(out)
}

/// Set once every account has a role (see [`Tx::upgrade_account_roles`]).
pub(super) const ROLES_DONE: &str = "account_roles";

/// Records whether `account` lacks SCRAM-SHA-256 keys (an empty stored key).
fn mark_sha1_only(tx: &Tx<'_>, user: &str, account: Option<&Account>) -> Result<(), StoreError> {
	let mut t = tx.tx.open(SHA1_ONLY)?;
	if account.is_some_and(|a| a.sha256.stored_key.is_empty() && !a.sha1.stored_key.is_empty()) {
		t.insert(user, ())?;
	} else {
		t.remove(user)?;
	}
	Ok(())
}

impl Tx<'_> {
	/// All account localparts, sorted.
	pub fn account_names(&self) -> Result<Vec<String>, StoreError> {
		names(&self.tx.open(ACCOUNTS)?)
	}

	pub fn account_exists(&self, user: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(ACCOUNTS)?.get(user)?.is_some())
	}

	/// Creates an account (no admin); false if it already exists.
	pub fn create_account(&self, user: &str, account: &Account) -> Result<bool, StoreError> {
		let mut t = self.tx.open(ACCOUNTS)?;
		if t.get(user)?.is_some() {
			return Ok(false);
		}
		t.insert(user, account.encode(false).as_slice())?;
		drop(t);
		mark_sha1_only(self, user, Some(account))?;
		Ok(true)
	}

	/// Replaces the credentials of an existing account, keeping its role;
	/// false if there is none.
	pub fn set_credentials(&self, user: &str, account: &Account) -> Result<bool, StoreError> {
		let done = self.write_credentials(user, account)?;
		// XEP-0484: a new password ends every FAST token of the account.
		if done {
			self.revoke_fast_tokens(user)?;
		}
		Ok(done)
	}

	fn write_credentials(&self, user: &str, account: &Account) -> Result<bool, StoreError> {
		let mut t = self.tx.open(ACCOUNTS)?;
		let Some(admin) = t.get(user)?.map(|g| Account::decode_with_role(g.value())).transpose()?.map(|(_, admin)| admin) else {
			return Ok(false);
		};
		let locked = t.get(user)?.map(|g| Account::decode_flags(g.value())).transpose()?.is_some_and(|(_, _, l)| l);
		t.insert(user, account.encode_flags(admin.unwrap_or(false), locked).as_slice())?;
		drop(t);
		mark_sha1_only(self, user, Some(account))?;
		Ok(true)
	}

	/// Gives an account that has SCRAM-SHA-1 keys only the `full` set
	/// (made from its password at a PLAIN login), unless its keys changed
	/// since `sha1` was checked. Returns whether it did.
	pub fn add_missing_keys(&self, user: &str, sha1: &ScramCredentials, full: &Account) -> Result<bool, StoreError> {
		let current = self.tx.open(ACCOUNTS)?.get(user)?.map(|g| Account::decode(g.value())).transpose()?;
		match current {
			Some(a) if a.sha256.stored_key.is_empty() && a.sha1 == *sha1 => {
				// The same password: its FAST tokens stay.
				self.write_credentials(user, &Account { created: a.created, ..full.clone() })
			}
			_ => Ok(false),
		}
	}

	/// Gives or takes the admin role; false if there is no such account.
	pub fn set_admin(&self, user: &str, admin: bool) -> Result<bool, StoreError> {
		let mut t = self.tx.open(ACCOUNTS)?;
		let Some((account, _, locked)) = t.get(user)?.map(|g| Account::decode_flags(g.value())).transpose()? else {
			return Ok(false);
		};
		t.insert(user, account.encode_flags(admin, locked).as_slice())?;
		Ok(true)
	}

	/// Locks or unlocks an account (its data stays); false if there is none.
	pub fn set_locked(&self, user: &str, locked: bool) -> Result<bool, StoreError> {
		let mut t = self.tx.open(ACCOUNTS)?;
		let Some((account, admin, _)) = t.get(user)?.map(|g| Account::decode_flags(g.value())).transpose()? else {
			return Ok(false);
		};
		t.insert(user, account.encode_flags(admin.unwrap_or(false), locked).as_slice())?;
		drop(t);
		if locked {
			self.revoke_fast_tokens(user)?;
		}
		Ok(true)
	}

	/// Gives every record from before roles one, once: admin for the names
	/// in `admins`, none for the rest. Returns the names made admins.
	pub fn upgrade_account_roles(&self, admins: &[String]) -> Result<Vec<String>, StoreError> {
		// Once per database: every later start would read every account.
		let mut meta = self.tx.open(super::tables::META)?;
		if meta.get(ROLES_DONE)?.is_some() {
			return Ok(Vec::new());
		}
		meta.insert(ROLES_DONE, 1)?;
		let mut t = self.tx.open(ACCOUNTS)?;
		let mut old = Vec::new();
		for row in t.iter()? {
			let (name, record) = row?;
			if let (account, None) = Account::decode_with_role(record.value())? {
				old.push((name.value().to_owned(), account));
			}
		}
		let mut made = Vec::new();
		for (name, account) in old {
			let admin = admins.contains(&name);
			t.insert(name.as_str(), account.encode(admin).as_slice())?;
			if admin {
				made.push(name);
			}
		}
		Ok(made)
	}

	/// Deletes an account with its offline messages; the roster is left to
	/// the caller, which must also tell the contacts.
	pub fn delete_account(&self, user: &str) -> Result<bool, StoreError> {
		let existed = self.tx.open(ACCOUNTS)?.remove(user)?.is_some();
		mark_sha1_only(self, user, None)?;
		self.clear_offline(user)?;
		self.clear_private(user)?;
		self.clear_last_activity(user)?;
		self.clear_pep(user)?;
		self.clear_pep_subscriptions(user)?;
		self.unblock(user, None)?;
		self.clear_mam(user)?;
		self.del_all_push(user)?;
		self.clear_resets_of(user)?;
		self.clear_devices(user)?;
		Ok(existed)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::{temp_store, test_account};

	#[test]
	fn locks_are_kept_with_the_account() {
		let t = temp_store();
		t.store.write_blocking(|tx| tx.create_account("alice", &test_account())).unwrap();
		assert!(!t.store.snapshot().unwrap().is_locked("alice").unwrap());
		assert!(t.store.write_blocking(|tx| tx.set_locked("alice", true)).unwrap());
		assert!(!t.store.write_blocking(|tx| tx.set_locked("nobody", true)).unwrap());
		// A new password or role keeps the lock, and the lock keeps the role.
		t.store.write_blocking(|tx| Ok(tx.set_admin("alice", true)? && tx.set_credentials("alice", &test_account())?)).unwrap();
		let s = t.store.snapshot().unwrap();
		assert!(s.is_locked("alice").unwrap() && s.is_admin("alice").unwrap());
		assert_eq!(s.account_flags().unwrap(), [("alice".to_owned(), true, true)]);
		t.store.write_blocking(|tx| tx.set_locked("alice", false)).unwrap();
		let s = t.store.snapshot().unwrap();
		assert!(!s.is_locked("alice").unwrap() && s.is_admin("alice").unwrap());
		assert!(s.account("alice").unwrap().is_some());
	}

	/// Issue 14: accounts imported with SCRAM-SHA-1 keys only are counted
	/// (SCRAM-SHA-256 is not offered while there is one); a PLAIN login's
	/// full key set, a new password or deleting the account ends that.
	#[test]
	fn accounts_with_sha1_keys_only_are_counted() {
		let t = temp_store();
		let mut sha1_only = test_account();
		sha1_only.sha256.stored_key.clear();
		let full = test_account();
		let count = || t.store.snapshot().unwrap().sha1_only_count().unwrap();
		let (a, b) = (sha1_only.clone(), sha1_only.clone());
		t.store.write_blocking(move |tx| Ok(tx.create_account("alice", &a)? && tx.create_account("bob", &b)?)).unwrap();
		t.store.write_blocking(|tx| tx.create_account("carol", &test_account())).unwrap();
		assert_eq!(count(), 2);
		// Keys that changed since the check are left alone.
		let mut other = sha1_only.sha1.clone();
		other.stored_key[0] ^= 1;
		let f = full.clone();
		assert!(!t.store.write_blocking(move |tx| tx.add_missing_keys("alice", &other, &f)).unwrap());
		let (s1, f) = (sha1_only.sha1.clone(), full.clone());
		assert!(t.store.write_blocking(move |tx| tx.add_missing_keys("alice", &s1, &f)).unwrap());
		assert_eq!(count(), 1);
		let stored = t.store.snapshot().unwrap().account("alice").unwrap().unwrap();
		assert_eq!((stored.created, &stored.sha256), (sha1_only.created, &full.sha256));
		let (s1, f) = (sha1_only.sha1.clone(), full.clone());
		assert!(!t.store.write_blocking(move |tx| tx.add_missing_keys("alice", &s1, &f)).unwrap(), "only once");
		t.store.write_blocking(|tx| tx.delete_account("bob")).unwrap();
		assert_eq!(count(), 0);
		let a = sha1_only.clone();
		t.store.write_blocking(move |tx| tx.create_account("bob", &a)).unwrap();
		t.store.write_blocking(|tx| tx.set_credentials("bob", &test_account())).unwrap();
		assert_eq!(count(), 0);
	}

	#[test]
	fn roles_are_kept_with_the_account() {
		let t = temp_store();
		t.store
			.write_blocking(|tx| {
				tx.create_account("alice", &test_account())?;
				tx.create_account("boss", &test_account())?;
				assert!(tx.set_admin("boss", true)?);
				assert!(!tx.set_admin("nobody", true)?);
				// A new password keeps the role.
				tx.set_credentials("boss", &test_account())
			})
			.unwrap();
		let snap = t.store.snapshot().unwrap();
		assert!(snap.is_admin("boss").unwrap() && !snap.is_admin("alice").unwrap() && !snap.is_admin("nobody").unwrap());
		assert_eq!(snap.admin_names().unwrap(), ["boss"]);
		assert_eq!(snap.account("boss").unwrap(), Some(test_account()));
	}

	/// Records from before roles get one once, from the names given (the
	/// admin in contact_addresses); a role set later is not overwritten.
	#[test]
	fn old_records_get_a_role_once() {
		let t = temp_store();
		let mut old = test_account().encode(false);
		old[0] = 1;
		old.pop();
		t.store
			.write_blocking(move |tx| {
				let mut accounts = tx.tx.open(ACCOUNTS)?;
				for name in ["admin", "alice"] {
					accounts.insert(name, old.as_slice())?;
				}
				// A database from before roles has no mark that they are done.
				tx.tx.open(super::super::tables::META)?.remove(ROLES_DONE)?;
				Ok(())
			})
			.unwrap();
		let snap = t.store.snapshot().unwrap();
		assert_eq!(snap.account("alice").unwrap(), Some(test_account()), "version 1 still reads");
		assert!(!snap.is_admin("admin").unwrap());
		drop(snap);
		let names = vec!["admin".to_owned()];
		let made = t.store.write_blocking(move |tx| tx.upgrade_account_roles(&names)).unwrap();
		assert_eq!(made, ["admin"]);
		assert_eq!(t.store.snapshot().unwrap().admin_names().unwrap(), ["admin"]);
		t.store.write_blocking(|tx| tx.set_admin("admin", false)).unwrap();
		let names = vec!["admin".to_owned()];
		assert!(t.store.write_blocking(move |tx| tx.upgrade_account_roles(&names)).unwrap().is_empty());
		assert!(t.store.snapshot().unwrap().admin_names().unwrap().is_empty());
	}
}
