//! The registry of bound sessions: who is online, with which resources,
//! presence and priority, and how to reach each session (a bounded queue).
//!
//! Single-threaded: owned by the server inside a `RefCell`, never held
//! across an `.await`.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;
use std::task::{Poll, Waker};

use crate::proto::stream::BindError;
use crate::xmpp::element::Element;
use crate::xmpp::error::StreamError;
use crate::xmpp::jid::{FullJid, Jid, prep_resource};

/// What a session task receives.
#[derive(Debug)]
pub enum Outgoing {
	/// Boxed: queue slots stay small.
	Stanza(Box<Element>),
	/// End the stream with this error (conflict, shutdown, account deleted).
	Close(StreamError),
	/// Deliver the stored offline messages now (XEP-0160).
	FlushOffline,
}

/// A session's outbound queue: single-threaded, bounded by its owner's
/// limit, and holding no memory while empty (an idle session costs nothing
/// here).
#[derive(Default)]
pub struct Outbox {
	queue: RefCell<VecDeque<Outgoing>>,
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

	/// Queues an item; false if the outbox is closed.
	pub fn push(&self, item: Outgoing) -> bool {
		if self.closed.get() {
			return false;
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
	/// Most stanzas waiting in `tx` (`session_queue_len`).
	queue_limit: usize,
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
}

impl Session {
	pub fn is_available(&self) -> bool {
		self.presence.is_some()
	}

	/// Queues a stanza. If the client does not keep up and the queue is full,
	/// the session is closed instead of buffering without bound.
	pub fn send(&self, el: Element) -> bool {
		if self.tx.len() >= self.queue_limit {
			if !self.tx.is_closed() {
				log::info!("{}: outbound queue full, disconnecting", self.jid);
			}
			self.tx.close();
			return false;
		}
		self.tx.push(Outgoing::Stanza(Box::new(el)))
	}

	/// Queues an answer to the session's own request, past the queue limit
	/// (see `features::Out::Reply`).
	pub fn reply(&self, el: Element) -> bool {
		self.tx.push(Outgoing::Stanza(Box::new(el)))
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

/// All bound sessions by account localpart.
#[derive(Default)]
pub struct Sessions {
	by_user: HashMap<String, Vec<Session>>,
	next_id: u64,
	count: usize,
}

impl Sessions {
	/// Binds `resource` (or a generated one) for `user`; `limits` are
	/// (`max_resources_per_account`, `session_queue_len`). A session already
	/// using that resource is removed and returned, so the caller can end it
	/// (RFC 6120 §7.7.2.2, "override the existing session").
	pub fn bind(
		&mut self,
		user: &str,
		domain: &str,
		resource: Option<&str>,
		tx: Rc<Outbox>,
		limits: (usize, usize),
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
		let (id1, jid1, r) = s.bind("alice", "example.org", Some("phone"), tx.clone(), (2, 4), &mut rnd).unwrap();
		assert!(r.is_none());
		assert_eq!(jid1.as_str(), "alice@example.org/phone");
		let (id2, jid2, _) = s.bind("alice", "example.org", None, tx.clone(), (2, 4), &mut rnd).unwrap();
		assert!(jid2.resource().starts_with("xerra-"));
		assert_eq!(s.bind("alice", "example.org", Some("third"), tx.clone(), (2, 4), &mut rnd).unwrap_err(), BindError::TooManyResources);
		// Same resource again: the old session is handed back, the count is unchanged.
		let (id3, _, replaced) = s.bind("alice", "example.org", Some("phone"), tx.clone(), (2, 4), &mut rnd).unwrap();
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
		let (id, _, _) = s.bind("bob", "example.org", Some("r"), rx.clone(), (4, 1), &mut rnd).unwrap();
		let sess = s.get("bob", id).unwrap();
		assert!(sess.send(Element::new("message", "jabber:client")));
		assert!(!sess.send(Element::new("message", "jabber:client")));
		assert!(rx.is_closed());
	}
}
