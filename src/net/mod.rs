//! The smol shell: the only code that touches sockets, TLS and timers.
//! One `LocalExecutor` on the main thread runs every connection as a task.

pub mod bosh;
pub mod c2s;
pub mod ca;
pub mod component;
pub mod csi;
pub mod dns;
pub mod guard;
pub mod per_ip;
pub mod proxy;
pub mod register;
pub mod s2s;
pub mod sm;
pub mod tls;
pub mod transport;
pub mod ws;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::os::fd::OwnedFd;
use std::rc::Rc;

use async_executor::LocalExecutor;
use async_net::TcpListener;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrStorage, sockopt};

use crate::config::Config;
use crate::server::Server;

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
	/// RFC 6120 with STARTTLS.
	C2s,
	/// XEP-0368 direct TLS.
	C2sTls,
}

impl Kind {
	pub fn name(self) -> &'static str {
		match self {
			Kind::C2s => "c2s",
			Kind::C2sTls => "c2s_tls",
		}
	}
}

pub struct Listener {
	pub kind: Kind,
	pub addr: SocketAddr,
	socket: TcpListener,
}

/// Binds every configured address and port. An address that cannot be
/// bound (say, IPv6 switched off) is skipped with a warning, as long as at
/// least one listener is up.
pub fn listen(config: &Config) -> Result<Vec<Listener>, String> {
	let mut out = Vec::new();
	for (kind, port) in [(Kind::C2s, config.c2s_port), (Kind::C2sTls, config.c2s_tls_port)] {
		let Some(port) = port else { continue };
		for (addr, socket) in listen_on(&config.listen, port)? {
			out.push(Listener { kind, addr, socket });
		}
	}
	if out.is_empty() {
		return Err("no XMPP port is configured (c2s_port and c2s_tls_port are off)".into());
	}
	Ok(out)
}

/// Binds `port` on each address that can be bound; an error if none can.
pub fn listen_on(ips: &[std::net::IpAddr], port: u16) -> Result<Vec<(SocketAddr, TcpListener)>, String> {
	let mut out = Vec::new();
	let mut errors = Vec::new();
	for ip in ips {
		match bind(SocketAddr::new(*ip, port)) {
			Ok(std_listener) => {
				let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
				out.push((addr, TcpListener::try_from(std_listener).map_err(|e| e.to_string())?));
			}
			Err(e) => errors.push(format!("{ip} port {port}: {e}")),
		}
	}
	for e in &errors {
		log::warn!("cannot listen on {e}");
	}
	if out.is_empty() {
		return Err(format!("no listener could be opened: {}", errors.join("; ")));
	}
	Ok(out)
}

/// The web page's URLs as people on the LAN would type them: the mDNS name
/// first, then every non-loopback address (loopback only if that is all).
pub fn page_urls(ips: &[std::net::IpAddr], port: u16, mdns_host: Option<&str>) -> Vec<String> {
	let port_part = if port == 80 { String::new() } else { format!(":{port}") };
	let mut addrs: Vec<std::net::IpAddr> = Vec::new();
	let wildcard = ips.iter().any(std::net::IpAddr::is_unspecified);
	if wildcard && let Ok(ifs) = nix::ifaddrs::getifaddrs() {
		for i in ifs {
			let Some(a) = i.address else { continue };
			let ip = if let Some(v4) = a.as_sockaddr_in() {
				std::net::IpAddr::V4(v4.ip())
			} else if let Some(v6) = a.as_sockaddr_in6() {
				std::net::IpAddr::V6(v6.ip())
			} else {
				continue;
			};
			let v6_link_local = matches!(ip, std::net::IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
			if !ip.is_loopback() && !v6_link_local && ips.iter().any(|l| l.is_unspecified() && l.is_ipv4() == ip.is_ipv4()) {
				addrs.push(ip);
			}
		}
	}
	addrs.extend(ips.iter().filter(|ip| !ip.is_unspecified()));
	if addrs.is_empty() {
		addrs.push(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
	}
	let mut urls: Vec<String> = mdns_host.map(|h| format!("http://{h}.local{port_part}/")).into_iter().collect();
	for ip in addrs {
		urls.push(match ip {
			std::net::IpAddr::V4(v4) => format!("http://{v4}{port_part}/"),
			std::net::IpAddr::V6(v6) => format!("http://[{v6}]{port_part}/"),
		});
	}
	urls
}

/// Connections the kernel queues before we accept them (a login storm after
/// a restart: every client of the office reconnects at once).
const LISTEN_BACKLOG: libc::c_int = 1024;

/// A listening socket with SO_REUSEADDR, and IPV6_V6ONLY on IPv6 so the
/// IPv4 and IPv6 wildcards can both be bound.
fn bind(addr: SocketAddr) -> Result<StdListener, nix::Error> {
	let family = if addr.is_ipv6() { AddressFamily::Inet6 } else { AddressFamily::Inet };
	let fd: OwnedFd = socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
	socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
	if addr.is_ipv6() {
		socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
	}
	socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrStorage::from(addr))?;
	// Straight to listen(2): nix refuses backlogs above the C library's
	// SOMAXCONN, which is 128 on musl (our static builds); the kernel caps
	// the value at net.core.somaxconn by itself.
	// SAFETY: listen on a socket fd we own.
	if unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&fd), LISTEN_BACKLOG) } != 0 {
		return Err(nix::Error::last());
	}
	Ok(StdListener::from(fd))
}

/// Accepts client connections forever, one task each.
pub async fn accept_loop(server: Rc<Server>, ex: Rc<LocalExecutor<'static>>, l: Listener) {
	let direct_tls = l.kind == Kind::C2sTls;
	accept_each(ex, l.socket, move |tcp, peer| c2s::serve(server.clone(), tcp, peer, direct_tls)).await
}

/// Accepts connections on `l` forever and runs `serve` for each as a task.
pub async fn accept_each<F, Fut>(ex: Rc<LocalExecutor<'static>>, l: TcpListener, serve: F)
where
	F: Fn(async_net::TcpStream, SocketAddr) -> Fut,
	Fut: std::future::Future<Output = ()> + 'static,
{
	loop {
		match l.accept().await {
			Ok((tcp, peer)) => {
				let _ = tcp.set_nodelay(true);
				ex.spawn(serve(tcp, peer)).detach();
			}
			Err(e) => {
				// Out of file descriptors and the like: back off instead of spinning.
				log::warn!("accept on {:?}: {e}", l.local_addr());
				async_io::Timer::after(std::time::Duration::from_millis(100)).await;
			}
		}
	}
}
