//! Links to other domains: the external components (XEP-0114) connected
//! now and the servers we federate with (RFC 6120 server-to-server), each
//! with its bounded queue. The router sends anything addressed to a domain
//! that is not ours through here; a server we have no link to yet gets one
//! at once (its queue fills while `net::s2s` connects and authenticates).

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::task::{Poll, Waker};

use crate::mem::Class;
use crate::sessions::{Outbox, Outgoing};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StreamCondition, StreamError};
use crate::xmpp::packed::Packed;

/// A link to another server: (our domain it speaks for, their domain).
/// Each of our domains (the main one, the rooms service, a component's)
/// proves itself separately (XEP-0220), so each has links of its own.
pub type ServerLink = (String, String);

#[derive(Default)]
pub struct Remotes {
	/// Connected components by domain.
	links: HashMap<String, Rc<Outbox>>,
	/// Links to other servers, made or being made.
	servers: HashMap<ServerLink, Rc<Outbox>>,
	/// Domains served by a configured component, connected or not: never
	/// dialled as servers.
	components: HashSet<String>,
	/// Server domains that need an outgoing connection, for `net::s2s`.
	dials: VecDeque<(ServerLink, Rc<Outbox>)>,
	dialer: Option<Waker>,
}

impl Remotes {
	/// The configured components' domains (at start, and as the admin changes them).
	pub fn set_component(&mut self, domain: &str, configured: bool) {
		if configured {
			self.components.insert(domain.to_owned());
		} else {
			self.components.remove(domain);
		}
	}

	pub fn is_component(&self, domain: &str) -> bool {
		self.components.contains(domain)
	}

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

	/// Starts a link to the server of `link.1`, speaking for our `link.0`,
	/// with `el` as its first stanza (`bounce`: as in [`Remotes::send`]);
	/// the connection is made by whoever waits in [`Remotes::poll_dial`].
	pub fn dial(&mut self, link: ServerLink, el: Element, bounce: bool) {
		let outbox = Outbox::new();
		// One stanza, bounded by the stanza limit: taken whatever the budget says.
		let mut p = Packed::forced(&el);
		p.bounce = bounce;
		outbox.push(Outgoing::Stanza(p));
		self.servers.insert(link.clone(), outbox.clone());
		self.dials.push_back((link, outbox));
		if let Some(w) = self.dialer.take() {
			w.wake();
		}
	}

	/// The next link to connect, and its queue.
	pub fn poll_dial(&mut self, cx: &mut std::task::Context<'_>) -> Poll<(ServerLink, Rc<Outbox>)> {
		match self.dials.pop_front() {
			Some(d) => Poll::Ready(d),
			None => {
				self.dialer = Some(cx.waker().clone());
				Poll::Pending
			}
		}
	}

	/// A link to a server is gone (only that very link is removed).
	pub fn detach_server(&mut self, link: &ServerLink, outbox: &Rc<Outbox>) {
		if self.servers.get(link).is_some_and(|o| Rc::ptr_eq(o, outbox)) {
			self.servers.remove(link);
		}
	}

	/// Queues a stanza from our domain `local` for `domain` (its component,
	/// else our link to its server). On failure the stanza comes back with
	/// what its sender should hear: nobody serves that domain (no link
	/// yet), its queue is full (`limit`: stanzas, bytes), in which case the
	/// link is closed rather than buffering without bound, or the server's
	/// memory budget is spent. `bounce`: if the link fails later, the stanza
	/// goes back to its sender too.
	pub fn send(&self, local: &str, domain: &str, el: Element, limit: (usize, usize), bounce: bool) -> Result<(), (Condition, Element)> {
		let o = match self.links.get(domain) {
			Some(o) => o,
			None => match self.servers.get(&(local.to_owned(), domain.to_owned())) {
				Some(o) => o,
				None => return Err((Condition::RemoteServerNotFound, el)),
			},
		};
		if o.is_closed() {
			return Err((Condition::RemoteServerTimeout, el));
		}
		let Ok(mut p) = Packed::new(&el, Class::Transit) else { return Err((Condition::ResourceConstraint, el)) };
		p.bounce = bounce;
		if o.is_full(p.cost(), limit.0, limit.1) {
			log::warn!("{domain}: queue full ({} stanzas, {} bytes), disconnecting", o.len(), o.bytes());
			o.push(Outgoing::Close(StreamError::with_text(StreamCondition::PolicyViolation, "too many stanzas queued")));
			o.close();
			return Err((Condition::RemoteServerTimeout, el));
		}
		o.push(Outgoing::Stanza(p));
		Ok(())
	}
}
