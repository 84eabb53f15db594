//! The registry of bound sessions: who is online, with which resources,
//! presence and priority, and how to reach each session (a bounded queue).
//!
//! Single-threaded: owned by the server inside a `RefCell`, never held
//! across an `.await`.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;
use std::task::{Poll, Waker};

use crate::mem::Class;
use crate::proto::stream::BindError;
use crate::xmpp::element::Element;
use crate::xmpp::error::StreamError;
use crate::xmpp::jid::{FullJid, Jid, prep_resource};
use crate::xmpp::packed::Packed;

/// What a session task receives.
#[derive(Debug)]
pub enum Outgoing {
	/// Serialised, and counted against the memory budget while it waits.
	Stanza(Packed),
	/// End the stream with this error (conflict, shutdown, account deleted).
	Close(StreamError),
	/// Deliver the stored offline messages now (XEP-0160).
	FlushOffline,
}

/// A session's outbound queue: single-threaded, bounded by its owner's
/// limits (stanzas and bytes), and holding no memory while empty (an idle
/// session costs nothing here).
#[derive(Default)]
pub struct Outbox {
	queue: RefCell<VecDeque<Outgoing>>,
	/// What the queued stanzas cost (see [`Packed::cost`]).
	bytes: Cell<usize>,
	waker: Cell<Option<Waker>>,
	closed: Cell<bool>,
}

impl std::fmt::Debug for Outbox {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Outbox").field("len", &self.len()).field("closed", &self.closed.get()).finish()
	}
}

impl Outbox {
	pub fn new() -> Rc<Outbox> {
		Rc::new(Outbox::default())
	}

	pub fn len(&self) -> usize {
		self.queue.borrow().len()
	}

	pub fn is_empty(&self) -> bool {
		self.queue.borrow().is_empty()
	}

	/// Bytes of the stanzas waiting.
	pub fn bytes(&self) -> usize {
		self.bytes.get()
	}

	/// Would one more stanza of `cost` bytes go past `max_len` stanzas or
	/// `max_bytes` bytes? (One stanza alone always fits.)
	pub fn is_full(&self, cost: usize, max_len: usize, max_bytes: usize) -> bool {
		let len = self.len();
		len >= max_len || (len > 0 && self.bytes().saturating_add(cost) > max_bytes)
	}

	/// Queues an item; false if the outbox is closed.
	pub fn push(&self, item: Outgoing) -> bool {
		if self.closed.get() {
			return false;
		}
		if let Outgoing::Stanza(p) = &item {
			self.bytes.set(self.bytes.get() + p.cost());
		}
		self.queue.borrow_mut().push_back(item);
		if let Some(w) = self.waker.take() {
			w.wake();
		}
		true
	}

	/// No more items; the receiver sees `None` once the queue is drained.
	pub fn close(&self) {
		self.closed.set(true);
		if let Some(w) = self.waker.take() {
			w.wake();
		}
	}

	pub fn is_closed(&self) -> bool {
		self.closed.get()
	}

	/// The next item without waiting.
	pub fn try_recv(&self) -> Option<Outgoing> {
		let mut q = self.queue.borrow_mut();
		let item = q.pop_front();
		if let Some(Outgoing::Stanza(p)) = &item {
			self.bytes.set(self.bytes.get().saturating_sub(p.cost()));
		}
		if q.is_empty() && q.capacity() > 0 {
			// Give the memory back while idle.
			*q = VecDeque::new();
		}
		item
	}

	/// Waits for the next item; `None` once closed and drained.
	pub async fn recv(&self) -> Option<Outgoing> {
		std::future::poll_fn(|cx| match self.try_recv() {
			Some(item) => Poll::Ready(Some(item)),
			None if self.closed.get() => Poll::Ready(None),
			None => {
				self.waker.set(Some(cx.waker().clone()));
				Poll::Pending
			}
		})
		.await
	}
}

/// One bound session as others see it.
#[derive(Debug)]
pub struct Session {
	pub id: u64,
	pub jid: FullJid,
	tx: Rc<Outbox>,
	/// Most stanzas and bytes waiting in `tx` (`session_queue_len`,
	/// `session_queue_bytes`).
	queue_limit: (usize, usize),
	/// The last available presence it broadcast; `None` while unavailable.
	pub presence: Option<Element>,
	pub priority: i8,
	/// It asked for the roster, so it gets roster pushes (RFC 6121 §2.1.6).
	pub interested: bool,
	/// Entities that got directed presence and must get unavailable at the end
	/// (RFC 6121 §4.6.3).
	pub directed: BTreeSet<Jid>,
	/// It enabled message carbons (XEP-0280).
	pub carbons: bool,
	/// It asked for the block list, so it gets block list pushes (XEP-0191 §3.3).
	pub blocklist_wanted: bool,
	/// The PEP nodes it wants notifications of (XEP-0115 caps, +notify).
	pub interests: Option<Rc<crate::features::caps::Interests>>,
	/// The push registration (app server JID, node) this session enabled
	/// (XEP-0357): the one to wake while the session is hibernated.
	pub push: Option<Box<(String, String)>>,
	/// The SASL2 user-agent id it logged in with (XEP-0388): revoking
	/// that device ends this session.
	pub device: Option<String>,
}

impl Session {
	pub fn is_available(&self) -> bool {
		self.presence.is_some()
	}

	/// Queues a stanza. If the client does not keep up and the queue is
	/// full, the session is closed instead of buffering without bound.
	pub fn send(&self, el: Element) -> bool {
		self.try_send(el).is_ok()
	}

	/// [`Session::send`], saying why a stanza was not queued.
	pub fn try_send(&self, el: Element) -> Result<(), NotQueued> {
		if self.tx.is_closed() {
			return Err(NotQueued::Closed);
		}
		let Ok(mut p) = Packed::new(&el, Class::Transit) else { return Err(NotQueued::NoMemory) };
		let (max_len, max_bytes) = self.queue_limit;
		if self.tx.is_full(p.cost(), max_len, max_bytes) {
			log::info!("{}: outbound queue full ({} stanzas, {} bytes), disconnecting", self.jid, self.tx.len(), self.tx.bytes());
			self.tx.close();
			return Err(NotQueued::Closed);
		}
		p.urgent = crate::net::csi::urgent(&el);
		if self.tx.push(Outgoing::Stanza(p)) { Ok(()) } else { Err(NotQueued::Closed) }
	}

	/// Queues an answer to the session's own request, past the queue limit
	/// and the memory budget (see `features::Out::Reply`).
	pub fn reply(&self, el: Element) -> bool {
		let mut p = Packed::forced(&el);
		p.urgent = crate::net::csi::urgent(&el);
		self.tx.push(Outgoing::Stanza(p))
	}

	/// Queues a control item for the session task.
	pub fn push(&self, item: Outgoing) -> bool {
		self.tx.push(item)
	}

	/// The queue the session's connection reads.
	pub fn outbox(&self) -> Rc<Outbox> {
		self.tx.clone()
	}

	pub fn close(&self, err: StreamError) {
		self.tx.push(Outgoing::Close(err));
	}
}

/// Why [`Session::try_send`] did not queue a stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
	/// The session is ending (or was just cut off for not reading).
	Closed,
	/// The server's memory budget is spent: the sender should try later.
	NoMemory,
}

/// All bound sessions by account localpart.
#[derive(Default)]
pub struct Sessions {
	by_user: HashMap<String, Vec<Session>>,
	next_id: u64,
	count: usize,
}

impl Sessions {
	/// Binds `resource` (or a generated one) for `user`; `limits` are
	/// (`max_resources_per_account`, (`session_queue_len`,
	/// `session_queue_bytes`)). A session already
	/// using that resource is removed and returned, so the caller can end it
	/// (RFC 6120 §7.7.2.2, "override the existing session").
	pub fn bind(
		&mut self,
		user: &str,
		domain: &str,
		resource: Option<&str>,
		tx: Rc<Outbox>,
		limits: (usize, (usize, usize)),
		random: &mut dyn FnMut(&mut [u8]),
	) -> Result<(u64, FullJid, Option<Session>), BindError> {
		let (max_resources, queue_limit) = limits;
		let resource = match resource {
			Some(r) => prep_resource(r).map_err(|_| BindError::BadResource)?,
			None => generate_resource(random),
		};
		let jid =
			Jid::from_parts(Some(user), domain, Some(&resource)).ok().and_then(|j| j.try_into_full().ok()).ok_or(BindError::BadResource)?;
		// Most accounts have one or two sessions: grow from one, not four.
		let list = self.by_user.entry(user.to_owned()).or_insert_with(|| Vec::with_capacity(1));
		let replaced = match list.iter().position(|s| s.jid.resource() == jid.resource()) {
			Some(i) => Some(list.remove(i)),
			None if list.len() >= max_resources => return Err(BindError::TooManyResources),
			None => None,
		};
		if replaced.is_none() {
			self.count += 1;
		}
		self.next_id += 1;
		let id = self.next_id;
		list.push(Session {
			id,
			jid: jid.clone(),
			tx,
			queue_limit,
			presence: None,
			priority: 0,
			interested: false,
			directed: BTreeSet::new(),
			carbons: false,
			interests: None,
			blocklist_wanted: false,
			push: None,
			device: None,
		});
		Ok((id, jid, replaced))
	}

	/// Removes a session; `None` if it was already replaced or removed.
	pub fn remove(&mut self, user: &str, id: u64) -> Option<Session> {
		let list = self.by_user.get_mut(user)?;
		let i = list.iter().position(|s| s.id == id)?;
		let s = list.remove(i);
		if list.is_empty() {
			self.by_user.remove(user);
		}
		self.count -= 1;
		Some(s)
	}

	/// Points a session at another connection's queue (XEP-0198 resumption).
	pub fn replace_outbox(&mut self, user: &str, id: u64, tx: Rc<Outbox>) -> bool {
		match self.get_mut(user, id) {
			Some(s) => {
				s.tx = tx;
				true
			}
			None => false,
		}
	}

	/// Every session of an account.
	pub fn of(&self, user: &str) -> &[Session] {
		self.by_user.get(user).map_or(&[], Vec::as_slice)
	}

	pub fn of_mut(&mut self, user: &str) -> &mut [Session] {
		self.by_user.get_mut(user).map_or(&mut [], Vec::as_mut_slice)
	}

	pub fn get(&self, user: &str, id: u64) -> Option<&Session> {
		self.of(user).iter().find(|s| s.id == id)
	}

	pub fn get_mut(&mut self, user: &str, id: u64) -> Option<&mut Session> {
		self.by_user.get_mut(user)?.iter_mut().find(|s| s.id == id)
	}

	/// The session bound to a full JID of ours.
	pub fn by_jid(&self, jid: &FullJid) -> Option<&Session> {
		let user = jid.node()?;
		self.of(user).iter().find(|s| s.jid.resource() == jid.resource())
	}

	/// Available sessions of an account.
	pub fn available(&self, user: &str) -> impl Iterator<Item = &Session> {
		self.of(user).iter().filter(|s| s.is_available())
	}

	pub fn count(&self) -> usize {
		self.count
	}

	pub fn users_online(&self) -> usize {
		self.by_user.len()
	}

	/// Every session, for shutdown.
	pub fn all(&self) -> impl Iterator<Item = &Session> {
		self.by_user.values().flatten()
	}
}

fn generate_resource(random: &mut dyn FnMut(&mut [u8])) -> String {
	const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
	let mut bytes = [0u8; 10];
	random(&mut bytes);
	let tail: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
	format!("xerra-{tail}")
}

#[cfg(test)]
mod tests {
	use super::*;

	fn rnd(b: &mut [u8]) {
		for (i, x) in b.iter_mut().enumerate() {
			*x = i as u8;
		}
	}

	#[test]
	fn bind_replace_limit_and_remove() {
		let mut s = Sessions::default();
		let tx = Outbox::new();
		let (id1, jid1, r) = s.bind("alice", "example.org", Some("phone"), tx.clone(), (2, (4, 1 << 20)), &mut rnd).unwrap();
		assert!(r.is_none());
		assert_eq!(jid1.as_str(), "alice@example.org/phone");
		let (id2, jid2, _) = s.bind("alice", "example.org", None, tx.clone(), (2, (4, 1 << 20)), &mut rnd).unwrap();
		assert!(jid2.resource().starts_with("xerra-"));
		assert_eq!(
			s.bind("alice", "example.org", Some("third"), tx.clone(), (2, (4, 1 << 20)), &mut rnd).unwrap_err(),
			BindError::TooManyResources
		);
		// Same resource again: the old session is handed back, the count is unchanged.
		let (id3, _, replaced) = s.bind("alice", "example.org", Some("phone"), tx.clone(), (2, (4, 1 << 20)), &mut rnd).unwrap();
		assert_eq!(replaced.unwrap().id, id1);
		assert_eq!(s.count(), 2);
		assert!(s.remove("alice", id1).is_none());
		assert!(s.remove("alice", id2).is_some());
		assert!(s.remove("alice", id3).is_some());
		assert_eq!((s.count(), s.users_online()), (0, 0));
	}

	#[test]
	fn full_queue_closes_the_session() {
		let mut s = Sessions::default();
		let rx = Outbox::new();
		let (id, _, _) = s.bind("bob", "example.org", Some("r"), rx.clone(), (4, (1, 1 << 20)), &mut rnd).unwrap();
		let sess = s.get("bob", id).unwrap();
		assert!(sess.send(Element::new("message", "jabber:client")));
		assert!(!sess.send(Element::new("message", "jabber:client")));
		assert!(rx.is_closed());
	}

	#[test]
	fn a_queue_full_of_bytes_closes_the_session() {
		let mut s = Sessions::default();
		let rx = Outbox::new();
		let (id, _, _) = s.bind("bob", "example.org", Some("r"), rx.clone(), (4, (100, 4000)), &mut rnd).unwrap();
		let sess = s.get("bob", id).unwrap();
		let big = Element::new("message", "jabber:client").with_child(Element::new("body", "jabber:client").with_text("x".repeat(3000)));
		// One alone always fits, even past the bound.
		assert!(sess.send(big.clone().with_text("y".repeat(2000))));
		assert!(!sess.send(big.clone()));
		assert!(rx.is_closed());
		// What was queued is still there for the session task.
		assert_eq!(rx.len(), 1);
		assert!(rx.bytes() > 5000);
		assert!(rx.try_recv().is_some());
		assert_eq!(rx.bytes(), 0);
	}
}
