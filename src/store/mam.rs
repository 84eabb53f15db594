//! XEP-0313 message archives. Each account's archive is keyed by the time
//! a message was archived, in microseconds, made unique per account (a clash
//! moves on by one), so time ranges and paging are range scans. An index
//! maps the archive id (XEP-0359 stanza-id) to that key, for RSM after/before.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::codec::{Reader, Writer};
use super::tables::{MAM, MAM_BYTES, MAM_COUNT, MAM_ID, MAM_PREFS};
use super::{Snapshot, StoreError, Tx};

/// One archived message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
	pub id: String,
	/// Microseconds since the Unix epoch: when it was archived.
	pub micros: u64,
	/// The other party, as a full JID when known.
	pub with: String,
	/// The message as routed, XML text in jabber:client.
	pub xml: String,
}

/// XEP-0313 §7 archiving preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MamPrefs {
	pub default: MamDefault,
	pub always: Vec<String>,
	pub never: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MamDefault {
	Always,
	Never,
	/// Only messages with contacts in the roster.
	Roster,
}

impl MamDefault {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Always => "always",
			Self::Never => "never",
			Self::Roster => "roster",
		}
	}

	pub fn parse(s: &str) -> Option<MamDefault> {
		match s {
			"always" => Some(Self::Always),
			"never" => Some(Self::Never),
			"roster" => Some(Self::Roster),
			_ => None,
		}
	}
}

impl Default for MamPrefs {
	/// An office server keeps history unless told otherwise.
	fn default() -> MamPrefs {
		MamPrefs { default: MamDefault::Always, always: Vec::new(), never: Vec::new() }
	}
}

impl MamPrefs {
	pub(super) fn encode(&self) -> Vec<u8> {
		let mut w = Writer::new(1);
		w.u64(self.default as u64);
		for list in [&self.always, &self.never] {
			w.u64(list.len() as u64);
			for j in list {
				w.str(j);
			}
		}
		w.finish()
	}

	pub(super) fn decode(buf: &[u8]) -> Result<MamPrefs, StoreError> {
		let corrupt = |_| StoreError::Corrupt("mam prefs");
		let (mut r, _) = Reader::new(buf).map_err(corrupt)?;
		let default = match r.u64().map_err(corrupt)? {
			0 => MamDefault::Always,
			1 => MamDefault::Never,
			2 => MamDefault::Roster,
			_ => return Err(StoreError::Corrupt("mam prefs")),
		};
		let mut lists = [Vec::new(), Vec::new()];
		for list in &mut lists {
			for _ in 0..r.u64().map_err(corrupt)? {
				list.push(r.string().map_err(corrupt)?);
			}
		}
		let [always, never] = lists;
		Ok(MamPrefs { default, always, never })
	}
}

/// What a query asks for (XEP-0313 §4 filters, XEP-0059 paging).
#[derive(Debug, Clone, Default)]
pub struct MamQuery {
	/// Only messages with this JID: a bare JID matches any of its resources.
	pub with: Option<String>,
	pub start: Option<u64>,
	pub end: Option<u64>,
	pub after: Option<String>,
	/// `Some(None)`: an empty `<before/>`, the last page.
	pub before: Option<Option<String>>,
	pub max: usize,
	/// Stop before the archived XML of a page passes this (one message at
	/// least); `None`: only `max` counts.
	pub max_bytes: Option<usize>,
}

/// A page of results, oldest first.
#[derive(Debug)]
pub struct Page {
	pub items: Vec<Archived>,
	/// No more results in the direction of paging.
	pub complete: bool,
}

/// How much one archive (an account's or a room's) keeps; beyond it the
/// oldest messages go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveQuota {
	pub messages: u64,
	pub bytes: u64,
}

/// `after` or `before` named an id that is not in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownId;

pub(super) fn encode_item(id: &str, with: &str, xml: &str) -> Vec<u8> {
	Writer::new(1).str(id).str(with).str(xml).finish()
}

pub(super) fn decode_item(micros: u64, buf: &[u8]) -> Result<Archived, StoreError> {
	let corrupt = |_| StoreError::Corrupt("mam");
	let (mut r, _) = Reader::new(buf).map_err(corrupt)?;
	Ok(Archived { micros, id: r.string().map_err(corrupt)?, with: r.string().map_err(corrupt)?, xml: r.string().map_err(corrupt)? })
}

fn with_matches(filter: &str, with: &str) -> bool {
	if filter.contains('/') {
		return with == filter;
	}
	with == filter || with.strip_prefix(filter).is_some_and(|rest| rest.starts_with('/'))
}

impl Snapshot {
	/// Every account's preferences, for the in-memory copy made at start.
	pub fn all_mam_prefs(&self) -> Result<Vec<(String, MamPrefs)>, StoreError> {
		let t = self.tx.open(MAM_PREFS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, v) = row?;
			out.push((k.value().to_owned(), MamPrefs::decode(v.value())?));
		}
		Ok(out)
	}
}

impl Tx<'_> {
	pub fn put_mam_prefs(&self, user: &str, prefs: &MamPrefs) -> Result<(), StoreError> {
		self.tx.open(MAM_PREFS)?.insert(user, prefs.encode().as_slice())?;
		Ok(())
	}

	/// Bytes `user`'s archive takes (counted once from the rows if not known yet).
	fn archive_bytes(&self, user: &str) -> Result<u64, StoreError> {
		if let Some(n) = self.tx.open(MAM_BYTES)?.get(user)? {
			return Ok(n.value());
		}
		let t = self.tx.open(MAM)?;
		let mut n = 0;
		for row in t.range((user, 0)..=(user, u64::MAX))? {
			n += row?.1.value().len() as u64;
		}
		Ok(n)
	}

	/// Archives a message for `user` at `micros` (or just after, if taken);
	/// drops the oldest beyond the quota. Returns the key used.
	pub fn archive(&self, user: &str, id: &str, micros: u64, with: &str, xml: &str, quota: ArchiveQuota) -> Result<u64, StoreError> {
		let mut bytes = self.archive_bytes(user)?;
		let mut t = self.tx.open(MAM)?;
		let mut key = micros;
		while t.get((user, key))?.is_some() {
			key += 1;
		}
		let record = encode_item(id, with, xml);
		bytes += record.len() as u64;
		t.insert((user, key), record.as_slice())?;
		self.tx.open(MAM_ID)?.insert((user, id), key)?;
		let mut counts = self.tx.open(MAM_COUNT)?;
		let mut n = counts.get(user)?.map_or(0, |g| g.value()) + 1;
		while n > quota.messages || bytes > quota.bytes {
			let Some(oldest) = t.range((user, 0)..=(user, u64::MAX))?.next().transpose()? else { break };
			let (k, size, v) = (oldest.0.value().1, oldest.1.value().len() as u64, decode_item(0, oldest.1.value())?);
			drop(oldest);
			t.remove((user, k))?;
			self.tx.open(MAM_ID)?.remove((user, v.id.as_str()))?;
			n -= 1;
			bytes = bytes.saturating_sub(size);
		}
		counts.insert(user, n)?;
		self.tx.open(MAM_BYTES)?.insert(user, bytes)?;
		Ok(key)
	}

	/// One page of `user`'s archive (XEP-0313 §4, XEP-0059 §2).
	pub fn mam_page(&self, user: &str, q: &MamQuery) -> Result<Result<Page, UnknownId>, StoreError> {
		let t = self.tx.open(MAM)?;
		let ids = self.tx.open(MAM_ID)?;
		let (mut lo, mut hi) = (q.start.unwrap_or(0), q.end.unwrap_or(u64::MAX));
		if let Some(after) = &q.after {
			let Some(k) = ids.get((user, after.as_str()))?.map(|g| g.value()) else { return Ok(Err(UnknownId)) };
			lo = lo.max(k + 1);
		}
		let backward = q.before.is_some();
		if let Some(Some(before)) = &q.before {
			let Some(k) = ids.get((user, before.as_str()))?.map(|g| g.value()) else { return Ok(Err(UnknownId)) };
			if k == 0 {
				return Ok(Ok(Page { items: Vec::new(), complete: true }));
			}
			hi = hi.min(k - 1);
		}
		if lo > hi {
			return Ok(Ok(Page { items: Vec::new(), complete: true }));
		}
		let range = t.range((user, lo)..=(user, hi))?;
		let rows: Box<dyn Iterator<Item = _>> = if backward { Box::new(range.rev()) } else { Box::new(range) };
		let mut items = Vec::new();
		let (mut bytes, mut full) = (0, false);
		for row in rows {
			let (k, v) = row?;
			let item = decode_item(k.value().1, v.value())?;
			if q.with.as_deref().is_none_or(|w| with_matches(w, &item.with)) {
				// One more than a page tells whether the page is the last.
				if items.len() == q.max || q.max_bytes.is_some_and(|m| !items.is_empty() && bytes + item.xml.len() > m) {
					full = true;
					break;
				}
				bytes += item.xml.len();
				items.push(item);
			}
		}
		let complete = !full;
		if backward {
			items.reverse();
		}
		Ok(Ok(Page { items, complete }))
	}

	/// Deletes every archived message older than `cutoff` (retention).
	pub fn mam_expire(&self, cutoff: u64) -> Result<usize, StoreError> {
		let mut gone: Vec<(String, String, u64)> = Vec::new();
		self.tx.open(MAM)?.retain(|(user, micros), v| {
			if micros >= cutoff {
				return true;
			}
			if let Ok(item) = decode_item(micros, v) {
				gone.push((user.to_owned(), item.id, v.len() as u64));
			}
			false
		})?;
		let mut ids = self.tx.open(MAM_ID)?;
		let mut counts = self.tx.open(MAM_COUNT)?;
		let mut sizes = self.tx.open(MAM_BYTES)?;
		for (user, id, size) in &gone {
			ids.remove((user.as_str(), id.as_str()))?;
			let n = counts.get(user.as_str())?.map_or(0, |g| g.value());
			counts.insert(user.as_str(), n.saturating_sub(1))?;
			// A missing size stays missing: it is counted from the rows when needed.
			let bytes = sizes.get(user.as_str())?.map(|g| g.value());
			if let Some(b) = bytes {
				sizes.insert(user.as_str(), b.saturating_sub(*size))?;
			}
		}
		Ok(gone.len())
	}

	/// Deletes an account's archive and preferences (with the account).
	pub fn clear_mam(&self, user: &str) -> Result<(), StoreError> {
		self.tx.open(MAM)?.retain_in((user, 0)..=(user, u64::MAX), |_, _| false)?;
		self.tx.open(MAM_ID)?.retain_in((user, "")..=(user, "\u{10ffff}"), |_, _| false)?;
		self.tx.open(MAM_COUNT)?.remove(user)?;
		self.tx.open(MAM_BYTES)?.remove(user)?;
		self.tx.open(MAM_PREFS)?.remove(user)?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::temp_store;

	fn put(store: &crate::store::Store, id: &str, micros: u64, with: &str, max: u64) {
		let (id, with) = (id.to_owned(), with.to_owned());
		let quota = ArchiveQuota { messages: max, bytes: u64::MAX };
		store.write_blocking(move |tx| tx.archive("alice", &id, micros, &with, "<message/>", quota)).unwrap();
	}

	fn page(store: &crate::store::Store, q: MamQuery) -> (Vec<String>, bool) {
		let p = store.write_blocking(move |tx| tx.mam_page("alice", &q)).unwrap().unwrap();
		(p.items.into_iter().map(|i| i.id).collect(), p.complete)
	}

	#[test]
	fn paging_filters_limits_and_retention() {
		let t = temp_store();
		let store = &t.store;
		for (i, with) in ["bob@x/a", "carol@x/b", "bob@x/c", "bob@x/a", "carol@x/b"].iter().enumerate() {
			put(store, &format!("m{i}"), 100, with, 4);
		}
		// Same time five times: keys move on; max 4 dropped the first.
		let all = MamQuery { max: 10, ..Default::default() };
		assert_eq!(page(store, all.clone()), (vec!["m1".into(), "m2".into(), "m3".into(), "m4".into()], true));
		let two = MamQuery { max: 2, ..Default::default() };
		assert_eq!(page(store, two.clone()), (vec!["m1".into(), "m2".into()], false));
		assert_eq!(page(store, MamQuery { after: Some("m2".into()), ..two.clone() }), (vec!["m3".into(), "m4".into()], true));
		assert_eq!(page(store, MamQuery { before: Some(None), ..two.clone() }), (vec!["m3".into(), "m4".into()], false));
		assert_eq!(page(store, MamQuery { before: Some(Some("m3".into())), ..two.clone() }), (vec!["m1".into(), "m2".into()], true));
		assert_eq!(page(store, MamQuery { with: Some("bob@x".into()), ..all.clone() }).0, ["m2", "m3"]);
		assert_eq!(page(store, MamQuery { with: Some("bob@x/a".into()), ..all.clone() }).0, ["m3"]);
		assert_eq!(page(store, MamQuery { start: Some(103), ..all.clone() }).0, ["m3", "m4"]);
		assert_eq!(page(store, MamQuery { end: Some(101), ..all.clone() }).0, ["m1"]);
		// A byte budget cuts a page short (one message at least) and says so.
		let small = MamQuery { max_bytes: Some(15), ..all.clone() };
		assert_eq!(page(store, small.clone()), (vec!["m1".into()], false));
		assert_eq!(page(store, MamQuery { max_bytes: Some(25), ..small }), (vec!["m1".into(), "m2".into()], false));
		let unknown = MamQuery { after: Some("nope".into()), ..all.clone() };
		assert!(store.write_blocking(move |tx| tx.mam_page("alice", &unknown)).unwrap().is_err());
		// Retention drops the old ones and their ids.
		assert_eq!(store.write_blocking(|tx| tx.mam_expire(103)).unwrap(), 2);
		assert_eq!(page(store, all.clone()).0, ["m3", "m4"]);
		store.write_blocking(|tx| tx.clear_mam("alice")).unwrap();
		assert!(page(store, all).0.is_empty());
	}

	#[test]
	fn prefs_round_trip() {
		let p = MamPrefs { default: MamDefault::Roster, always: vec!["a@x".into()], never: vec!["b@x".into(), "c@x".into()] };
		assert_eq!(MamPrefs::decode(&p.encode()).unwrap(), p);
	}

	#[test]
	fn bytes_are_capped_oldest_first_and_counted_back() {
		let t = temp_store();
		let quota = ArchiveQuota { messages: 100, bytes: 1000 };
		let clock = std::cell::Cell::new(0);
		let put = |id: &str, size: usize| {
			let (id, micros) = (id.to_owned(), clock.replace(clock.get() + 1));
			t.store.write_blocking(move |tx| tx.archive("alice", &id, micros, "bob@x", &"x".repeat(size), quota)).unwrap();
		};
		let ids = || page(&t.store, MamQuery { max: 100, ..Default::default() }).0;
		for i in 0..5 {
			put(&format!("m{i}"), 300);
		}
		// Three records of a bit over 300 bytes fit in 1000.
		assert_eq!(ids(), ["m2", "m3", "m4"]);
		put("big", 600);
		assert_eq!(ids(), ["m4", "big"]);
		// A database from before the count: it is made from the rows.
		t.store.write_blocking(|tx| Ok(tx.tx.open(MAM_BYTES)?.remove("alice").map(|_| ())?)).unwrap();
		put("m5", 300);
		assert_eq!(ids(), ["big", "m5"]);
		// Retention and deletion keep the count right.
		assert_eq!(t.store.write_blocking(|tx| tx.mam_expire(u64::MAX)).unwrap(), 2);
		put("m6", 900);
		assert_eq!(ids(), ["m6"]);
	}
}
