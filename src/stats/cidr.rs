//! Address blocks (`metrics_allow`): `192.168.1.0/24`, `fd00::/8`, or a
//! single address. An IPv4-mapped IPv6 peer is the IPv4 address it stands
//! for.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
	net: IpAddr,
	bits: u8,
}

fn canonical(ip: IpAddr) -> IpAddr {
	match ip {
		IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
		v4 => v4,
	}
}

impl Cidr {
	pub fn parse(s: &str) -> Result<Cidr, String> {
		let s = s.trim();
		let (addr, bits) = match s.split_once('/') {
			Some((a, b)) => (a, Some(b)),
			None => (s, None),
		};
		let net: IpAddr = addr.parse().map_err(|_| format!("{addr:?} is not an IP address"))?;
		let max = if net.is_ipv4() { 32 } else { 128 };
		let bits = match bits {
			Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("{s:?}: the prefix must be 0 to {max}"))?,
			None => max,
		};
		Ok(Cidr { net, bits })
	}

	pub fn contains(&self, ip: IpAddr) -> bool {
		let bits = u32::from(self.bits);
		match (self.net, canonical(ip)) {
			(IpAddr::V4(n), IpAddr::V4(a)) => {
				let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
				u32::from(n) & mask == u32::from(a) & mask
			}
			(IpAddr::V6(n), IpAddr::V6(a)) => {
				let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
				u128::from(n) & mask == u128::from(a) & mask
			}
			_ => false,
		}
	}
}

impl std::fmt::Display for Cidr {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "{}/{}", self.net, self.bits)
	}
}

/// A comma-separated list; empty = none.
pub fn parse_list(v: &str) -> Result<Vec<Cidr>, String> {
	v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Cidr::parse).collect()
}

/// Whether `/metrics` answers `ip`: loopback always, else the allow list.
pub fn metrics_allowed(ip: IpAddr, allow: &[Cidr]) -> bool {
	canonical(ip).is_loopback() || allow.iter().any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn ip(s: &str) -> IpAddr {
		s.parse().unwrap()
	}

	#[test]
	fn blocks_match_their_addresses_only() {
		let l = parse_list("192.168.1.0/24, 10.0.0.7,fd00::/8").unwrap();
		assert!(metrics_allowed(ip("192.168.1.200"), &l));
		assert!(!metrics_allowed(ip("192.168.2.1"), &l));
		assert!(metrics_allowed(ip("10.0.0.7"), &l));
		assert!(!metrics_allowed(ip("10.0.0.8"), &l));
		assert!(metrics_allowed(ip("fd12::1"), &l));
		assert!(!metrics_allowed(ip("fe80::1"), &l));
		assert!(metrics_allowed(ip("::ffff:192.168.1.5"), &l), "IPv4-mapped");
		assert!(parse_list("0.0.0.0/0").unwrap()[0].contains(ip("8.8.8.8")));
		assert!(!parse_list("0.0.0.0/0").unwrap()[0].contains(ip("::1")), "families do not mix");
	}

	#[test]
	fn loopback_is_always_allowed_and_nothing_else_by_default() {
		for a in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
			assert!(metrics_allowed(ip(a), &[]), "{a}");
		}
		for a in ["10.1.2.3", "192.168.1.1", "fd00::1"] {
			assert!(!metrics_allowed(ip(a), &[]), "{a}");
		}
	}

	#[test]
	fn bad_lists_are_refused() {
		assert!(parse_list("").unwrap().is_empty());
		for bad in ["10.0.0.0/33", "fd00::/129", "nonsense", "10.0.0.0/x", "10.0.0/8"] {
			assert!(parse_list(bad).is_err(), "{bad}");
		}
		assert_eq!(Cidr::parse("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
	}
}
