//! Where another XMPP server listens (RFC 6120 §3.2): the admin's static
//! route (`s2s_hosts`), else the DNS SRV records `_xmpp-server._tcp.DOMAIN`
//! in priority order, else the domain itself on port 5269. Special-use
//! names (`.test`, `.invalid`, `.example`, `localhost`, `.onion`, in any
//! case and with or without a trailing dot) are never looked up;
//! `.local` names go to the system resolver only (mDNS, where it has it). SRV queries go
//! over UDP to the nameservers of /etc/resolv.conf (packets built and parsed
//! by simple-dns); names are turned into addresses by the system resolver
//! (which also reads /etc/hosts) on a helper thread.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_io::Timer;
use futures_lite::FutureExt as _;
use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, QTYPE, Question, TYPE};

/// XMPP's registered server-to-server port.
pub const DEFAULT_PORT: u16 = 5269;
/// How long one nameserver gets to answer.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// A host and port to try, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
	pub host: String,
	pub port: u16,
}

/// Parses `s2s_hosts`: `domain=host:port` entries separated by commas.
pub fn parse_static(v: &str) -> Result<Vec<(String, Target)>, String> {
	let mut out = Vec::new();
	for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
		let (domain, addr) = entry.split_once('=').ok_or_else(|| format!("{entry:?}: expected domain=host:port"))?;
		let (host, port) = match addr.rsplit_once(':') {
			Some((h, p)) if !h.ends_with(':') => (h, p.parse::<u16>().map_err(|_| format!("{entry:?}: bad port"))?),
			_ => (addr, DEFAULT_PORT),
		};
		let host = host.trim_start_matches('[').trim_end_matches(']');
		if domain.trim().is_empty() || host.is_empty() {
			return Err(format!("{entry:?}: expected domain=host:port"));
		}
		let domain = crate::xmpp::jid::BareJid::new(None, domain.trim()).map_err(|e| format!("{entry:?}: {e}"))?;
		out.push((domain.domain().to_owned(), Target { host: host.to_owned(), port }));
	}
	Ok(out)
}

/// Names that are never looked up in the DNS (RFC 6761 special-use
/// names, RFC 7686 `.onion`): only `s2s_hosts` can route them. `domain` is
/// prepared (lowercase, no trailing dot).
fn special(domain: &str) -> bool {
	let tld = domain.rsplit('.').next().unwrap_or(domain);
	matches!(tld, "test" | "invalid" | "example" | "localhost" | "onion")
}

/// The targets for `domain`, best first. It is prepared as in JIDs first
/// (case, trailing dot), so no spelling of a name escapes the checks below;
/// what is no domain at all gets no targets.
pub async fn targets(domain: &str, routes: &[(String, Target)]) -> Vec<Target> {
	let Ok(jid) = crate::xmpp::jid::BareJid::new(None, domain) else { return Vec::new() };
	let domain = jid.domain();
	if let Some((_, t)) = routes.iter().find(|(d, _)| d == domain) {
		return vec![t.clone()];
	}
	if special(domain) {
		return Vec::new();
	}
	// A `.local` name is the LAN's (mDNS, RFC 6762): no SRV in unicast DNS.
	if domain.ends_with(".local") {
		return vec![Target { host: domain.to_owned(), port: DEFAULT_PORT }];
	}
	let mut srv = match srv_lookup(&format!("_xmpp-server._tcp.{domain}")).await {
		Ok(records) => records,
		Err(e) => {
			log::debug!("SRV for {domain}: {e}");
			Vec::new()
		}
	};
	// RFC 2782: a single "." target means the service is not offered.
	if srv.len() == 1 && srv[0].2.is_empty() {
		return Vec::new();
	}
	if srv.is_empty() {
		return vec![Target { host: domain.to_owned(), port: DEFAULT_PORT }];
	}
	// Lowest priority first; within one, heavier weights first (a fixed
	// order instead of RFC 2782's weighted draw is enough for a few peers).
	srv.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
	srv.into_iter().map(|(_, _, host, port)| Target { host, port }).collect()
}

/// Addresses of a target (the system resolver, /etc/hosts first).
pub async fn addresses(t: &Target) -> Vec<SocketAddr> {
	if let Ok(ip) = t.host.parse::<IpAddr>() {
		return vec![SocketAddr::new(ip, t.port)];
	}
	async_net::resolve((t.host.as_str(), t.port)).await.unwrap_or_default()
}

/// (priority, weight, target, port) of the SRV records of `name`.
async fn srv_lookup(name: &str) -> Result<Vec<(u16, u16, String, u16)>, String> {
	let servers = nameservers();
	if servers.is_empty() {
		return Err("no nameserver in /etc/resolv.conf".into());
	}
	let mut id = [0u8; 2];
	ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).map_err(|_| "no randomness")?;
	let id = u16::from_be_bytes(id);
	let query = build_query(id, name)?;
	let mut last = String::from("no answer");
	for ns in servers {
		match ask(ns, &query).await {
			Ok(reply) => match parse_srv(&reply, id) {
				Ok(r) => return Ok(r),
				Err(e) => last = e,
			},
			Err(e) => last = format!("{ns}: {e}"),
		}
	}
	Err(last)
}

fn build_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
	let mut p = Packet::new_query(id);
	p.set_flags(PacketFlag::RECURSION_DESIRED);
	let qname = Name::new(name).map_err(|e| e.to_string())?;
	p.questions.push(Question::new(qname, QTYPE::TYPE(TYPE::SRV), CLASS::IN.into(), false));
	p.build_bytes_vec().map_err(|e| e.to_string())
}

/// The SRV records of a reply to query `id`; an empty list for NXDOMAIN.
fn parse_srv(reply: &[u8], id: u16) -> Result<Vec<(u16, u16, String, u16)>, String> {
	let p = Packet::parse(reply).map_err(|e| e.to_string())?;
	if p.id() != id {
		return Err("reply to another query".into());
	}
	Ok(p.answers
		.iter()
		.filter_map(|rr| match &rr.rdata {
			RData::SRV(s) => {
				let target = s.target.to_string();
				let target = target.trim_end_matches('.').to_owned();
				Some((s.priority, s.weight, target, s.port))
			}
			_ => None,
		})
		.collect())
}

async fn ask(ns: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
	let any: SocketAddr = if ns.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
	let sock = async_net::UdpSocket::bind(any).await?;
	sock.connect(ns).await?;
	sock.send(query).await?;
	let mut buf = vec![0u8; 4096];
	let n = async { sock.recv(&mut buf).await }
		.or(async {
			Timer::after(QUERY_TIMEOUT).await;
			Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))
		})
		.await?;
	buf.truncate(n);
	Ok(buf)
}

/// The `nameserver` lines of /etc/resolv.conf.
fn nameservers() -> Vec<SocketAddr> {
	let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
	text.lines()
		.filter_map(|l| l.trim().strip_prefix("nameserver"))
		.filter_map(|a| a.trim().split('%').next()?.parse::<IpAddr>().ok())
		.map(|ip| SocketAddr::new(ip, 53))
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn special_names_are_never_looked_up() {
		let routes = parse_static("peer.test=127.0.0.1:5270").unwrap();
		let t = futures_lite::future::block_on(targets("peer.test", &routes));
		assert_eq!(t, vec![Target { host: "127.0.0.1".into(), port: 5270 }]);
		for d in ["other.test", "x.invalid", "a.example", "localhost", "b.localhost"] {
			assert!(futures_lite::future::block_on(targets(d, &routes)).is_empty(), "{d}");
		}
		let lan = futures_lite::future::block_on(targets("box.local", &routes));
		assert_eq!(lan, vec![Target { host: "box.local".into(), port: 5269 }], "mDNS names skip SRV");
	}

	/// Issue 11: the check was case-sensitive and missed a trailing dot,
	/// so `LOCALHOST.` or `Peer.Test` went to the DNS.
	#[test]
	fn special_names_are_recognized_in_any_spelling() {
		let routes = parse_static("peer.test=127.0.0.1:5270").unwrap();
		let t = futures_lite::future::block_on(targets("Peer.TEST.", &routes));
		assert_eq!(t, vec![Target { host: "127.0.0.1".into(), port: 5270 }]);
		for d in ["LOCALHOST", "localhost.", "Other.Test", "x.INVALID.", "A.Example", "b.LocalHost."] {
			assert!(futures_lite::future::block_on(targets(d, &routes)).is_empty(), "{d}");
		}
		let lan = futures_lite::future::block_on(targets("Box.LOCAL.", &routes));
		assert_eq!(lan, vec![Target { host: "box.local".into(), port: 5269 }], "mDNS names skip SRV");
	}

	#[test]
	fn static_routes_parse() {
		let r = parse_static("Peer.example=10.0.0.2:5270, other.example=host.lan ,v6.example=[::1]:5269").unwrap();
		assert_eq!(r[0], ("peer.example".into(), Target { host: "10.0.0.2".into(), port: 5270 }));
		assert_eq!(r[1], ("other.example".into(), Target { host: "host.lan".into(), port: 5269 }));
		assert_eq!(r[2], ("v6.example".into(), Target { host: "::1".into(), port: 5269 }));
		assert!(parse_static("nonsense").is_err());
		assert!(parse_static("a=b:notaport").is_err());
		assert!(parse_static("").unwrap().is_empty());
	}

	#[test]
	fn srv_replies_are_read_and_matched_to_the_query() {
		let q = build_query(7, "_xmpp-server._tcp.example.org").unwrap();
		// Answer it the way a nameserver would, with simple-dns too.
		let mut reply = Packet::parse(&q).unwrap().into_reply();
		let name = Name::new("_xmpp-server._tcp.example.org").unwrap();
		let srv = simple_dns::rdata::SRV { priority: 10, weight: 5, port: 5270, target: Name::new("xmpp.example.org").unwrap() };
		reply.answers.push(simple_dns::ResourceRecord::new(name, CLASS::IN, 300, RData::SRV(srv)));
		let bytes = reply.build_bytes_vec().unwrap();
		assert_eq!(parse_srv(&bytes, 7).unwrap(), vec![(10, 5, "xmpp.example.org".to_owned(), 5270)]);
		assert!(parse_srv(&bytes, 8).is_err(), "another query's id");
		assert!(parse_srv(b"junk", 7).is_err());
	}
}
