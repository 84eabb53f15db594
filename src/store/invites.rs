//! XEP-0401 invitations: a random token that lets one new account register
//! (XEP-0445) and, when someone invited a contact, makes them mutual
//! contacts (XEP-0379). Tokens are used once and expire.

use super::codec::{Reader, Writer};
use super::tables::INVITES;
use super::{Snapshot, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
	/// The account that invited (a contact invitation), or none (an account
	/// invitation from the admin).
	pub inviter: Option<String>,
	/// Unix seconds after which the token is void.
	pub expires: u64,
}

impl Invite {
	fn encode(&self) -> Vec<u8> {
		Writer::new(1).opt_str(self.inviter.as_deref()).u64(self.expires).finish()
	}

	fn decode(buf: &[u8]) -> Result<Invite, StoreError> {
		let c = |_| StoreError::Corrupt("invite");
		let (mut r, _) = Reader::new(buf).map_err(c)?;
		Ok(Invite { inviter: r.opt_string().map_err(c)?, expires: r.u64().map_err(c)? })
	}
}

impl Snapshot {
	/// A token that is still good at `now`.
	pub fn invite(&self, token: &str, now: u64) -> Result<Option<Invite>, StoreError> {
		let t = self.tx.open_table(INVITES)?;
		Ok(t.get(token)?.map(|g| Invite::decode(g.value())).transpose()?.filter(|i| i.expires > now))
	}
}

impl Tx<'_> {
	pub fn create_invite(&self, token: &str, invite: &Invite) -> Result<(), StoreError> {
		self.tx.open_table(INVITES)?.insert(token, invite.encode().as_slice())?;
		Ok(())
	}

	/// Uses a token up: it is gone afterwards, whether or not it was good.
	pub fn take_invite(&self, token: &str, now: u64) -> Result<Option<Invite>, StoreError> {
		let mut t = self.tx.open_table(INVITES)?;
		let found = t.remove(token)?.map(|g| Invite::decode(g.value())).transpose()?;
		Ok(found.filter(|i| i.expires > now))
	}

	/// Drops expired tokens.
	pub fn expire_invites(&self, now: u64) -> Result<(), StoreError> {
		self.tx.open_table(INVITES)?.retain(|_, v| Invite::decode(v).is_ok_and(|i| i.expires > now))?;
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
		let inv = Invite { inviter: Some("alice".into()), expires: 100 };
		let i = inv.clone();
		t.store.write_blocking(move |tx| tx.create_invite("tok", &i)).unwrap();
		assert_eq!(t.store.snapshot().unwrap().invite("tok", 50).unwrap(), Some(inv.clone()));
		assert_eq!(t.store.snapshot().unwrap().invite("tok", 100).unwrap(), None, "expired at 100");
		assert_eq!(t.store.write_blocking(|tx| tx.take_invite("tok", 50)).unwrap(), Some(inv));
		assert_eq!(t.store.write_blocking(|tx| tx.take_invite("tok", 50)).unwrap(), None, "used up");
	}
}
