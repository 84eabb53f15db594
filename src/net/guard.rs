//! Admission limits, as plain bookkeeping with the clock passed in:
//! connections in total and per IP, and failed logins per IP and per account
//! within a sliding window (`max_connections`, `max_connections_per_ip`,
//! `auth_failures_per_ip`, `auth_failures_per_account`, `auth_failure_window`).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most addresses and accounts remembered by the login throttle; the oldest
/// are forgotten first, so the throttle's own memory is bounded.
const MAX_TRACKED: usize = 10_000;

/// Why a connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
	TooManyConnections,
	TooManyFromAddress,
}

#[derive(Default)]
pub struct Guard {
	total: usize,
	per_ip: HashMap<IpAddr, usize>,
	failures_ip: Failures<IpAddr>,
	failures_account: Failures<String>,
}

impl Guard {
	/// Counts a new connection, or refuses it.
	pub fn connect(&mut self, ip: IpAddr, max_total: usize, max_per_ip: usize) -> Result<(), Refusal> {
		if self.total >= max_total {
			return Err(Refusal::TooManyConnections);
		}
		let n = self.per_ip.entry(ip).or_insert(0);
		if *n >= max_per_ip {
			return Err(Refusal::TooManyFromAddress);
		}
		*n += 1;
		self.total += 1;
		Ok(())
	}

	pub fn disconnect(&mut self, ip: IpAddr) {
		if let Some(n) = self.per_ip.get_mut(&ip) {
			*n -= 1;
			if *n == 0 {
				self.per_ip.remove(&ip);
			}
			self.total -= 1;
		}
	}

	pub fn connections(&self) -> usize {
		self.total
	}

	/// Whether a login attempt from `ip` for `account` may proceed now.
	pub fn login_allowed(&mut self, ip: IpAddr, account: &str, now: Instant, window: Duration, max_ip: u32, max_account: u32) -> bool {
		self.failures_ip.count(&ip, now, window) < max_ip && self.failures_account.count(account, now, window) < max_account
	}

	pub fn login_failed(&mut self, ip: IpAddr, account: Option<&str>, now: Instant, window: Duration) {
		self.failures_ip.record(ip, now, window);
		if let Some(a) = account {
			self.failures_account.record(a.to_owned(), now, window);
		}
	}
}

/// Failure times per key, oldest first, pruned to the window.
struct Failures<K> {
	by_key: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for Failures<K> {
	fn default() -> Self {
		Failures { by_key: HashMap::new() }
	}
}

impl<K: Hash + Eq + Clone> Failures<K> {
	fn count<Q>(&mut self, key: &Q, now: Instant, window: Duration) -> u32
	where
		K: std::borrow::Borrow<Q>,
		Q: Hash + Eq + ?Sized,
	{
		let Some(times) = self.by_key.get_mut(key) else { return 0 };
		while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
			times.pop_front();
		}
		u32::try_from(times.len()).unwrap_or(u32::MAX)
	}

	fn record(&mut self, key: K, now: Instant, window: Duration) {
		if self.by_key.len() >= MAX_TRACKED && !self.by_key.contains_key(&key) {
			self.by_key.retain(|_, t| t.back().is_some_and(|last| now.duration_since(*last) < window));
			if self.by_key.len() >= MAX_TRACKED {
				// Still full of recent failures: forget the quietest key.
				let oldest = self.by_key.iter().min_by_key(|(_, t)| t.back().copied()).map(|(k, _)| k.clone());
				if let Some(k) = oldest {
					self.by_key.remove(&k);
				}
			}
		}
		let times = self.by_key.entry(key).or_default();
		times.push_back(now);
		// Only the count within the limit matters; keep the list short.
		if times.len() > 1024 {
			times.pop_front();
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn connection_limits() {
		let mut g = Guard::default();
		let a: IpAddr = "10.0.0.1".parse().unwrap();
		let b: IpAddr = "10.0.0.2".parse().unwrap();
		assert!(g.connect(a, 3, 2).is_ok());
		assert!(g.connect(a, 3, 2).is_ok());
		assert_eq!(g.connect(a, 3, 2), Err(Refusal::TooManyFromAddress));
		assert!(g.connect(b, 3, 2).is_ok());
		assert_eq!(g.connect(b, 3, 2), Err(Refusal::TooManyConnections));
		g.disconnect(a);
		assert!(g.connect(a, 3, 2).is_ok());
		assert_eq!(g.connections(), 3);
	}

	#[test]
	fn login_throttle_slides() {
		let mut g = Guard::default();
		let ip: IpAddr = "10.0.0.1".parse().unwrap();
		let other: IpAddr = "10.0.0.9".parse().unwrap();
		let t0 = Instant::now();
		let w = Duration::from_secs(60);
		for i in 0..3 {
			assert!(g.login_allowed(ip, "alice", t0, w, 5, 3), "attempt {i}");
			g.login_failed(ip, Some("alice"), t0, w);
		}
		// The account is locked for everyone; the address is not yet.
		assert!(!g.login_allowed(other, "alice", t0, w, 5, 3));
		assert!(g.login_allowed(ip, "bob", t0, w, 5, 3));
		// After the window the account may try again.
		assert!(g.login_allowed(ip, "alice", t0 + w, w, 5, 3));
	}
}
