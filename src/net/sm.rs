//! XEP-0198 stream management, the part that outlives a connection: what
//! was sent and not yet acknowledged, what arrived while the client was
//! away, and the token a client resumes with. Shared (`Rc<RefCell<_>>`)
//! between the connection that owns the session now and the registry in
//! [`Server::resumable`](crate::server::Server), so a new connection can take
//! a session over from a dead one.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crate::xmpp::jid::FullJid;
use crate::xmpp::packed::Packed;

/// One session's stream management state.
#[derive(Debug)]
pub struct SmState {
	/// `previd` for `<resume/>`; `None` when the client did not ask for resumption.
	pub token: Option<String>,
	pub user: String,
	pub session_id: u64,
	pub jid: FullJid,
	/// Connection that owns the session; another value means it was taken over.
	pub owner: u64,
	/// Stanzas from the client handled (the `h` we report).
	pub inbound: u32,
	/// The client's last `h`: stanzas of ours it has.
	pub acked: u32,
	/// Sent and not acknowledged, oldest first (`acked + len` = sent).
	unacked: VecDeque<Packed>,
	/// Arrived while no connection was attached; not sent yet.
	held: VecDeque<Packed>,
	/// What `unacked` and `held` cost (`sm_max_unacked_bytes`).
	bytes: usize,
	/// Offline messages were to be flushed while no connection was attached.
	pub flush_offline: bool,
}

/// The client acknowledged more than was sent (XEP-0198 §4, handled-count-too-high).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooHigh {
	pub h: u32,
	pub sent: u32,
}

impl SmState {
	pub fn new(token: Option<String>, user: &str, session_id: u64, jid: FullJid, owner: u64) -> SmState {
		SmState {
			token,
			user: user.to_owned(),
			session_id,
			jid,
			owner,
			inbound: 0,
			acked: 0,
			unacked: VecDeque::new(),
			held: VecDeque::new(),
			bytes: 0,
			flush_offline: false,
		}
	}

	/// Stanzas sent so far (mod 2^32).
	pub fn sent(&self) -> u32 {
		self.acked.wrapping_add(self.unacked.len() as u32)
	}

	/// Records a stanza about to be written.
	pub fn sent_one(&mut self, p: Packed) {
		self.bytes += p.cost();
		self.unacked.push_back(p);
	}

	/// Keeps a stanza for the client while it is away.
	pub fn hold(&mut self, p: Packed) {
		self.bytes += p.cost();
		self.held.push_back(p);
	}

	/// What waited while the client was away, oldest first.
	pub fn take_held(&mut self) -> Vec<Packed> {
		let held: Vec<Packed> = self.held.drain(..).collect();
		self.bytes -= held.iter().map(Packed::cost).sum::<usize>();
		held
	}

	/// The stanzas sent and not acknowledged, oldest first.
	pub fn unacked(&self) -> impl ExactSizeIterator<Item = &Packed> {
		self.unacked.iter()
	}

	/// Bytes of the stanzas kept (unacknowledged and held).
	pub fn bytes(&self) -> usize {
		self.bytes
	}

	/// The client has `h` of our stanzas: forget those (counts wrap, §4).
	pub fn ack(&mut self, h: u32) -> Result<(), TooHigh> {
		let newly = h.wrapping_sub(self.acked) as usize;
		if newly > self.unacked.len() {
			return Err(TooHigh { h, sent: self.sent() });
		}
		self.bytes -= self.unacked.drain(..newly).map(|p| p.cost()).sum::<usize>();
		if self.unacked.is_empty() {
			self.unacked = VecDeque::new();
		}
		self.acked = h;
		Ok(())
	}

	/// Everything not known to have reached the client, oldest first.
	pub fn take_undelivered(&mut self) -> Vec<Packed> {
		self.bytes = 0;
		self.unacked.drain(..).chain(self.held.drain(..)).collect()
	}

	pub fn pending(&self) -> usize {
		self.unacked.len() + self.held.len()
	}
}

pub type Shared = Rc<RefCell<SmState>>;

/// Resumable sessions by token.
#[derive(Default)]
pub struct Registry {
	by_token: HashMap<String, Shared>,
}

impl Registry {
	pub fn insert(&mut self, token: String, st: Shared) {
		self.by_token.insert(token, st);
	}

	/// The session `user` may resume with `token`.
	pub fn find(&self, token: &str, user: &str) -> Option<Shared> {
		self.by_token.get(token).filter(|st| st.borrow().user == user).cloned()
	}

	pub fn remove(&mut self, token: &str) {
		self.by_token.remove(token);
	}

	pub fn len(&self) -> usize {
		self.by_token.len()
	}

	pub fn is_empty(&self) -> bool {
		self.by_token.is_empty()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::xmpp::element::Element;

	fn pack(el: Element) -> Packed {
		Packed::forced(&el)
	}

	fn st() -> SmState {
		let jid = crate::xmpp::jid::Jid::parse("a@example.org/r").unwrap().try_into_full().unwrap();
		SmState::new(Some("t".into()), "a", 1, jid, 1)
	}

	#[test]
	fn acks_forget_what_the_client_has_and_wrap() {
		let mut s = st();
		for i in 0..3 {
			s.sent_one(pack(Element::new("message", "jabber:client").with_attr("id", i.to_string())));
		}
		assert_eq!(s.sent(), 3);
		s.ack(2).unwrap();
		assert_eq!(s.unacked.len(), 1);
		assert_eq!(s.ack(5), Err(TooHigh { h: 5, sent: 3 }));
		// Acks may repeat; counts wrap at 2^32.
		s.ack(2).unwrap();
		s.acked = u32::MAX;
		s.sent_one(pack(Element::new("message", "jabber:client")));
		s.ack(0).unwrap();
		assert_eq!(s.unacked.len(), 1);
		s.ack(1).unwrap();
		assert!(s.unacked.is_empty());
	}

	#[test]
	fn undelivered_is_unacked_then_held() {
		let mut s = st();
		s.sent_one(pack(Element::new("message", "jabber:client").with_attr("id", "sent")));
		s.hold(pack(Element::new("message", "jabber:client").with_attr("id", "held")));
		assert!(s.bytes() > 0);
		let ids: Vec<_> = s.take_undelivered().iter().map(|p| p.attr("id").unwrap().into_owned()).collect();
		assert_eq!(ids, ["sent", "held"]);
		assert_eq!((s.pending(), s.bytes()), (0, 0));
	}
}
