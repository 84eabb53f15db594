//! Connection slots for the side ports (the web page, the HTTPS port, the
//! SOCKS5 proxy): a ceiling in total and one per source, so that one host
//! cannot take every slot. A slot is held by a [`Held`] value and given
//! back when it is dropped, whichever way its connection ends.
//!
//! A source is an IPv4 address, or an IPv6 /64: one host is normally given
//! a whole /64 and can pick any address in it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

/// What one host is counted as: its IPv4 address (also when written as an
/// IPv4-mapped IPv6 address), or its IPv6 /64.
pub fn source(ip: IpAddr) -> IpAddr {
	match ip {
		IpAddr::V4(_) => ip,
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => IpAddr::V4(v4),
			None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
		},
	}
}

/// Why a connection gets no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
	/// Every slot is taken.
	Total,
	/// Its source holds its share already.
	Source,
}

#[derive(Default)]
struct Counts {
	total: usize,
	/// Only sources with a connection open: at most `total` entries.
	by_source: HashMap<IpAddr, usize>,
}

/// The slots of one listener (cloning shares them).
#[derive(Default, Clone)]
pub struct Pool(Rc<RefCell<Counts>>);

impl Pool {
	/// Takes a slot for a connection from `ip`, or says why not.
	pub fn admit(&self, ip: IpAddr, max_total: usize, max_per_source: usize) -> Result<Held, Full> {
		let mut c = self.0.borrow_mut();
		if c.total >= max_total {
			return Err(Full::Total);
		}
		let source = source(ip);
		let n = c.by_source.entry(source).or_insert(0);
		if *n >= max_per_source {
			if *n == 0 {
				c.by_source.remove(&source);
			}
			return Err(Full::Source);
		}
		*n += 1;
		c.total += 1;
		Ok(Held { pool: self.clone(), source })
	}

	/// Slots taken now.
	pub fn open(&self) -> usize {
		self.0.borrow().total
	}
}

/// One taken slot, given back on drop.
pub struct Held {
	pool: Pool,
	source: IpAddr,
}

impl Drop for Held {
	fn drop(&mut self) {
		let mut c = self.pool.0.borrow_mut();
		c.total -= 1;
		if let Some(n) = c.by_source.get_mut(&self.source) {
			*n -= 1;
			if *n == 0 {
				c.by_source.remove(&self.source);
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sources_are_ipv4_addresses_and_ipv6_64s() {
		let ip = |s: &str| s.parse::<IpAddr>().unwrap();
		assert_eq!(source(ip("10.0.0.1")), ip("10.0.0.1"));
		assert_eq!(source(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
		assert_eq!(source(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), ip("2001:db8:1:2::"));
		assert_ne!(source(ip("2001:db8:1:3::1")), source(ip("2001:db8:1:2::1")));
	}

	#[test]
	fn slots_in_total_and_per_source_come_back_on_drop() {
		let pool = Pool::default();
		let a: IpAddr = "10.0.0.1".parse().unwrap();
		let b: IpAddr = "2001:db8::1".parse().unwrap();
		let b2: IpAddr = "2001:db8::2".parse().unwrap();
		let a1 = pool.admit(a, 3, 2).unwrap();
		let _a2 = pool.admit(a, 3, 2).unwrap();
		assert_eq!(pool.admit(a, 3, 2).err(), Some(Full::Source));
		let _b1 = pool.admit(b, 3, 1).unwrap();
		assert_eq!(pool.admit(b2, 4, 1).err(), Some(Full::Source), "the same /64");
		assert_eq!(pool.admit("10.0.0.9".parse().unwrap(), 3, 2).err(), Some(Full::Total));
		drop(a1);
		assert_eq!(pool.open(), 2);
		assert!(pool.admit(a, 3, 2).is_ok());
		assert_eq!(pool.open(), 2, "the slot taken in the assert went back at once");
		assert_eq!(pool.0.borrow().by_source.len(), 2);
	}
}
