//! Admission limits, as plain bookkeeping with the clock passed in.
//!
//! Connections are counted per [`Kind`], each with a total and a count per
//! [`Source`] of its own, so no kind can use up another's places: clients
//! (c2s and WebSocket, `max_connections`, `max_connections_per_ip`),
//! incoming server-to-server streams (`s2s_max_connections`,
//! `s2s_max_connections_per_ip`) and components (`component_max_connections`;
//! they all come from loopback). What the box holds at most is the sum of
//! the three totals.
//!
//! Failed logins count twice: per source within a sliding window
//! (`auth_failures_per_ip` per `auth_failure_window`), which refuses every
//! login from that source once full; and per account and source, where after
//! `auth_failures_per_account` failures each further attempt waits
//! `auth_backoff`, twice as long after every failure, up to the window. A
//! guesser is slowed down where it guesses; the account's owner, elsewhere,
//! is not. A quiet window takes one failure off an account and source.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::Limits;

/// Most sources (and accounts per source) remembered by the login
/// throttle; the quietest are forgotten first, so the throttle's own memory
/// is bounded.
const MAX_TRACKED: usize = 10_000;
/// Failure times kept per source: only the count within the limit matters.
const MAX_TIMES: usize = 1024;

/// Why a connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
	TooManyConnections,
	TooManyFromAddress,
}

/// What a connection is, for the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
	/// A client session: c2s (STARTTLS, direct TLS) or WebSocket.
	Client,
	/// Another server's stream to us (federation).
	Server,
	/// An external component (XEP-0114), on loopback.
	Component,
}

impl Kind {
	/// (total, per source) for this kind.
	fn limits(self, l: &Limits) -> (usize, usize) {
		match self {
			Kind::Client => (l.max_connections, l.max_connections_per_ip),
			Kind::Server => (l.s2s_max_connections, l.s2s_max_connections_per_ip),
			Kind::Component => (l.component_max_connections, l.component_max_connections),
		}
	}
}

/// Where a connection or login comes from, as the limits see it: an IPv4
/// address, or the /64 of an IPv6 address (a host usually has a whole /64,
/// so counting single addresses would count nothing). IPv4-mapped IPv6
/// addresses are the IPv4 host they stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl From<IpAddr> for Source {
	fn from(ip: IpAddr) -> Source {
		// One rule for every limit by address (see `per_ip`).
		Source(super::per_ip::source(ip))
	}
}

#[derive(Default)]
struct Open {
	total: usize,
	per_source: HashMap<Source, usize>,
}

#[derive(Default)]
pub struct Guard {
	/// Indexed by `Kind as usize`.
	open: [Open; 3],
	failures: Failures,
	backoff: Backoffs,
}

impl Guard {
	/// Counts a new connection of `kind`, or refuses it.
	pub fn connect(&mut self, kind: Kind, ip: IpAddr, limits: &Limits) -> Result<(), Refusal> {
		let (total, per_source) = kind.limits(limits);
		self.admit(kind, ip, total, per_source)
	}

	fn admit(&mut self, kind: Kind, ip: IpAddr, max_total: usize, max_per_source: usize) -> Result<(), Refusal> {
		let open = &mut self.open[kind as usize];
		if open.total >= max_total {
			return Err(Refusal::TooManyConnections);
		}
		let n = open.per_source.entry(Source::from(ip)).or_insert(0);
		if *n >= max_per_source {
			return Err(Refusal::TooManyFromAddress);
		}
		*n += 1;
		open.total += 1;
		Ok(())
	}

	/// A connection counted by [`Guard::connect`] ended.
	pub fn disconnect(&mut self, kind: Kind, ip: IpAddr) {
		let open = &mut self.open[kind as usize];
		let source = Source::from(ip);
		if let Some(n) = open.per_source.get_mut(&source) {
			*n -= 1;
			if *n == 0 {
				open.per_source.remove(&source);
			}
			open.total -= 1;
		}
	}

	/// Open connections of every kind.
	pub fn connections(&self) -> usize {
		self.open.iter().map(|o| o.total).sum()
	}

	/// Whether a login attempt from `ip` (for `account`, when known) may
	/// proceed now.
	pub fn login_allowed(&mut self, ip: IpAddr, account: Option<&str>, now: Instant, l: &Limits) -> bool {
		let source = Source::from(ip);
		if self.failures.count(source, now, l.auth_failure_window) >= l.auth_failures_per_ip {
			return false;
		}
		account.is_none_or(|a| self.backoff.allowed(a, source, now, l))
	}

	/// A failed login from `ip`; `account` when credentials for it were
	/// checked (a guess), which also slows down that account from there.
	pub fn login_failed(&mut self, ip: IpAddr, account: Option<&str>, now: Instant, l: &Limits) {
		let source = Source::from(ip);
		let keep = usize::try_from(l.auth_failures_per_ip).unwrap_or(MAX_TIMES).min(MAX_TIMES);
		self.failures.record(source, now, l.auth_failure_window, keep);
		if let Some(a) = account {
			self.backoff.failed(a, source, now, l.auth_failure_window);
		}
	}
}

/// Failure times per source, oldest first, pruned to the window.
#[derive(Default)]
struct Failures {
	by_source: HashMap<Source, VecDeque<Instant>>,
}

impl Failures {
	fn count(&mut self, source: Source, now: Instant, window: Duration) -> u32 {
		let Some(times) = self.by_source.get_mut(&source) else { return 0 };
		while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
			times.pop_front();
		}
		u32::try_from(times.len()).unwrap_or(u32::MAX)
	}

	fn record(&mut self, source: Source, now: Instant, window: Duration, keep: usize) {
		if self.by_source.len() >= MAX_TRACKED && !self.by_source.contains_key(&source) {
			self.by_source.retain(|_, t| t.back().is_some_and(|last| now.duration_since(*last) < window));
			if self.by_source.len() >= MAX_TRACKED {
				// Still full of recent failures: forget the quietest source.
				let oldest = self.by_source.iter().min_by_key(|(_, t)| t.back().copied()).map(|(k, _)| *k);
				if let Some(k) = oldest {
					self.by_source.remove(&k);
				}
			}
		}
		let times = self.by_source.entry(source).or_default();
		times.push_back(now);
		while times.len() > keep.max(1) {
			times.pop_front();
		}
	}
}

/// Failed logins per account and source, for the backoff.
#[derive(Default)]
struct Backoffs {
	/// Keyed by a hash of (account, source): the names are the client's
	/// choice and up to 1 KiB each, so they are not kept.
	by_key: HashMap<u64, Backoff>,
	hasher: RandomState,
}

#[derive(Clone, Copy)]
struct Backoff {
	failures: u32,
	last: Instant,
}

impl Backoff {
	/// Failures still counting at `now`: one fewer per quiet window.
	fn failures(&self, now: Instant, window: Duration) -> u32 {
		let quiet = now.duration_since(self.last).as_nanos() / window.as_nanos().max(1);
		self.failures.saturating_sub(u32::try_from(quiet).unwrap_or(u32::MAX))
	}
}

impl Backoffs {
	fn key(&self, account: &str, source: Source) -> u64 {
		self.hasher.hash_one((account, source))
	}

	fn allowed(&self, account: &str, source: Source, now: Instant, l: &Limits) -> bool {
		let Some(b) = self.by_key.get(&self.key(account, source)) else { return true };
		let failures = b.failures(now, l.auth_failure_window);
		match failures.checked_sub(l.auth_failures_per_account) {
			None => true,
			Some(extra) => now >= b.last + delay(extra, l.auth_backoff, l.auth_failure_window),
		}
	}

	fn failed(&mut self, account: &str, source: Source, now: Instant, window: Duration) {
		let key = self.key(account, source);
		if self.by_key.len() >= MAX_TRACKED && !self.by_key.contains_key(&key) {
			self.by_key.retain(|_, b| b.failures(now, window) > 0);
			if self.by_key.len() >= MAX_TRACKED {
				let oldest = self.by_key.iter().min_by_key(|(_, b)| b.last).map(|(k, _)| *k);
				if let Some(k) = oldest {
					self.by_key.remove(&k);
				}
			}
		}
		let failures = self.by_key.get(&key).map_or(0, |b| b.failures(now, window));
		self.by_key.insert(key, Backoff { failures: failures.saturating_add(1), last: now });
	}
}

/// `base` doubled `extra` times, at most `cap`.
fn delay(extra: u32, base: Duration, cap: Duration) -> Duration {
	let factor = 1u32.checked_shl(extra).unwrap_or(u32::MAX);
	base.saturating_mul(factor).min(cap)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn limits() -> Limits {
		let mut c = crate::config::Config::new(Default::default());
		c.limits.auth_failures_per_ip = 100;
		c.limits.auth_failures_per_account = 3;
		c.limits.auth_backoff = Duration::from_secs(2);
		c.limits.auth_failure_window = Duration::from_secs(300);
		c.limits
	}

	#[test]
	fn connection_limits() {
		let mut g = Guard::default();
		let a: IpAddr = "10.0.0.1".parse().unwrap();
		let b: IpAddr = "10.0.0.2".parse().unwrap();
		assert!(g.admit(Kind::Client, a, 3, 2).is_ok());
		assert!(g.admit(Kind::Client, a, 3, 2).is_ok());
		assert_eq!(g.admit(Kind::Client, a, 3, 2), Err(Refusal::TooManyFromAddress));
		assert!(g.admit(Kind::Client, b, 3, 2).is_ok());
		assert_eq!(g.admit(Kind::Client, b, 3, 2), Err(Refusal::TooManyConnections));
		g.disconnect(Kind::Client, a);
		assert!(g.admit(Kind::Client, a, 3, 2).is_ok());
		assert_eq!(g.connections(), 3);
	}

	/// Issue 11: 100 client connections from 127.0.0.1 locked the box's own
	/// components out, and peers that never finished locked clients out.
	#[test]
	fn each_kind_has_its_own_places() {
		let mut g = Guard::default();
		let local: IpAddr = "127.0.0.1".parse().unwrap();
		for _ in 0..2 {
			assert!(g.admit(Kind::Client, local, 2, 2).is_ok());
		}
		assert_eq!(g.admit(Kind::Client, local, 2, 2), Err(Refusal::TooManyConnections));
		assert!(g.admit(Kind::Component, local, 2, 2).is_ok());
		assert!(g.admit(Kind::Server, local, 1, 1).is_ok());
		assert_eq!(g.admit(Kind::Server, local, 1, 1), Err(Refusal::TooManyConnections));
		assert_eq!(g.connections(), 4);
		// Ending a connection of one kind frees no place of another.
		g.disconnect(Kind::Server, local);
		assert_eq!(g.admit(Kind::Client, local, 2, 2), Err(Refusal::TooManyConnections));
		g.disconnect(Kind::Client, local);
		assert!(g.admit(Kind::Client, local, 2, 2).is_ok());
		// Named limits reach the right kind.
		let mut l = limits();
		(l.max_connections, l.s2s_max_connections, l.component_max_connections) = (1, 0, 0);
		let mut g = Guard::default();
		assert!(g.connect(Kind::Client, local, &l).is_ok());
		assert_eq!(g.connect(Kind::Server, local, &l), Err(Refusal::TooManyConnections));
		assert_eq!(g.connect(Kind::Component, local, &l), Err(Refusal::TooManyConnections));
	}

	#[test]
	fn ipv6_addresses_count_by_64_and_mapped_ipv4_as_ipv4() {
		let mut g = Guard::default();
		let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
		let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
		let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
		assert!(g.admit(Kind::Client, a, 10, 1).is_ok());
		assert_eq!(g.admit(Kind::Client, b, 10, 1), Err(Refusal::TooManyFromAddress), "same /64");
		assert!(g.admit(Kind::Client, other, 10, 1).is_ok());
		let v4: IpAddr = "192.0.2.7".parse().unwrap();
		let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
		assert!(g.admit(Kind::Client, v4, 10, 1).is_ok());
		assert_eq!(g.admit(Kind::Client, mapped, 10, 1), Err(Refusal::TooManyFromAddress), "the same host");
		g.disconnect(Kind::Client, b);
		assert!(g.admit(Kind::Client, a, 10, 1).is_ok(), "b's /64 was a's");
		// The login throttle counts by /64 too.
		let l = Limits { auth_failures_per_ip: 2, ..limits() };
		let t = Instant::now();
		g.login_failed(a, None, t, &l);
		g.login_failed(b, None, t, &l);
		assert!(!g.login_allowed("2001:db8:1:2::77".parse().unwrap(), None, t, &l));
		assert!(g.login_allowed(other, None, t, &l));
	}

	#[test]
	fn failures_per_source_slide() {
		let mut g = Guard::default();
		let ip: IpAddr = "10.0.0.1".parse().unwrap();
		let l = Limits { auth_failures_per_ip: 3, ..limits() };
		let t0 = Instant::now();
		for i in 0..3 {
			assert!(g.login_allowed(ip, Some(&format!("user{i}")), t0, &l), "attempt {i}");
			g.login_failed(ip, None, t0, &l);
		}
		assert!(!g.login_allowed(ip, Some("bob"), t0, &l));
		assert!(!g.login_allowed(ip, None, t0, &l));
		assert!(g.login_allowed("10.0.0.2".parse().unwrap(), Some("bob"), t0, &l));
		// After the window the address may try again.
		assert!(g.login_allowed(ip, Some("bob"), t0 + l.auth_failure_window, &l));
	}

	/// Issue 11: five failures from anywhere locked the account for
	/// everyone for five minutes, its owner included.
	#[test]
	fn a_guesser_waits_longer_and_longer_and_the_owner_not_at_all() {
		let mut g = Guard::default();
		let l = limits();
		let guesser: IpAddr = "10.0.0.66".parse().unwrap();
		let owner: IpAddr = "10.0.0.1".parse().unwrap();
		let mut t = Instant::now();
		for i in 0..3 {
			assert!(g.login_allowed(guesser, Some("alice"), t, &l), "free attempt {i}");
			g.login_failed(guesser, Some("alice"), t, &l);
		}
		// Then 2 s, 4 s, 8 s ... between attempts.
		for wait in [2, 4, 8, 16, 32] {
			let w = Duration::from_secs(wait);
			assert!(!g.login_allowed(guesser, Some("alice"), t + w - Duration::from_millis(1), &l), "{wait} s");
			assert!(g.login_allowed(owner, Some("alice"), t, &l));
			assert!(g.login_allowed(guesser, Some("bob"), t, &l));
			t += w;
			assert!(g.login_allowed(guesser, Some("alice"), t, &l), "{wait} s");
			g.login_failed(guesser, Some("alice"), t, &l);
		}
		// Never longer than the window.
		for _ in 0..20 {
			g.login_failed(guesser, Some("alice"), t, &l);
		}
		assert!(!g.login_allowed(guesser, Some("alice"), t + l.auth_failure_window - Duration::from_secs(1), &l));
		assert!(g.login_allowed(guesser, Some("alice"), t + l.auth_failure_window, &l));
		// A quiet window takes one failure off: a guesser that keeps going
		// stays at the longest wait.
		t += l.auth_failure_window;
		g.login_failed(guesser, Some("alice"), t, &l);
		assert!(!g.login_allowed(guesser, Some("alice"), t + l.auth_failure_window / 2, &l));
	}

	#[test]
	fn backoffs_forget_quiet_entries_first() {
		let mut g = Guard::default();
		let l = limits();
		let t = Instant::now();
		let ip: IpAddr = "10.0.0.1".parse().unwrap();
		for i in 0..MAX_TRACKED {
			g.backoff.failed(&format!("u{i}"), Source::from(ip), t, l.auth_failure_window);
		}
		let later = t + l.auth_failure_window;
		g.backoff.failed("new", Source::from(ip), later, l.auth_failure_window);
		assert_eq!(g.backoff.by_key.len(), 1, "the quiet ones went");
		for _ in 0..10 {
			g.login_failed(ip, Some("new"), later, &l);
		}
		assert!(!g.login_allowed(ip, Some("new"), later, &l));
	}
}
