//! Server statistics: counters and gauges the server bumps as it works,
//! a bounded time series of them in the database (`rings`, `sampler`),
//! SVG plots of that series (`svg`) and OpenMetrics text (`openmetrics`).
//!
//! The counters live in `Cell`s in a thread-local: everything that bumps
//! them runs on the one executor thread, so a bump is an add, no lock and
//! no atomic. Read them on the executor thread too ([`now`]).

pub mod cidr;
pub mod openmetrics;
pub mod rings;
pub mod sampler;
pub mod svg;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

/// What a connection is, for the connection gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
	/// A client over TCP (STARTTLS or direct TLS).
	C2s,
	/// A client over WebSocket (RFC 7395).
	Ws,
	/// Another server's stream to us.
	S2sIn,
	/// Our stream to another server.
	S2sOut,
	/// An external component (XEP-0114).
	Component,
}

impl ConnKind {
	pub const ALL: [ConnKind; 5] = [ConnKind::C2s, ConnKind::Ws, ConnKind::S2sIn, ConnKind::S2sOut, ConnKind::Component];

	pub fn name(self) -> &'static str {
		match self {
			ConnKind::C2s => "c2s",
			ConnKind::Ws => "websocket",
			ConnKind::S2sIn => "s2s_in",
			ConnKind::S2sOut => "s2s_out",
			ConnKind::Component => "component",
		}
	}
}

/// The TLS version a connection runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
	None,
	V1_2,
	V1_3,
}

impl Tls {
	pub const ALL: [Tls; 3] = [Tls::None, Tls::V1_2, Tls::V1_3];

	pub fn name(self) -> &'static str {
		match self {
			Tls::None => "none",
			Tls::V1_2 => "1.2",
			Tls::V1_3 => "1.3",
		}
	}

	pub fn of(v: Option<futures_rustls::rustls::ProtocolVersion>) -> Tls {
		use futures_rustls::rustls::ProtocolVersion;
		match v {
			Some(ProtocolVersion::TLSv1_3) => Tls::V1_3,
			Some(ProtocolVersion::TLSv1_2) => Tls::V1_2,
			_ => Tls::None,
		}
	}
}

/// A stanza's kind, for the stanza counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StanzaKind {
	Message,
	Presence,
	Iq,
}

impl StanzaKind {
	pub const ALL: [StanzaKind; 3] = [StanzaKind::Message, StanzaKind::Presence, StanzaKind::Iq];

	pub fn name(self) -> &'static str {
		match self {
			StanzaKind::Message => "message",
			StanzaKind::Presence => "presence",
			StanzaKind::Iq => "iq",
		}
	}

	/// The kind of a serialised stanza, from its first bytes.
	pub fn of_xml(xml: &[u8]) -> Option<StanzaKind> {
		let name = xml.strip_prefix(b"<")?;
		let (name, _) = name.split_at(name.iter().position(|b| !b.is_ascii_alphanumeric() && *b != b':').unwrap_or(name.len()));
		// A prefixed name (`<stream:…>`) is not a stanza.
		match name {
			b"message" => Some(StanzaKind::Message),
			b"presence" => Some(StanzaKind::Presence),
			b"iq" => Some(StanzaKind::Iq),
			_ => None,
		}
	}

	/// The kind of an element named `name`.
	pub fn of_name(name: &str) -> Option<StanzaKind> {
		match name {
			"message" => Some(StanzaKind::Message),
			"presence" => Some(StanzaKind::Presence),
			"iq" => Some(StanzaKind::Iq),
			_ => None,
		}
	}
}

/// Most accounts remembered as "logged in" between two writes of the time
/// series (five minutes); more are counted at the next login. Bounds memory
/// under a login storm of many accounts.
pub const MAX_PENDING_LOGINS: usize = 4096;

struct Counts {
	/// Open connections by [`ConnKind`] and [`Tls`].
	conns: [[Cell<u64>; 3]; 5],
	stanzas_in: [Cell<u64>; 3],
	stanzas_out: [Cell<u64>; 3],
	logins: Cell<u64>,
	login_failures: Cell<u64>,
	sm_resumptions: Cell<u64>,
	s2s_links: Cell<u64>,
	/// Accounts that logged in since the last write (for active people).
	logged_in: RefCell<HashSet<Box<str>>>,
}

thread_local! {
	static COUNTS: Counts = Counts {
		conns: [const { [const { Cell::new(0) }; 3] }; 5],
		stanzas_in: [const { Cell::new(0) }; 3],
		stanzas_out: [const { Cell::new(0) }; 3],
		logins: const { Cell::new(0) },
		login_failures: const { Cell::new(0) },
		sm_resumptions: const { Cell::new(0) },
		s2s_links: const { Cell::new(0) },
		logged_in: RefCell::new(HashSet::new()),
	};
}

fn bump(c: &Cell<u64>, n: u64) {
	c.set(c.get().wrapping_add(n));
}

/// A stanza read from a client, server or component.
pub fn stanza_in(kind: StanzaKind) {
	COUNTS.with(|c| bump(&c.stanzas_in[kind as usize], 1));
}

/// A stanza written to a client, server or component.
pub fn stanza_out(kind: StanzaKind) {
	COUNTS.with(|c| bump(&c.stanzas_out[kind as usize], 1));
}

/// A serialised stanza written (its kind read from its first bytes).
pub fn stanza_out_xml(xml: &[u8]) {
	if let Some(k) = StanzaKind::of_xml(xml) {
		stanza_out(k);
	}
}

/// An account logged in (a session was bound).
pub fn login(user: &str) {
	COUNTS.with(|c| {
		bump(&c.logins, 1);
		let mut set = c.logged_in.borrow_mut();
		if set.len() < MAX_PENDING_LOGINS && !set.contains(user) {
			set.insert(user.into());
		}
	});
}

pub fn login_failed() {
	COUNTS.with(|c| bump(&c.login_failures, 1));
}

/// A stream-management session resumed (XEP-0198).
pub fn sm_resumed() {
	COUNTS.with(|c| bump(&c.sm_resumptions, 1));
}

/// The accounts that logged in since the last call.
pub fn take_logins() -> Vec<Box<str>> {
	COUNTS.with(|c| c.logged_in.borrow_mut().drain().collect())
}

/// An open connection, counted from [`Open::new`] until it is dropped.
pub struct Open {
	kind: ConnKind,
	tls: Cell<Tls>,
}

impl Open {
	pub fn new(kind: ConnKind) -> Open {
		COUNTS.with(|c| bump(&c.conns[kind as usize][Tls::None as usize], 1));
		Open { kind, tls: Cell::new(Tls::None) }
	}

	/// The connection now runs over `tls`.
	pub fn tls(&self, tls: Tls) {
		COUNTS.with(|c| {
			let row = &c.conns[self.kind as usize];
			row[self.tls.get() as usize].set(row[self.tls.get() as usize].get().saturating_sub(1));
			bump(&row[tls as usize], 1);
		});
		self.tls.set(tls);
	}
}

impl Drop for Open {
	fn drop(&mut self) {
		COUNTS.with(|c| {
			let n = &c.conns[self.kind as usize][self.tls.get() as usize];
			n.set(n.get().saturating_sub(1));
		});
	}
}

/// An authenticated link with another server, counted until dropped.
pub struct Link(());

impl Link {
	pub fn up() -> Link {
		COUNTS.with(|c| bump(&c.s2s_links, 1));
		Link(())
	}
}

impl Drop for Link {
	fn drop(&mut self) {
		COUNTS.with(|c| c.s2s_links.set(c.s2s_links.get().saturating_sub(1)));
	}
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
	pub conns: [[u64; 3]; 5],
	pub stanzas_in: [u64; 3],
	pub stanzas_out: [u64; 3],
	pub logins: u64,
	pub login_failures: u64,
	pub sm_resumptions: u64,
	pub s2s_links: u64,
}

impl Counters {
	pub fn conns_of(&self, kind: ConnKind) -> u64 {
		self.conns[kind as usize].iter().sum()
	}
}

/// Reads every counter (on the executor thread).
pub fn now() -> Counters {
	COUNTS.with(|c| Counters {
		conns: std::array::from_fn(|k| std::array::from_fn(|t| c.conns[k][t].get())),
		stanzas_in: std::array::from_fn(|k| c.stanzas_in[k].get()),
		stanzas_out: std::array::from_fn(|k| c.stanzas_out[k].get()),
		logins: c.logins.get(),
		login_failures: c.login_failures.get(),
		sm_resumptions: c.sm_resumptions.get(),
		s2s_links: c.s2s_links.get(),
	})
}

/// The console's overview numbers.
#[derive(Debug, Clone, Default)]
pub struct Overview {
	/// Accounts with at least one session now.
	pub people_online: usize,
	pub sessions: usize,
	/// Accounts that logged in within 1, 7 and 30 days (known a moment
	/// after the start, then every 5 minutes; `None` with statistics off).
	pub active: Option<[u64; 3]>,
	pub uptime: std::time::Duration,
	/// As last sampled (every minute; `None` with statistics off).
	pub rss_bytes: Option<u64>,
	pub db_bytes: Option<u64>,
	pub upload_bytes: Option<u64>,
}

/// The overview numbers now (cheap: no I/O).
pub fn overview(server: &crate::server::Server) -> Overview {
	let sessions = server.sessions.borrow();
	let stats = server.stats.as_ref();
	let storage = stats.and_then(|s| s.storage.get());
	Overview {
		people_online: sessions.users_online(),
		sessions: sessions.count(),
		active: stats.and_then(|s| s.active.get()),
		uptime: server.started.elapsed(),
		rss_bytes: stats.and_then(|s| s.process.get()).map(|p| p.rss_bytes),
		db_bytes: storage.map(|s| s.db_bytes),
		upload_bytes: storage.map(|s| s.upload_bytes),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn connections_move_between_tls_versions_and_go_when_dropped() {
		let before = now();
		let a = Open::new(ConnKind::C2s);
		a.tls(Tls::V1_3);
		let b = Open::new(ConnKind::Ws);
		let n = now();
		assert_eq!(n.conns[ConnKind::C2s as usize][Tls::V1_3 as usize], before.conns[0][2] + 1);
		assert_eq!(n.conns_of(ConnKind::C2s), before.conns_of(ConnKind::C2s) + 1);
		assert_eq!(n.conns_of(ConnKind::Ws), before.conns_of(ConnKind::Ws) + 1);
		drop((a, b));
		assert_eq!(now().conns, before.conns);
	}

	#[test]
	fn stanza_kinds_from_xml() {
		assert_eq!(StanzaKind::of_xml(b"<message to='a'/>"), Some(StanzaKind::Message));
		assert_eq!(StanzaKind::of_xml(b"<iq/>"), Some(StanzaKind::Iq));
		assert_eq!(StanzaKind::of_xml(b"<presence>"), Some(StanzaKind::Presence));
		assert_eq!(StanzaKind::of_xml(b"<messages/>"), None);
		assert_eq!(StanzaKind::of_xml(b"<stream:features/>"), None);
		assert_eq!(StanzaKind::of_xml(b"message"), None);
		assert_eq!(StanzaKind::of_name("iq"), Some(StanzaKind::Iq));
		assert_eq!(StanzaKind::of_name("enabled"), None);
	}

	#[test]
	fn pending_logins_are_bounded_and_distinct() {
		take_logins();
		login("alice");
		login("alice");
		login("bob");
		let mut got = take_logins();
		got.sort();
		assert_eq!(got, vec!["alice".into(), "bob".into()] as Vec<Box<str>>);
		for i in 0..MAX_PENDING_LOGINS + 10 {
			login(&format!("u{i}"));
		}
		assert_eq!(take_logins().len(), MAX_PENDING_LOGINS);
	}
}
