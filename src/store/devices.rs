//! Devices: each SASL2 `<user-agent id>` (XEP-0388) an account logged in
//! with, what it calls itself, when it was seen, and its FAST tokens
//! (XEP-0484) in two slots, `current` and `new` (XEP-0484 §7.1).
//!
//! A token itself is never stored: only a verifier (SHA-256 of the proof
//! the client sends) and the server's answer, both made from the token at
//! issue, so a copy of the database logs nobody in.

use super::codec::{Reader, Writer};
use super::tables::DEVICES;
use super::typed::{OpenRead as _, OpenWrite as _, Readable};
use super::{Snapshot, StoreError, Tx};

/// One FAST token, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastSlot {
	/// The mechanism it was issued for (XEP-0484: only that one may use it).
	pub mechanism: String,
	/// SHA-256 of the client's initiator proof.
	pub verifier: Vec<u8>,
	/// The server's final message (the responder proof).
	pub responder: Vec<u8>,
	/// Unix seconds.
	pub expiry: u64,
	/// The channel binding data the proofs were made with (-ENDP: the
	/// server certificate's hash then; empty for -NONE).
	pub binding: Vec<u8>,
}

/// One device of an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
	pub software: Option<String>,
	pub name: Option<String>,
	pub first_seen: u64,
	pub last_seen: u64,
	pub current: Option<FastSlot>,
	pub new: Option<FastSlot>,
}

fn put_slot(w: &mut Writer, s: &Option<FastSlot>) {
	w.bool(s.is_some());
	if let Some(s) = s {
		w.str(&s.mechanism).bytes(&s.verifier).bytes(&s.responder).u64(s.expiry).bytes(&s.binding);
	}
}

fn take_slot(r: &mut Reader<'_>) -> Result<Option<FastSlot>, super::Corrupt> {
	if !r.bool()? {
		return Ok(None);
	}
	Ok(Some(FastSlot {
		mechanism: r.string()?,
		verifier: r.bytes()?.to_vec(),
		responder: r.bytes()?.to_vec(),
		expiry: r.u64()?,
		binding: r.bytes()?.to_vec(),
	}))
}

impl Device {
	pub fn encode(&self) -> Vec<u8> {
		let mut w = Writer::new(1);
		w.opt_str(self.software.as_deref()).opt_str(self.name.as_deref()).u64(self.first_seen).u64(self.last_seen);
		put_slot(&mut w, &self.current);
		put_slot(&mut w, &self.new);
		w.finish()
	}

	pub fn decode(b: &[u8]) -> Result<Device, super::Corrupt> {
		let (mut r, _) = Reader::new(b)?;
		Ok(Device {
			software: r.opt_string()?,
			name: r.opt_string()?,
			first_seen: r.u64()?,
			last_seen: r.u64()?,
			current: take_slot(&mut r)?,
			new: take_slot(&mut r)?,
		})
	}

	pub fn has_tokens(&self) -> bool {
		self.current.is_some() || self.new.is_some()
	}
}

/// An account's devices by id, sorted, from a table opened either way.
fn of_account(t: &impl Readable<(&'static str, &'static str), &'static [u8]>, user: &str) -> Result<Vec<(String, Device)>, StoreError> {
	let mut out = Vec::new();
	for row in t.range((user, "")..)? {
		let (k, v) = row?;
		let (u, id) = k.value();
		if u != user {
			break;
		}
		out.push((id, Device::decode(v.value())?));
	}
	Ok(out)
}

impl Snapshot {
	pub fn device(&self, user: &str, id: &str) -> Result<Option<Device>, StoreError> {
		let t = self.tx.open(DEVICES)?;
		Ok(t.get((user, id))?.map(|g| Device::decode(g.value())).transpose()?)
	}

	/// An account's devices by id, sorted.
	pub fn devices(&self, user: &str) -> Result<Vec<(String, Device)>, StoreError> {
		of_account(&self.tx.open(DEVICES)?, user)
	}
}

impl Tx<'_> {
	pub fn device(&self, user: &str, id: &str) -> Result<Option<Device>, StoreError> {
		let t = self.tx.open(DEVICES)?;
		Ok(t.get((user, id))?.map(|g| Device::decode(g.value())).transpose()?)
	}

	/// Writes a device; past `max` devices for the account, those seen
	/// longest ago go, tokens and all. Returns the ids dropped.
	pub fn put_device(&self, user: &str, id: &str, device: &Device, max: usize) -> Result<Vec<String>, StoreError> {
		let mut t = self.tx.open(DEVICES)?;
		t.insert((user, id), device.encode().as_slice())?;
		let mut others: Vec<(u64, String)> =
			of_account(&t, user)?.into_iter().filter(|(other, _)| other != id).map(|(other, d)| (d.last_seen, other)).collect();
		let excess = (others.len() + 1).saturating_sub(max.max(1));
		others.sort();
		let dropped: Vec<String> = others.into_iter().take(excess).map(|(_, other)| other).collect();
		for d in &dropped {
			t.remove((user, d.as_str()))?;
		}
		Ok(dropped)
	}

	/// Forgets a device and its tokens; false if there was none.
	pub fn remove_device(&self, user: &str, id: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(DEVICES)?.remove((user, id))?.is_some())
	}

	/// Drops every FAST token of an account (password changed, account
	/// locked); the devices stay listed.
	pub fn revoke_fast_tokens(&self, user: &str) -> Result<(), StoreError> {
		let mut t = self.tx.open(DEVICES)?;
		for (id, mut d) in of_account(&t, user)?.into_iter().filter(|(_, d)| d.has_tokens()) {
			d.current = None;
			d.new = None;
			t.insert((user, id.as_str()), d.encode().as_slice())?;
		}
		Ok(())
	}

	/// Forgets all of an account's devices (the account is deleted).
	pub fn clear_devices(&self, user: &str) -> Result<(), StoreError> {
		self.tx.open(DEVICES)?.retain_in((user, "")..=(user, "\u{10ffff}"), |_, _| false)?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::temp_store;

	fn device(last_seen: u64, token: bool) -> Device {
		let slot = FastSlot {
			mechanism: "HT-SHA-256-NONE".into(),
			verifier: vec![1; 32],
			responder: vec![2; 32],
			expiry: 99,
			binding: Vec::new(),
		};
		Device { software: Some("App".into()), name: None, first_seen: 1, last_seen, current: token.then(|| slot.clone()), new: None }
	}

	#[test]
	fn bounded_per_account_oldest_dropped_and_revoked() {
		let s = temp_store();
		let store = &s.store;
		store
			.write_blocking(|tx| {
				assert!(tx.put_device("alice", "a", &device(10, true), 2)?.is_empty());
				assert!(tx.put_device("alice", "b", &device(30, true), 2)?.is_empty());
				assert!(tx.put_device("bob", "x", &device(5, true), 2)?.is_empty());
				// A third device: "a", seen longest ago, goes; bob's are not counted.
				assert_eq!(tx.put_device("alice", "c", &device(20, true), 2)?, ["a"]);
				// Writing a known device again drops nothing.
				assert!(tx.put_device("alice", "c", &device(40, true), 2)?.is_empty());
				Ok(())
			})
			.unwrap();
		let snap = store.snapshot().unwrap();
		let ids: Vec<String> = snap.devices("alice").unwrap().into_iter().map(|(id, _)| id).collect();
		assert_eq!(ids, ["b", "c"]);
		assert_eq!(snap.device("alice", "c").unwrap(), Some(device(40, true)));
		drop(snap);
		store.write_blocking(|tx| tx.revoke_fast_tokens("alice")).unwrap();
		let snap = store.snapshot().unwrap();
		assert!(snap.devices("alice").unwrap().iter().all(|(_, d)| !d.has_tokens() && d.software.is_some()));
		assert!(snap.device("bob", "x").unwrap().unwrap().has_tokens());
		drop(snap);
		store.write_blocking(|tx| tx.clear_devices("alice")).unwrap();
		assert!(store.snapshot().unwrap().devices("alice").unwrap().is_empty());
	}
}
