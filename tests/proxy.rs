//! XEP-0065 SOCKS5 bytestreams proxy over real sockets: discovery, the
//! streamhost address, a mediated transfer (both parties connect, the
//! initiator activates, bytes flow both ways), who may activate, bad SOCKS5
//! input, `proxy_max_connections` and `proxy_max_connections_per_ip`,
//! `proxy_timeout`, and the proxy off.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::client::error_condition;
use common::{Client, DOMAIN, Server, server_with_users};
use xerra::proto::socks5::stream_hash;

const BS: &str = "http://jabber.org/protocol/bytestreams";

fn proxy_addr(s: &Server) -> SocketAddr {
	s.listeners.iter().find(|(k, _)| k == "proxy").expect("proxy listener").1
}

fn proxy_jid() -> String {
	format!("proxy.{DOMAIN}")
}

/// A TCP connection to `to` from the address `from` (any 127.x works on Linux loopback).
fn tcp_from(from: &str, to: SocketAddr) -> TcpStream {
	use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrStorage, bind, connect, socket};
	use std::os::fd::AsRawFd;
	let sock = socket(AddressFamily::Inet, SockType::Stream, SockFlag::empty(), None).unwrap();
	let from: SocketAddr = format!("{from}:0").parse().unwrap();
	bind(sock.as_raw_fd(), &SockaddrStorage::from(from)).unwrap();
	connect(sock.as_raw_fd(), &SockaddrStorage::from(to)).unwrap();
	TcpStream::from(sock)
}

/// Connects and does the SOCKS5 handshake for `hash`; the reply's code.
fn socks(addr: SocketAddr, hash: &str) -> (TcpStream, u8) {
	socks_from("127.0.0.1", addr, hash)
}

fn socks_from(from: &str, addr: SocketAddr, hash: &str) -> (TcpStream, u8) {
	let mut t = tcp_from(from, addr);
	t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	t.write_all(&[5, 1, 0]).unwrap();
	let mut method = [0u8; 2];
	t.read_exact(&mut method).unwrap();
	assert_eq!(method, [5, 0], "no authentication");
	let mut req = vec![5, 1, 0, 3, hash.len() as u8];
	req.extend_from_slice(hash.as_bytes());
	req.extend_from_slice(&[0, 0]);
	t.write_all(&req).unwrap();
	let mut reply = vec![0u8; 5 + hash.len() + 2];
	t.read_exact(&mut reply).unwrap();
	assert_eq!(&reply[5..5 + hash.len()], hash.as_bytes(), "the reply names the same stream");
	(t, reply[1])
}

fn activate(c: &mut Client, sid: &str, target: &str) -> xerra::xmpp::element::Element {
	c.iq(&format!("<iq type='set' to='{}'><query xmlns='{BS}' sid='{sid}'><activate>{target}</activate></query></iq>", proxy_jid()))
}

/// Reads until `n` bytes came or the other side closed.
fn read_n(t: &mut TcpStream, n: usize) -> Vec<u8> {
	let mut got = vec![0u8; n];
	t.read_exact(&mut got).unwrap();
	got
}

fn closed(t: &mut TcpStream) -> bool {
	t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
	let mut b = [0u8; 1];
	matches!(t.read(&mut b), Ok(0) | Err(_))
}

#[test]
fn a_transfer_through_the_proxy_after_the_initiator_activates_it() {
	let s = server_with_users(&["alice", "bob"], &["proxy_host=127.0.0.1"]);
	let mut alice = s.login("alice");
	let bob = s.login("bob");
	// Found as clients find it: the server's items, then the service's info.
	let items = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
	assert!(items.to_xml("jabber:client").contains(&format!("jid='{}'", proxy_jid())), "{}", items.to_xml("jabber:client"));
	let info = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", proxy_jid()));
	let info = info.to_xml("jabber:client");
	assert!(info.contains("category='proxy'") && info.contains("type='bytestreams'") && info.contains(BS), "{info}");
	let addr = proxy_addr(&s);
	let sh = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='{BS}'/></iq>", proxy_jid()));
	let host = sh.child("query", BS).and_then(|q| q.child("streamhost", BS)).expect("a streamhost");
	assert_eq!(host.attr("jid"), Some(proxy_jid().as_str()));
	assert_eq!(host.attr("host"), Some("127.0.0.1"));
	assert_eq!(host.attr("port"), Some(addr.port().to_string().as_str()));

	// The target connects first (it answers the initiator's offer), then the
	// initiator; bytes sent before activation wait.
	let hash = stream_hash("s1", &alice.jid, &bob.jid);
	let (mut target, code) = socks(addr, &hash);
	assert_eq!(code, 0);
	// Before the second party, activation cannot work.
	assert_eq!(error_condition(&activate(&mut alice, "s1", &bob.jid)), "not-acceptable");
	let (mut initiator, code) = socks(addr, &hash);
	assert_eq!(code, 0);
	initiator.write_all(b"early ").unwrap();
	// Only the initiator can start it: bob's request names another stream.
	let mut bob = bob;
	assert_eq!(error_condition(&activate(&mut bob, "s1", &alice.jid)), "item-not-found");
	assert_eq!(error_condition(&activate(&mut alice, "other", &bob.jid)), "item-not-found");
	let r = activate(&mut alice, "s1", &bob.jid);
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	initiator.write_all(b"bytes").unwrap();
	assert_eq!(read_n(&mut target, 11), b"early bytes");
	// Both ways, and a lot of it.
	let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
	target.write_all(b"thanks").unwrap();
	assert_eq!(read_n(&mut initiator, 6), b"thanks");
	let mut writer = initiator.try_clone().unwrap();
	let sent = big.clone();
	let t = std::thread::spawn(move || {
		writer.write_all(&sent).unwrap();
		// Done sending: the target still reads to the end, then sees the end.
		writer.shutdown(std::net::Shutdown::Write).unwrap();
	});
	assert_eq!(read_n(&mut target, big.len()), big);
	t.join().unwrap();
	assert!(closed(&mut target), "the initiator's half-close reaches the target");
	// Activated once: a second activation finds nothing.
	assert_eq!(error_condition(&activate(&mut alice, "s1", &bob.jid)), "item-not-found");
	// A third party with the same hash while two wait is refused.
	let hash2 = stream_hash("s2", &alice.jid, &bob.jid);
	let (_a, _) = socks(addr, &hash2);
	let (_b, _) = socks(addr, &hash2);
	let (mut third, code) = socks(addr, &hash2);
	assert_eq!(code, 0, "the handshake itself is fine");
	assert!(closed(&mut third), "but the stream has its two parties");
}

#[test]
fn bad_socks5_input_is_refused_and_the_proxy_keeps_serving() {
	let s = server_with_users(&["alice"], &[]);
	let addr = proxy_addr(&s);
	// Not SOCKS5.
	let mut t = TcpStream::connect(addr).unwrap();
	t.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
	assert!(closed(&mut t));
	// No "no authentication" method offered.
	let mut t = TcpStream::connect(addr).unwrap();
	t.write_all(&[5, 1, 2]).unwrap();
	let mut m = [0u8; 2];
	t.read_exact(&mut m).unwrap();
	assert_eq!(m, [5, 0xff]);
	assert!(closed(&mut t));
	// An IPv4 destination instead of a stream hash: address type not supported.
	let mut t = TcpStream::connect(addr).unwrap();
	t.write_all(&[5, 1, 0]).unwrap();
	t.read_exact(&mut m).unwrap();
	t.write_all(&[5, 1, 0, 1, 127, 0, 0, 1, 0, 80]).unwrap();
	// RFC 1928 §6: VER, REP, RSV, ATYP, an empty name, port 0.
	let mut reply = [0u8; 7];
	t.read_exact(&mut reply).unwrap();
	assert_eq!(reply, [5, 8, 0, 3, 0, 0, 0]);
	assert!(closed(&mut t));
	// A destination that is no stream hash: not allowed.
	let mut t = TcpStream::connect(addr).unwrap();
	t.write_all(&[5, 1, 0]).unwrap();
	t.read_exact(&mut m).unwrap();
	let mut req = vec![5, 1, 0, 3, 200];
	req.extend_from_slice(&[b'z'; 200]);
	req.extend_from_slice(&[0, 0]);
	t.write_all(&req).unwrap();
	t.read_exact(&mut reply).unwrap();
	assert_eq!(reply, [5, 2, 0, 3, 0, 0, 0]);
	assert!(closed(&mut t));
	// Still serving.
	let (_t, code) = socks(addr, &stream_hash("x", "a", "b"));
	assert_eq!(code, 0);
	let mut alice = s.login("alice");
	// Without proxy_host, clients are sent to the chat domain's name.
	let sh = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='{BS}'/></iq>", proxy_jid()));
	assert_eq!(sh.child("query", BS).and_then(|q| q.child("streamhost", BS)).and_then(|h| h.attr("host")), Some(DOMAIN));
	// A request without a sid or a target.
	let r = alice.iq(&format!("<iq type='set' to='{}'><query xmlns='{BS}'><activate>x@y</activate></query></iq>", proxy_jid()));
	assert_eq!(error_condition(&r), "bad-request");
	let r = alice.iq(&format!("<iq type='set' to='{}'><query xmlns='{BS}' sid='1'/></iq>", proxy_jid()));
	assert_eq!(error_condition(&r), "bad-request");
}

#[test]
fn the_connection_limit_and_the_timeout_hold() {
	let s = server_with_users(&["alice", "bob"], &["proxy_max_connections=2", "proxy_timeout=1"]);
	let addr = proxy_addr(&s);
	let mut alice = s.login("alice");
	let bob = s.login("bob");
	let hash = stream_hash("s", &alice.jid, &bob.jid);
	let (mut one, _) = socks(addr, &hash);
	let (_two, _) = socks(addr, &stream_hash("t", "a", "b"));
	// A third connection is over proxy_max_connections: closed at once.
	let mut three = TcpStream::connect(addr).unwrap();
	let started = Instant::now();
	assert!(closed(&mut three));
	assert!(started.elapsed() < Duration::from_secs(1), "closed at once, not at the timeout");
	// Unpaired for longer than proxy_timeout: closed, forgotten.
	assert!(closed(&mut one));
	assert_eq!(error_condition(&activate(&mut alice, "s", &bob.jid)), "item-not-found");
	// The places came free.
	std::thread::sleep(Duration::from_millis(1200));
	let (_again, code) = socks(addr, &hash);
	assert_eq!(code, 0);
}

#[test]
fn with_the_proxy_off_nothing_is_announced() {
	let s = server_with_users(&["alice"], &["proxy_port=off"]);
	assert!(!s.listeners.iter().any(|(k, _)| k == "proxy"));
	let mut alice = s.login("alice");
	let items = alice.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
	assert!(!items.to_xml("jabber:client").contains("proxy."), "{}", items.to_xml("jabber:client"));
	let r = alice.iq(&format!("<iq type='get' to='{}'><query xmlns='{BS}'/></iq>", proxy_jid()));
	assert_eq!(r.attr("type"), Some("error"), "{}", r.to_xml("jabber:client"));
}

/// An active stream silent both ways for `idle_timeout` ends: a party that
/// vanished without closing does not hold its two connections for good.
#[test]
fn a_silent_stream_ends_after_the_idle_timeout() {
	let s = server_with_users(&["alice", "bob"], &["idle_timeout=2"]);
	let addr = proxy_addr(&s);
	let mut alice = s.login("alice");
	let bob = s.login("bob");
	let hash = stream_hash("quiet", &alice.jid, &bob.jid);
	let (mut target, _) = socks(addr, &hash);
	let (mut initiator, _) = socks(addr, &hash);
	assert_eq!(activate(&mut alice, "quiet", &bob.jid).attr("type"), Some("result"));
	initiator.write_all(b"hi").unwrap();
	assert_eq!(read_n(&mut target, 2), b"hi");
	// Bytes keep it alive...
	std::thread::sleep(Duration::from_millis(1200));
	target.write_all(b"yo").unwrap();
	assert_eq!(read_n(&mut initiator, 2), b"yo");
	// ...silence ends it.
	let started = Instant::now();
	assert!(closed(&mut target) && closed(&mut initiator));
	let waited = started.elapsed();
	assert!(waited > Duration::from_millis(1500) && waited < Duration::from_secs(4), "{waited:?}");
}

/// Issue 11: `proxy_max_connections` was global only, so one host could
/// take every place and stop all mediated transfers.
#[test]
fn one_address_gets_its_share_of_the_proxy() {
	let s = server_with_users(&[], &["proxy_max_connections_per_ip=2"]);
	let addr = proxy_addr(&s);
	let (_one, ok1) = socks_from("127.0.0.1", addr, &stream_hash("a", "x", "y"));
	let (_two, ok2) = socks_from("127.0.0.1", addr, &stream_hash("b", "x", "y"));
	assert_eq!((ok1, ok2), (0, 0));
	// A third from the same address is closed without an answer.
	let mut three = tcp_from("127.0.0.1", addr);
	three.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
	let _ = three.write_all(&[5, 1, 0]);
	let mut b = [0u8; 2];
	match three.read(&mut b) {
		Ok(0) => {}
		Err(e) if !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
		other => panic!("a third connection from one address was served: {other:?} {b:?}"),
	}
	let (_four, ok4) = socks_from("127.0.0.2", addr, &stream_hash("c", "x", "y"));
	assert_eq!(ok4, 0, "another address still gets in");
}
