//! PEP (XEP-0163): each account's pubsub nodes, their configuration and
//! their items. Items are kept as XML text with a per-node sequence number
//! that orders them (newest = highest); an account's item bytes are counted
//! in one row so a quota check never scans.

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::codec::{Reader, Writer};
use super::tables::{PEP_BYTES, PEP_ITEMS, PEP_NODES};
use super::{Snapshot, StoreError, Tx};

/// XEP-0060 §4.5 access models a PEP node may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessModel {
	Open,
	/// Contacts with a presence subscription to the owner (the PEP default).
	Presence,
	/// Only the owner.
	Whitelist,
}

impl AccessModel {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Open => "open",
			Self::Presence => "presence",
			Self::Whitelist => "whitelist",
		}
	}

	pub fn parse(s: &str) -> Option<AccessModel> {
		match s {
			"open" => Some(Self::Open),
			"presence" => Some(Self::Presence),
			"whitelist" => Some(Self::Whitelist),
			_ => None,
		}
	}
}

/// A node's configuration (the XEP-0060 §16.4.4 fields PEP clients set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeConfig {
	pub access: AccessModel,
	/// False: items are sent as notifications and not kept.
	pub persist_items: bool,
	/// Items kept, oldest dropped first; capped by `max_pep_items`.
	pub max_items: u32,
	/// Send the last item to a contact when its presence with +notify arrives.
	pub send_last: bool,
	pub notify_retract: bool,
}

impl Default for NodeConfig {
	/// XEP-0163 §5 defaults.
	fn default() -> NodeConfig {
		NodeConfig { access: AccessModel::Presence, persist_items: true, max_items: 1, send_last: true, notify_retract: true }
	}
}

/// A stored node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PepNode {
	pub config: NodeConfig,
	/// Sequence number the next published item gets.
	pub next_seq: u64,
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PepItem {
	pub id: String,
	pub seq: u64,
	/// The payload element as XML text.
	pub xml: String,
}

/// The account-wide limits a publish is checked against.
#[derive(Debug, Clone, Copy)]
pub struct PepLimits {
	pub max_nodes: usize,
	pub max_items: u32,
	pub max_bytes: u64,
}

/// What a publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
	/// Stored (or, for a non-persistent node, accepted); the node's config.
	Ok(NodeConfig),
	/// The node did not exist and the account has `max_nodes` already.
	TooManyNodes,
	/// The account's items would exceed `max_bytes`.
	QuotaExceeded,
}

impl PepNode {
	pub(super) fn encode(&self) -> Vec<u8> {
		let c = &self.config;
		let access = match c.access {
			AccessModel::Open => 0,
			AccessModel::Presence => 1,
			AccessModel::Whitelist => 2,
		};
		Writer::new(1)
			.u64(access)
			.bool(c.persist_items)
			.u64(u64::from(c.max_items))
			.bool(c.send_last)
			.bool(c.notify_retract)
			.u64(self.next_seq)
			.finish()
	}

	pub(super) fn decode(buf: &[u8]) -> Result<PepNode, StoreError> {
		let corrupt = |_| StoreError::Corrupt("pep node");
		let (mut r, _) = Reader::new(buf).map_err(corrupt)?;
		let access = match r.u64().map_err(corrupt)? {
			0 => AccessModel::Open,
			1 => AccessModel::Presence,
			2 => AccessModel::Whitelist,
			_ => return Err(StoreError::Corrupt("pep node")),
		};
		let config = NodeConfig {
			access,
			persist_items: r.bool().map_err(corrupt)?,
			max_items: r.u32().map_err(corrupt)?,
			send_last: r.bool().map_err(corrupt)?,
			notify_retract: r.bool().map_err(corrupt)?,
		};
		Ok(PepNode { config, next_seq: r.u64().map_err(corrupt)? })
	}
}

pub(super) fn encode_item(seq: u64, xml: &str) -> Vec<u8> {
	Writer::new(1).u64(seq).str(xml).finish()
}

pub(super) fn decode_item(id: &str, buf: &[u8]) -> Result<PepItem, StoreError> {
	let corrupt = |_| StoreError::Corrupt("pep item");
	let (mut r, _) = Reader::new(buf).map_err(corrupt)?;
	Ok(PepItem { id: id.to_owned(), seq: r.u64().map_err(corrupt)?, xml: r.string().map_err(corrupt)? })
}

type NodeKey = (&'static str, &'static str);
type ItemKey = (&'static str, &'static str, &'static str);

fn read_node(t: &impl Readable<NodeKey, &'static [u8]>, owner: &str, node: &str) -> Result<Option<PepNode>, StoreError> {
	t.get((owner, node))?.map(|g| PepNode::decode(g.value())).transpose()
}

fn read_nodes(t: &impl Readable<NodeKey, &'static [u8]>, owner: &str) -> Result<Vec<(String, PepNode)>, StoreError> {
	let mut out = Vec::new();
	for row in t.range((owner, "")..)? {
		let (k, v) = row?;
		let (o, node) = k.value();
		if o != owner {
			break;
		}
		out.push((node.to_owned(), PepNode::decode(v.value())?));
	}
	Ok(out)
}

/// A node's items, oldest first.
fn read_items(t: &impl Readable<ItemKey, &'static [u8]>, owner: &str, node: &str) -> Result<Vec<PepItem>, StoreError> {
	let mut out = Vec::new();
	for row in t.range((owner, node, "")..)? {
		let (k, v) = row?;
		let (o, n, id) = k.value();
		if o != owner || n != node {
			break;
		}
		out.push(decode_item(&id, v.value())?);
	}
	out.sort_by_key(|i| i.seq);
	Ok(out)
}

impl Snapshot {
	pub fn pep_node(&self, owner: &str, node: &str) -> Result<Option<PepNode>, StoreError> {
		read_node(&self.tx.open(PEP_NODES)?, owner, node)
	}

	pub fn pep_nodes(&self, owner: &str) -> Result<Vec<(String, PepNode)>, StoreError> {
		read_nodes(&self.tx.open(PEP_NODES)?, owner)
	}

	pub fn pep_items(&self, owner: &str, node: &str) -> Result<Vec<PepItem>, StoreError> {
		read_items(&self.tx.open(PEP_ITEMS)?, owner, node)
	}
}

impl Tx<'_> {
	pub fn pep_items(&self, owner: &str, node: &str) -> Result<Vec<PepItem>, StoreError> {
		read_items(&self.tx.open(PEP_ITEMS)?, owner, node)
	}

	pub fn pep_node(&self, owner: &str, node: &str) -> Result<Option<PepNode>, StoreError> {
		read_node(&self.tx.open(PEP_NODES)?, owner, node)
	}

	fn pep_bytes(&self, owner: &str) -> Result<u64, StoreError> {
		Ok(self.tx.open(PEP_BYTES)?.get(owner)?.map_or(0, |g| g.value()))
	}

	fn set_pep_bytes(&self, owner: &str, bytes: u64) -> Result<(), StoreError> {
		let mut t = self.tx.open(PEP_BYTES)?;
		if bytes == 0 {
			t.remove(owner)?;
		} else {
			t.insert(owner, bytes)?;
		}
		Ok(())
	}

	/// Creates a node; false if the account already has `max_nodes`.
	/// An existing node is left as it is.
	pub fn pep_create(&self, owner: &str, node: &str, config: NodeConfig, max_nodes: usize) -> Result<bool, StoreError> {
		let mut t = self.tx.open(PEP_NODES)?;
		if read_node(&t, owner, node)?.is_some() {
			return Ok(true);
		}
		if read_nodes(&t, owner)?.len() >= max_nodes {
			return Ok(false);
		}
		t.insert((owner, node), PepNode { config, next_seq: 1 }.encode().as_slice())?;
		Ok(true)
	}

	/// Publishes item `id` (replacing one with that id) to `node`, creating
	/// the node with `config` if it does not exist; then drops the oldest
	/// items beyond the node's `max_items`.
	pub fn pep_publish(
		&self,
		owner: &str,
		node: &str,
		config: NodeConfig,
		id: &str,
		xml: &str,
		limits: PepLimits,
	) -> Result<Published, StoreError> {
		let mut n = match self.pep_node(owner, node)? {
			Some(n) => n,
			None => {
				if !self.pep_create(owner, node, config, limits.max_nodes)? {
					return Ok(Published::TooManyNodes);
				}
				PepNode { config, next_seq: 1 }
			}
		};
		if !n.config.persist_items {
			return Ok(Published::Ok(n.config));
		}
		let mut items = self.tx.open(PEP_ITEMS)?;
		let old = items.get((owner, node, id))?.map(|g| g.value().len() as u64).unwrap_or(0);
		let bytes = self.pep_bytes(owner)?;
		let new_total = bytes - old.min(bytes) + (encode_item(n.next_seq, xml).len() as u64);
		if new_total > limits.max_bytes {
			return Ok(Published::QuotaExceeded);
		}
		items.insert((owner, node, id), encode_item(n.next_seq, xml).as_slice())?;
		n.next_seq += 1;
		drop(items);
		self.tx.open(PEP_NODES)?.insert((owner, node), n.encode().as_slice())?;
		self.set_pep_bytes(owner, new_total)?;
		self.pep_trim(owner, node, n.config.max_items.min(limits.max_items))?;
		Ok(Published::Ok(n.config))
	}

	/// Drops the oldest items beyond `keep`.
	fn pep_trim(&self, owner: &str, node: &str, keep: u32) -> Result<(), StoreError> {
		let mut t = self.tx.open(PEP_ITEMS)?;
		let all = read_items(&t, owner, node)?;
		let extra = all.len().saturating_sub(keep as usize);
		let mut freed = 0u64;
		for item in &all[..extra] {
			if let Some(g) = t.remove((owner, node, item.id.as_str()))? {
				freed += g.value().len() as u64;
			}
		}
		drop(t);
		if freed > 0 {
			let bytes = self.pep_bytes(owner)?;
			self.set_pep_bytes(owner, bytes.saturating_sub(freed))?;
		}
		Ok(())
	}

	/// Removes one item; false if there was none with that id.
	pub fn pep_retract(&self, owner: &str, node: &str, id: &str) -> Result<bool, StoreError> {
		let Some(g) = self.tx.open(PEP_ITEMS)?.remove((owner, node, id))?.map(|g| g.value().len() as u64) else {
			return Ok(false);
		};
		let bytes = self.pep_bytes(owner)?;
		self.set_pep_bytes(owner, bytes.saturating_sub(g))?;
		Ok(true)
	}

	/// New configuration for an existing node; false if there is no such node.
	pub fn pep_configure(&self, owner: &str, node: &str, config: NodeConfig, max_items: u32) -> Result<bool, StoreError> {
		let Some(mut n) = self.pep_node(owner, node)? else { return Ok(false) };
		n.config = config;
		self.tx.open(PEP_NODES)?.insert((owner, node), n.encode().as_slice())?;
		let keep = if config.persist_items { config.max_items.min(max_items) } else { 0 };
		self.pep_trim(owner, node, keep)?;
		Ok(true)
	}

	/// Removes every item of a node (XEP-0060 §8.5 purge); false if no node.
	pub fn pep_purge(&self, owner: &str, node: &str) -> Result<bool, StoreError> {
		if self.pep_node(owner, node)?.is_none() {
			return Ok(false);
		}
		self.pep_trim(owner, node, 0)?;
		Ok(true)
	}

	/// Deletes a node with its items; false if there was none.
	pub fn pep_delete(&self, owner: &str, node: &str) -> Result<bool, StoreError> {
		if !self.pep_purge(owner, node)? {
			return Ok(false);
		}
		self.tx.open(PEP_NODES)?.remove((owner, node))?;
		self.pep_drop_subscribers(owner, node)?;
		Ok(true)
	}

	/// Deletes every node of an account (with the account).
	pub fn clear_pep(&self, owner: &str) -> Result<(), StoreError> {
		self.tx.open(PEP_NODES)?.retain_in((owner, "")..=(owner, "\u{10ffff}"), |_, _| false)?;
		self.tx.open(PEP_ITEMS)?.retain_in((owner, "", "")..=(owner, "\u{10ffff}", ""), |_, _| false)?;
		self.tx.open(PEP_BYTES)?.remove(owner)?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::temp_store;

	const LIMITS: PepLimits = PepLimits { max_nodes: 2, max_items: 3, max_bytes: 200 };

	fn publish(store: &crate::store::Store, node: &str, config: NodeConfig, id: &str, xml: &str) -> Published {
		let (node, id, xml) = (node.to_owned(), id.to_owned(), xml.to_owned());
		store.write_blocking(move |tx| tx.pep_publish("alice", &node, config, &id, &xml, LIMITS)).unwrap()
	}

	#[test]
	fn publish_replaces_trims_and_counts_bytes() {
		let t = temp_store();
		let store = &t.store;
		let many = NodeConfig { max_items: 10, ..NodeConfig::default() };
		for i in 0..5 {
			assert_eq!(publish(store, "n", many, &format!("i{i}"), "<x/>"), Published::Ok(many));
		}
		// max_items 10 is capped by the account limit of 3: the newest three stay.
		let items = store.snapshot().unwrap().pep_items("alice", "n").unwrap();
		assert_eq!(items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["i2", "i3", "i4"]);
		// Republishing an id moves it to the newest place.
		publish(store, "n", many, "i2", "<y/>");
		let items = store.snapshot().unwrap().pep_items("alice", "n").unwrap();
		assert_eq!(items.last().unwrap().xml, "<y/>");
		// Two nodes at most; a third is refused, an existing one is not.
		publish(store, "m", NodeConfig::default(), "a", "<z/>");
		assert_eq!(publish(store, "third", NodeConfig::default(), "a", "<z/>"), Published::TooManyNodes);
		assert!(matches!(publish(store, "m", NodeConfig::default(), "b", "<z/>"), Published::Ok(_)));
		// The byte quota counts every item; freed bytes come back.
		assert_eq!(publish(store, "m", NodeConfig::default(), "c", &"x".repeat(200)), Published::QuotaExceeded);
		assert!(store.write_blocking(|tx| tx.pep_delete("alice", "n")).unwrap());
		assert!(matches!(publish(store, "m", NodeConfig::default(), "c", &"x".repeat(150)), Published::Ok(_)));
		store.write_blocking(|tx| tx.clear_pep("alice")).unwrap();
		assert!(store.snapshot().unwrap().pep_nodes("alice").unwrap().is_empty());
		assert_eq!(store.write_blocking(|tx| tx.pep_bytes("alice")).unwrap(), 0);
	}

	#[test]
	fn transient_nodes_keep_nothing() {
		let t = temp_store();
		let store = &t.store;
		let transient = NodeConfig { persist_items: false, ..NodeConfig::default() };
		assert_eq!(publish(store, "t", transient, "a", "<x/>"), Published::Ok(transient));
		assert!(store.snapshot().unwrap().pep_items("alice", "t").unwrap().is_empty());
		assert!(store.snapshot().unwrap().pep_node("alice", "t").unwrap().is_some());
	}
}
