//! One file per RFC/XEP feature. A feature is data: the namespaces it
//! announces in disco and the iq payloads it handles. Adding a XEP is one
//! file here plus one line in [`ALL`]; disco and the README's feature table
//! come from the same list.
//!
//! Handlers are plain synchronous functions of `(&Stanza, &mut Cx)`. They
//! never touch sockets or wait: they queue stanzas ([`Cx::reply`],
//! [`Cx::send`]) and storage jobs ([`Cx::write`]). The router runs the jobs,
//! and only once they are on disk delivers what was queued, then what the
//! jobs produced. So a reply always means "done and durable"; if storage
//! fails, the sender gets the error and nothing else happens. Archive
//! copies of what was done anyway are records ([`Cx::record`]): they run
//! with the jobs but hold nothing up.

pub mod adhoc;
pub mod avatar;
pub mod blocking;
pub mod bookmarks;
pub mod caps;
pub mod carbons;
pub mod coturn;
pub mod disco;
pub mod extdisco;
pub mod invites;
pub mod jmi;
pub mod last;
pub mod mam;
pub mod muc;
pub mod offline;
pub mod pep;
pub mod pep_subs;
pub mod ping;
pub mod presence;
pub mod private;
pub mod proxy;
pub mod push;
pub mod register;
pub mod roster;
pub mod session;
pub mod time;
pub mod turn;
pub mod upload;
pub mod vcard;
pub mod version;

use std::time::SystemTime;

use crate::server::Server;
use crate::store::{AccessModel, StoreError, Tx};
use crate::xmpp::element::Element;
use crate::xmpp::error::StanzaError;
use crate::xmpp::jid::{BareJid, FullJid, Jid};
use crate::xmpp::stanza::{IqType, Stanza};

/// A feature module's registration.
pub struct Feature {
	pub name: &'static str,
	/// The spec and version implemented, e.g. "XEP-0199 2.0.1".
	pub spec: &'static str,
	/// disco#info features announced by the server.
	pub disco: &'static [&'static str],
	/// disco#info features announced on every account's bare JID.
	pub account: &'static [&'static str],
	pub iq: &'static [IqRoute],
}

/// Whom an iq handler answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
	/// Addressed to the server's domain.
	Server,
	/// Addressed to an account's bare JID (or to nobody: the sender's own account).
	Account,
	Both,
}

/// `(type, namespace, element)` of an iq payload -> handler.
pub struct IqRoute {
	pub ty: IqType,
	pub ns: &'static str,
	pub name: &'static str,
	pub target: Target,
	pub handler: fn(&Stanza, &mut Cx) -> Result<(), StanzaError>,
}

/// Every feature, in the order their handlers are consulted.
pub static ALL: &[&Feature] = &[
	&disco::FEATURE,
	&roster::FEATURE,
	&presence::FEATURE,
	&offline::FEATURE,
	&private::FEATURE,
	&last::FEATURE,
	&vcard::FEATURE,
	&carbons::FEATURE,
	&pep::FEATURE,
	&pep_subs::FEATURE,
	&avatar::FEATURE,
	&bookmarks::FEATURE,
	&blocking::FEATURE,
	&push::FEATURE,
	&mam::FEATURE,
	&muc::FEATURE,
	&upload::FEATURE,
	&proxy::FEATURE,
	&extdisco::FEATURE,
	&jmi::FEATURE,
	&invites::FEATURE,
	&adhoc::FEATURE,
	&register::FEATURE,
	&caps::FEATURE,
	&session::FEATURE,
	&ping::FEATURE,
	&version::FEATURE,
	&time::FEATURE,
];

/// Finds the handler for an iq get/set.
pub fn iq_route(ty: IqType, payload: &Element, to_server: bool) -> Option<&'static IqRoute> {
	ALL.iter().flat_map(|f| f.iq.iter()).find(|r| {
		r.ty == ty
			&& r.ns == payload.ns()
			&& r.name == payload.name()
			&& match r.target {
				Target::Both => true,
				Target::Server => to_server,
				Target::Account => !to_server,
			}
	})
}

/// Something to deliver once the handler's storage job (if any) is durable.
/// `Send`, so storage jobs can produce them on the writer thread.
#[derive(Debug)]
pub enum Out {
	/// Route as a stanza from the server (by its `to`, with the usual rules).
	Route(Element),
	/// To this session only. Answers to the session's own requests are not
	/// held to the queue limit (they are bounded by the roster and resource
	/// limits instead), so a big roster never disconnects its owner.
	Reply(Element),
	/// Tell this session to deliver the stored offline messages, pulled in
	/// batches at the pace the client reads them.
	FlushOffline,
	/// To every available resource of a local account (RFC 6121 §3: where
	/// subscription stanzas go).
	ToAvailable(String, Element),
	/// A roster push (RFC 6121 §2.1.6) of `item` to the interested resources.
	RosterPush { user: String, ver: u64, item: Element },
	/// The current presence of every available resource of local account
	/// `of`, to `to` (after a subscription is approved, RFC 6121 §3.1.5).
	PresenceOf { of: String, to: BareJid },
	/// Unavailable presence from every available resource of `of` to `to`
	/// (after a subscription ends, RFC 6121 §3.2.1).
	UnavailableOf { of: String, to: BareJid },
	/// A PEP event (XEP-0163 §4.3) from `owner`'s `node`, to the resources
	/// entitled to it by `access` that want it (+notify).
	PepEvent { owner: String, node: String, access: AccessModel, event: Element },
	/// Runs on the executor once durable (in-memory state that must follow
	/// the stored state, and what to send because of it).
	Then(Deferred),
}

/// A step for [`Out::Then`].
pub struct Deferred(pub Box<dyn FnOnce(&mut Cx) + Send>);

impl std::fmt::Debug for Deferred {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("Deferred")
	}
}

/// A storage job: runs on the writer thread, returns more to deliver.
pub type Job = Box<dyn FnOnce(&Tx<'_>) -> Result<Vec<Out>, StoreError> + Send>;

/// What a handler may touch.
pub struct Cx<'a> {
	pub server: &'a Server,
	/// The session the stanza came from.
	pub jid: &'a FullJid,
	pub session_id: u64,
	pub now: SystemTime,
	pub(crate) outs: Vec<Out>,
	pub(crate) jobs: Vec<Job>,
	/// How many of `jobs` decide what happens to a stanza ([`Cx::write`]);
	/// the others only keep a record ([`Cx::record`]).
	pub(crate) decisive: usize,
}

impl<'a> Cx<'a> {
	pub fn new(server: &'a Server, jid: &'a FullJid, session_id: u64) -> Cx<'a> {
		Cx { server, jid, session_id, now: SystemTime::now(), outs: Vec::new(), jobs: Vec::new(), decisive: 0 }
	}

	/// The sender's account localpart; empty for a sender on another
	/// domain (a component), so nothing is ever done as a local account
	/// on its behalf.
	pub fn user(&self) -> &str {
		// A bound JID always has a localpart (`Sessions::bind` builds it so).
		if self.is_remote() { "" } else { self.jid.node().unwrap_or_default() }
	}

	/// The stanza came from another domain, not from a local session.
	pub fn is_remote(&self) -> bool {
		self.jid.domain() != self.domain()
	}

	pub fn domain(&self) -> &str {
		&self.server.config.domain
	}

	/// Answer to the sender's session.
	pub fn reply(&mut self, el: Element) {
		self.outs.push(Out::Reply(el));
	}

	pub fn send(&mut self, out: Out) {
		self.outs.push(out);
	}

	/// Queues a storage job that decides what happens to the stanza: if
	/// storage fails, nothing queued is delivered and the sender gets the
	/// error (`router::finish`). Jobs queued together run in order in one
	/// transaction, before anything queued is delivered.
	pub fn write(&mut self, job: impl FnOnce(&Tx<'_>) -> Result<Vec<Out>, StoreError> + Send + 'static) {
		self.jobs.push(Box::new(job));
		self.decisive += 1;
	}

	/// Queues a storage job that keeps a record of something done already
	/// (the archive copy of a message delivered live). It runs with the
	/// others; if storage fails, that is logged, and what was done stands:
	/// a delivered message is not reported as failed.
	pub fn record(&mut self, job: impl FnOnce(&Tx<'_>) -> Result<Vec<Out>, StoreError> + Send + 'static) {
		self.jobs.push(Box::new(job));
	}

	/// True if `jid` is this server's domain.
	pub fn is_server(&self, jid: &Jid) -> bool {
		jid.node().is_none() && jid.resource().is_none() && jid.domain() == self.domain()
	}

	/// The local account of a JID on our domain, if any.
	pub fn local_user<'j>(&self, jid: &'j Jid) -> Option<&'j str> {
		if jid.domain() == self.domain() { jid.node() } else { None }
	}

	/// The local account an iq is for: its `to`, or the sender's own without one.
	pub fn addressed_account(&self, iq: &Stanza) -> String {
		iq.to.as_ref().and_then(|to| self.local_user(to)).unwrap_or(self.user()).to_owned()
	}

	/// `forbidden` for requests only an account may make of itself
	/// (addressed to another account's JID).
	pub fn own_account_only(&self, iq: &Stanza) -> Result<(), StanzaError> {
		match &iq.to {
			Some(to) if to.to_bare() != self.jid.to_bare() => Err(StanzaError::new(crate::xmpp::error::Condition::Forbidden)),
			_ => Ok(()),
		}
	}

	/// Reads back XML that a feature stored as text (written by
	/// `Element::to_xml(default_ns)`), under the server's depth and attribute limits.
	pub fn stored_xml(&self, xml: &str, default_ns: &str) -> Result<Element, StanzaError> {
		let l = &self.server.config.limits;
		let limits = crate::xmpp::reader::XmlLimits {
			max_stanza_bytes: usize::MAX,
			max_depth: l.max_depth,
			max_attrs: l.max_attrs,
			max_elements: usize::MAX,
		};
		crate::xmpp::reader::parse_stored(xml, default_ns, limits)
			.ok_or_else(|| StanzaError::new(crate::xmpp::error::Condition::InternalServerError))
	}
}
