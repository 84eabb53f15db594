//! XEP-0401 invitations: a random token that lets one new account register
//! (XEP-0445) and, when someone invited a contact, makes them mutual
//! contacts (XEP-0379). Tokens are used once and expire.

use super::codec::{Reader, Writer};
use super::tables::INVITES;
use super::typed::{OpenRead as _, OpenWrite as _, Readable as _};
use super::{Snapshot, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
	/// The account that invited (a contact invitation), or none (an account
	/// invitation from the admin).
	pub inviter: Option<String>,
	/// Unix seconds after which the token is void.
	pub expires: u64,
	/// The token may create an account (XEP-0445): made by an admin. Other
	/// users' tokens only make contacts (XEP-0379).
	pub registers: bool,
	/// Accounts it may still make (at least 1: it is gone once used up).
	pub uses: u32,
	/// The department (shared roster group) each new account joins.
	pub group: Option<String>,
	/// Each new account gets the admin role.
	pub admin: bool,
}

impl Default for Invite {
	fn default() -> Invite {
		Invite { inviter: None, expires: 0, registers: false, uses: 1, group: None, admin: false }
	}
}

impl Invite {
	pub(super) fn encode(&self) -> Vec<u8> {
		let mut w = Writer::new(3);
		w.opt_str(self.inviter.as_deref()).u64(self.expires).bool(self.registers);
		w.u64(u64::from(self.uses)).opt_str(self.group.as_deref()).bool(self.admin).finish()
	}

	pub(super) fn decode(buf: &[u8]) -> Result<Invite, StoreError> {
		let c = |_| StoreError::Corrupt("invite");
		let (mut r, version) = Reader::new(buf).map_err(c)?;
		let (inviter, expires) = (r.opt_string().map_err(c)?, r.u64().map_err(c)?);
		// Version 1 did not say: only the admin's own (no inviter) may
		// register, since any user could make the others.
		let registers = if version >= 2 { r.bool().map_err(c)? } else { inviter.is_none() };
		if version < 3 {
			return Ok(Invite { inviter, expires, registers, ..Invite::default() });
		}
		let uses = u32::try_from(r.u64().map_err(c)?).map_err(|_| StoreError::Corrupt("invite"))?;
		let (group, admin) = (r.opt_string().map_err(c)?, r.bool().map_err(c)?);
		Ok(Invite { inviter, expires, registers, uses, group, admin })
	}
}

impl Snapshot {
	/// Every invitation still good at `now`, by token.
	pub fn invites(&self, now: u64) -> Result<Vec<(String, Invite)>, StoreError> {
		let t = self.tx.open(INVITES)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (token, v) = row?;
			let i = Invite::decode(v.value())?;
			if i.expires > now {
				out.push((token.value().to_owned(), i));
			}
		}
		Ok(out)
	}

	/// A token that is still good at `now`.
	pub fn invite(&self, token: &str, now: u64) -> Result<Option<Invite>, StoreError> {
		let t = self.tx.open(INVITES)?;
		Ok(t.get(token)?.map(|g| Invite::decode(g.value())).transpose()?.filter(|i| i.expires > now))
	}
}

impl Tx<'_> {
	/// Invitations `inviter` made that are still good at `now`.
	pub fn open_invites_of(&self, inviter: &str, now: u64) -> Result<usize, StoreError> {
		let t = self.tx.open(INVITES)?;
		let mut n = 0;
		for row in t.iter()? {
			let i = Invite::decode(row?.1.value())?;
			n += usize::from(i.inviter.as_deref() == Some(inviter) && i.expires > now);
		}
		Ok(n)
	}

	pub fn create_invite(&self, token: &str, invite: &Invite) -> Result<(), StoreError> {
		self.tx.open(INVITES)?.insert(token, invite.encode().as_slice())?;
		Ok(())
	}

	/// Uses a token once: a multi-use one stays with a use less, any other
	/// is gone afterwards, whether or not it was good. Returns it as it was
	/// (so that `create_invite` with it undoes the use).
	pub fn take_invite(&self, token: &str, now: u64) -> Result<Option<Invite>, StoreError> {
		let mut t = self.tx.open(INVITES)?;
		let found = t.remove(token)?.map(|g| Invite::decode(g.value())).transpose()?.filter(|i| i.expires > now);
		if let Some(i) = found.as_ref().filter(|i| i.uses > 1) {
			t.insert(token, Invite { uses: i.uses - 1, ..i.clone() }.encode().as_slice())?;
		}
		Ok(found)
	}

	/// Withdraws an invitation; false if there was none.
	pub fn revoke_invite(&self, token: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(INVITES)?.remove(token)?.is_some())
	}

	/// Drops expired tokens.
	pub fn expire_invites(&self, now: u64) -> Result<(), StoreError> {
		self.tx.open(INVITES)?.retain(|_, v| Invite::decode(v).is_ok_and(|i| i.expires > now))?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::temp_store;

	#[test]
	fn tokens_are_used_once_and_expire() {
		let t = temp_store();
		let inv = Invite { inviter: Some("alice".into()), expires: 100, registers: false, ..Invite::default() };
		let i = inv.clone();
		t.store.write_blocking(move |tx| tx.create_invite("tok", &i)).unwrap();
		assert_eq!(t.store.snapshot().unwrap().invite("tok", 50).unwrap(), Some(inv.clone()));
		assert_eq!(t.store.snapshot().unwrap().invite("tok", 100).unwrap(), None, "expired at 100");
		assert_eq!(t.store.write_blocking(|tx| tx.take_invite("tok", 50)).unwrap(), Some(inv));
		assert_eq!(t.store.write_blocking(|tx| tx.take_invite("tok", 50)).unwrap(), None, "used up");
	}

	#[test]
	fn open_invitations_are_counted_per_inviter() {
		let t = temp_store();
		t.store
			.write_blocking(|tx| {
				for (tok, inviter, expires) in
					[("a", Some("alice"), 100), ("b", Some("alice"), 10), ("c", Some("bob"), 100), ("d", None, 100)]
				{
					tx.create_invite(tok, &Invite { inviter: inviter.map(str::to_owned), expires, ..Invite::default() })?;
				}
				assert_eq!(tx.open_invites_of("alice", 50)?, 1, "one expired");
				assert_eq!(tx.open_invites_of("bob", 50)?, 1);
				assert_eq!(tx.open_invites_of("carol", 50)?, 0);
				Ok(())
			})
			.unwrap();
	}

	/// Version 1 records did not say whether they make accounts: only the
	/// admin's (no inviter) may.
	#[test]
	fn old_records_make_accounts_only_without_an_inviter() {
		let old = |inviter: Option<&str>| Writer::new(1).opt_str(inviter).u64(100).finish();
		assert!(Invite::decode(&old(None)).unwrap().registers);
		assert!(!Invite::decode(&old(Some("alice"))).unwrap().registers);
		let new = Invite { inviter: Some("alice".into()), expires: 100, registers: true, ..Invite::default() };
		assert_eq!(Invite::decode(&new.encode()).unwrap(), new);
		let v2 = Writer::new(2).opt_str(None).u64(100).bool(true).finish();
		assert_eq!(Invite::decode(&v2).unwrap(), Invite { expires: 100, registers: true, ..Invite::default() });
	}

	#[test]
	fn multi_use_invitations_count_down_and_can_be_revoked() {
		let t = temp_store();
		let inv = Invite { expires: 100, registers: true, uses: 2, group: Some("Sales".into()), admin: true, ..Invite::default() };
		let i = inv.clone();
		t.store.write_blocking(move |tx| tx.create_invite("tok", &i)).unwrap();
		assert_eq!(Invite::decode(&inv.encode()).unwrap(), inv);
		assert_eq!(t.store.write_blocking(|tx| tx.take_invite("tok", 50)).unwrap(), Some(inv.clone()));
		let left = t.store.snapshot().unwrap().invites(50).unwrap();
		assert_eq!(left, [("tok".to_owned(), Invite { uses: 1, ..inv.clone() })]);
		assert_eq!(t.store.write_blocking(|tx| tx.take_invite("tok", 50)).unwrap().map(|i| i.uses), Some(1));
		assert_eq!(t.store.write_blocking(|tx| tx.take_invite("tok", 50)).unwrap(), None, "used up");
		t.store.write_blocking(move |tx| tx.create_invite("tok2", &inv)).unwrap();
		assert!(t.store.write_blocking(|tx| tx.revoke_invite("tok2")).unwrap());
		assert!(!t.store.write_blocking(|tx| tx.revoke_invite("tok2")).unwrap());
		assert!(t.store.snapshot().unwrap().invites(50).unwrap().is_empty());
	}
}
