//! Links to other domains: the external components (XEP-0114) connected
//! now and the servers we federate with (RFC 6120 server-to-server), each
//! with its bounded queue. The router sends anything addressed to a domain
//! that is not ours through here; a server we have no link to yet gets one
//! at once (its queue fills while `net::s2s` connects and authenticates).

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::task::{Poll, Waker};

use crate::sessions::{Outbox, Outgoing};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StreamCondition, StreamError};

#[derive(Default)]
pub struct Remotes {
	links: HashMap<String, Rc<Outbox>>,
	/// Server domains that need an outgoing connection, for `net::s2s`.
	dials: VecDeque<(String, Rc<Outbox>)>,
	dialer: Option<Waker>,
}

impl Remotes {
	/// A component finished its handshake; false if its domain has one already.
	pub fn attach(&mut self, domain: &str, outbox: Rc<Outbox>) -> bool {
		if self.links.contains_key(domain) {
			return false;
		}
		self.links.insert(domain.to_owned(), outbox);
		true
	}

	/// The component's connection ended (only its own link is removed).
	pub fn detach(&mut self, domain: &str, outbox: &Rc<Outbox>) {
		if self.links.get(domain).is_some_and(|o| Rc::ptr_eq(o, outbox)) {
			self.links.remove(domain);
		}
	}

	/// Ends the link to `domain` (the admin removed the component).
	pub fn close(&mut self, domain: &str, why: StreamError) {
		if let Some(o) = self.links.remove(domain) {
			o.push(Outgoing::Close(why));
		}
	}

	pub fn is_connected(&self, domain: &str) -> bool {
		self.links.contains_key(domain)
	}

	pub fn domains(&self) -> impl Iterator<Item = &str> {
		self.links.keys().map(String::as_str)
	}

	/// Starts a link to the server of `domain` with `el` as its first
	/// stanza; the connection is made by whoever waits in [`Remotes::next_dial`].
	pub fn dial(&mut self, domain: &str, el: Element) {
		let outbox = Outbox::new();
		outbox.push(Outgoing::Stanza(Box::new(el)));
		self.links.insert(domain.to_owned(), outbox.clone());
		self.dials.push_back((domain.to_owned(), outbox));
		if let Some(w) = self.dialer.take() {
			w.wake();
		}
	}

	/// The next link to connect (domain and its queue).
	pub fn poll_dial(&mut self, cx: &mut std::task::Context<'_>) -> Poll<(String, Rc<Outbox>)> {
		match self.dials.pop_front() {
			Some(d) => Poll::Ready(d),
			None => {
				self.dialer = Some(cx.waker().clone());
				Poll::Pending
			}
		}
	}

	/// Queues a stanza for `domain`. On failure the stanza comes back with
	/// what its sender should hear: nobody serves that domain, or its queue
	/// is full (`limit`), in which case the link is closed rather than
	/// buffering without bound.
	pub fn send(&self, domain: &str, el: Element, limit: usize) -> Result<(), (Condition, Element)> {
		let Some(o) = self.links.get(domain) else { return Err((Condition::RemoteServerNotFound, el)) };
		if o.len() >= limit || o.is_closed() {
			if !o.is_closed() {
				log::warn!("{domain}: component queue full ({limit}), disconnecting it");
				o.push(Outgoing::Close(StreamError::with_text(StreamCondition::PolicyViolation, "too many stanzas queued")));
				o.close();
			}
			return Err((Condition::RemoteServerTimeout, el));
		}
		o.push(Outgoing::Stanza(Box::new(el)));
		Ok(())
	}
}
