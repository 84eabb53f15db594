//! Explicit subscriptions to PEP nodes (XEP-0060 §6.1), from local accounts:
//! one row per (owner, node, subscriber, resource), and a count per
//! subscriber for its limit.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::tables::{PEP_SUB_COUNT, PEP_SUBS};
use super::{Snapshot, StoreError, Tx};

/// Who is subscribed: a local account, as a bare JID (`resource` empty) or
/// one of its resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PepSubscriber {
	pub user: String,
	pub resource: String,
}

/// What a subscription request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
	New,
	Already,
	/// The subscriber holds its limit of subscriptions.
	TooMany,
}

type Key = (&'static str, &'static str, &'static str, &'static str);

fn read_subscribers(t: &impl Readable<Key, ()>, owner: &str, node: &str) -> Result<Vec<PepSubscriber>, StoreError> {
	let mut out = Vec::new();
	for row in t.range((owner, node, "", "")..)? {
		let (k, _) = row?;
		let (o, n, user, resource) = k.value();
		if o != owner || n != node {
			break;
		}
		out.push(PepSubscriber { user: user.to_owned(), resource: resource.to_owned() });
	}
	Ok(out)
}

impl Snapshot {
	/// A node's subscribers.
	pub fn pep_subscribers(&self, owner: &str, node: &str) -> Result<Vec<PepSubscriber>, StoreError> {
		read_subscribers(&self.tx.open(PEP_SUBS)?, owner, node)
	}

	/// `user`'s subscriptions to `owner`'s nodes: (node, resource).
	pub fn pep_subscriptions_of(&self, owner: &str, user: &str) -> Result<Vec<(String, String)>, StoreError> {
		let t = self.tx.open(PEP_SUBS)?;
		let mut out = Vec::new();
		for row in t.range((owner, "", "", "")..)? {
			let (k, _) = row?;
			let (o, node, u, resource) = k.value();
			if o != owner {
				break;
			}
			if u == user {
				out.push((node.to_owned(), resource.to_owned()));
			}
		}
		Ok(out)
	}
}

impl Tx<'_> {
	fn count_subscriptions(&self, user: &str, delta: i64) -> Result<u64, StoreError> {
		let mut t = self.tx.open(PEP_SUB_COUNT)?;
		let now = t.get(user)?.map_or(0, |g| g.value()).saturating_add_signed(delta);
		if now == 0 {
			t.remove(user)?;
		} else {
			t.insert(user, now)?;
		}
		Ok(now)
	}

	/// Subscribes `who` to `owner`'s `node`, unless it holds `max` already.
	pub fn pep_subscribe(&self, owner: &str, node: &str, who: &PepSubscriber, max: usize) -> Result<Subscribed, StoreError> {
		let mut t = self.tx.open(PEP_SUBS)?;
		let key = (owner, node, who.user.as_str(), who.resource.as_str());
		if t.get(key)?.is_some() {
			return Ok(Subscribed::Already);
		}
		let held = self.tx.open(PEP_SUB_COUNT)?.get(who.user.as_str())?.map_or(0, |g| g.value());
		if held >= max as u64 {
			return Ok(Subscribed::TooMany);
		}
		t.insert(key, ())?;
		drop(t);
		self.count_subscriptions(&who.user, 1)?;
		Ok(Subscribed::New)
	}

	/// False if `who` was not subscribed.
	pub fn pep_unsubscribe(&self, owner: &str, node: &str, who: &PepSubscriber) -> Result<bool, StoreError> {
		let gone = self.tx.open(PEP_SUBS)?.remove((owner, node, who.user.as_str(), who.resource.as_str()))?.is_some();
		if gone {
			self.count_subscriptions(&who.user, -1)?;
		}
		Ok(gone)
	}

	/// A node was deleted: its subscriptions go with it.
	pub fn pep_drop_subscribers(&self, owner: &str, node: &str) -> Result<(), StoreError> {
		let subs = read_subscribers(&self.tx.open(PEP_SUBS)?, owner, node)?;
		for s in subs {
			self.pep_unsubscribe(owner, node, &s)?;
		}
		Ok(())
	}

	/// A deleted account: subscriptions to its nodes and those it held.
	pub fn clear_pep_subscriptions(&self, user: &str) -> Result<(), StoreError> {
		let mut rows: Vec<(String, String, PepSubscriber)> = Vec::new();
		for row in self.tx.open(PEP_SUBS)?.iter()? {
			let (k, _) = row?;
			let (owner, node, u, resource) = k.value();
			if owner == user || u == user {
				rows.push((owner.to_owned(), node.to_owned(), PepSubscriber { user: u.to_owned(), resource: resource.to_owned() }));
			}
		}
		for (owner, node, who) in rows {
			self.pep_unsubscribe(&owner, &node, &who)?;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::temp_store;

	fn who(user: &str, resource: &str) -> PepSubscriber {
		PepSubscriber { user: user.into(), resource: resource.into() }
	}

	#[test]
	fn subscriptions_are_counted_limited_and_cleared() {
		let t = temp_store();
		let s = &t.store;
		let sub = |owner: &'static str, node: &'static str, w: PepSubscriber| {
			s.write_blocking(move |tx| tx.pep_subscribe(owner, node, &w, 2)).unwrap()
		};
		assert_eq!(sub("alice", "n", who("bob", "")), Subscribed::New);
		assert_eq!(sub("alice", "n", who("bob", "")), Subscribed::Already);
		assert_eq!(sub("alice", "n", who("bob", "phone")), Subscribed::New);
		assert_eq!(sub("carol", "m", who("bob", "")), Subscribed::TooMany, "bob holds two already");
		assert_eq!(sub("bob", "m", who("alice", "")), Subscribed::New);
		let snap = s.snapshot().unwrap();
		assert_eq!(snap.pep_subscribers("alice", "n").unwrap(), [who("bob", ""), who("bob", "phone")]);
		assert_eq!(snap.pep_subscriptions_of("alice", "bob").unwrap(), [("n".into(), "".into()), ("n".into(), "phone".into())]);
		drop(snap);
		assert!(s.write_blocking(|tx| tx.pep_unsubscribe("alice", "n", &who("bob", "phone"))).unwrap());
		assert!(!s.write_blocking(|tx| tx.pep_unsubscribe("alice", "n", &who("bob", "phone"))).unwrap());
		assert_eq!(sub("carol", "m", who("bob", "")), Subscribed::New, "a place came free");
		s.write_blocking(|tx| tx.pep_drop_subscribers("carol", "m")).unwrap();
		// Deleting bob ends what he held and what others held of his.
		s.write_blocking(|tx| tx.clear_pep_subscriptions("bob")).unwrap();
		let snap = s.snapshot().unwrap();
		assert!(snap.pep_subscribers("alice", "n").unwrap().is_empty());
		assert!(snap.pep_subscribers("bob", "m").unwrap().is_empty());
		drop(snap);
		assert_eq!(s.write_blocking(|tx| tx.count_subscriptions("bob", 0)).unwrap(), 0);
		assert_eq!(s.write_blocking(|tx| tx.count_subscriptions("alice", 0)).unwrap(), 0);
	}
}
