//! The HTTPS port (file transfer and WebSocket) under slow or greedy
//! clients, issue 11: its slots (`http_max_connections`) were held by TLS
//! handshakes, requests and every WebSocket session for their whole life,
//! with no cap per address, and `http_timeout` was per read: 32 trickling
//! connections blocked file transfer for about 41 hours. Now a request head
//! has one deadline, bodies a minimum rate, each address a share of the
//! slots, and a WebSocket session leaves the pool once upgraded.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::client::tls_config;
use common::{Client, DOMAIN, Server, server_with_users};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};

const UPLOAD: &str = "urn:xmpp:http:upload:0";

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn https_addr(s: &Server) -> SocketAddr {
	s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| *a).expect("an HTTPS listener")
}

/// A TCP connection to `to` from the address `from` (any 127.x works on Linux loopback).
fn tcp_from(from: &str, to: SocketAddr) -> TcpStream {
	let sock = nix::sys::socket::socket(
		nix::sys::socket::AddressFamily::Inet,
		nix::sys::socket::SockType::Stream,
		nix::sys::socket::SockFlag::empty(),
		None,
	)
	.unwrap();
	let from: SocketAddr = format!("{from}:0").parse().unwrap();
	nix::sys::socket::bind(std::os::fd::AsRawFd::as_raw_fd(&sock), &nix::sys::socket::SockaddrStorage::from(from)).unwrap();
	nix::sys::socket::connect(std::os::fd::AsRawFd::as_raw_fd(&sock), &nix::sys::socket::SockaddrStorage::from(to)).unwrap();
	TcpStream::from(sock)
}

/// TLS to the HTTPS port from `from`; None if the server closed instead.
fn tls_from(from: &str, to: SocketAddr) -> Option<Tls> {
	let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
	let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
	let tcp = tcp_from(from, to);
	tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let mut tls = StreamOwned::new(conn, tcp);
	while tls.conn.is_handshaking() {
		tls.conn.complete_io(&mut tls.sock).ok()?;
	}
	Some(tls)
}

/// One request from `from`; the response, or None if the connection was refused.
fn try_https(from: &str, to: SocketAddr, request: &[u8]) -> Option<String> {
	let mut tls = tls_from(from, to)?;
	let _ = tls.write_all(request).and_then(|()| tls.flush());
	let mut raw = Vec::new();
	let _ = tls.read_to_end(&mut raw);
	(!raw.is_empty()).then(|| String::from_utf8_lossy(&raw).into_owned())
}

/// `f` until it gives something, for up to 5 s: a slot just given back
/// may take a moment after the connection that held it closed.
fn retry<T>(mut f: impl FnMut() -> Option<T>) -> T {
	let end = Instant::now() + Duration::from_secs(5);
	loop {
		if let Some(t) = f() {
			return t;
		}
		assert!(Instant::now() < end, "refused for 5 s");
		std::thread::sleep(Duration::from_millis(100));
	}
}

fn status(response: &str) -> u16 {
	response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Asks for host-meta from `from` until it is answered; whether that
/// happened within `within`.
fn answered_within(from: &str, to: SocketAddr, within: Duration) -> bool {
	let end = Instant::now() + within;
	while Instant::now() < end {
		if try_https(from, to, b"GET /.well-known/host-meta HTTP/1.1\r\n\r\n").is_some_and(|r| status(&r) == 200) {
			return true;
		}
		std::thread::sleep(Duration::from_millis(300));
	}
	false
}

/// (put path, get path) of a new slot.
fn slot(c: &mut Client, name: &str, size: usize) -> (String, String) {
	let r = c.iq(&format!(
		"<iq type='get' to='{DOMAIN}'><request xmlns='{UPLOAD}' filename='{name}' size='{size}' content-type='application/octet-stream'/></iq>"
	));
	let s = r.child("slot", UPLOAD).unwrap_or_else(|| panic!("{}", r.to_xml("jabber:client")));
	let path = |el: &str| {
		let url = s.child(el, UPLOAD).unwrap().attr("url").unwrap().to_owned();
		url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap()
	};
	(path("put"), path("get"))
}

fn put_request(path: &str, len: usize) -> Vec<u8> {
	format!("PUT {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n").into_bytes()
}

/// Runs `step` every `every` on a thread until it fails or `stop` is set.
fn trickle(stop: &Arc<AtomicBool>, every: Duration, mut step: impl FnMut() -> std::io::Result<()> + Send + 'static) {
	let stop = stop.clone();
	std::thread::spawn(move || {
		while !stop.load(Ordering::Relaxed) && step().is_ok() {
			std::thread::sleep(every);
		}
	});
}

#[test]
fn trickling_connections_from_one_address_do_not_block_another_clients_upload() {
	// A long http_timeout: the per-address share is what must help here.
	let s = server_with_users(&["alice"], &["http_timeout=120"]);
	let addr = https_addr(&s);
	// 32 (= http_max_connections) connections from one address that start
	// a TLS handshake and go quiet.
	let hogs: Vec<TcpStream> = (0..32)
		.map(|_| {
			let mut t = tcp_from("127.0.0.1", addr);
			t.write_all(&[0x16, 0x03, 0x01]).unwrap();
			t
		})
		.collect();
	std::thread::sleep(Duration::from_millis(300));
	let mut alice = s.login("alice");
	let (put_path, get_path) = slot(&mut alice, "a.bin", 5);
	let mut req = put_request(&put_path, 5);
	req.extend_from_slice(b"hello");
	let put = try_https("127.0.0.2", addr, &req).expect("the upload gets a connection");
	assert_eq!(status(&put), 201, "{put}");
	let got = try_https("127.0.0.3", addr, format!("GET {get_path} HTTP/1.1\r\n\r\n").as_bytes()).expect("the download too");
	assert!(status(&got) == 200 && got.ends_with("hello"), "{got}");
	// The hogs' own address got its share only.
	assert!(try_https("127.0.0.1", addr, b"GET /.well-known/host-meta HTTP/1.1\r\n\r\n").is_none());
	drop(hogs);
}

#[test]
fn a_request_head_has_one_deadline() {
	let s = server_with_users(&[], &["http_timeout=2", "http_max_connections=1"]);
	let addr = https_addr(&s);
	let stop = Arc::new(AtomicBool::new(false));
	// One byte of header every 300 ms: each read comes well within
	// http_timeout, the whole head never does.
	let mut hog = tls_from("127.0.0.1", addr).unwrap();
	hog.write_all(b"GET /.well-known/host-meta HTTP/1.1\r\nX-Slow: ").unwrap();
	trickle(&stop, Duration::from_millis(300), move || hog.write_all(b"a").and_then(|()| hog.flush()));
	std::thread::sleep(Duration::from_millis(200));
	let t = Instant::now();
	let ok = answered_within("127.0.0.2", addr, Duration::from_secs(20));
	stop.store(true, Ordering::Relaxed);
	assert!(ok, "the slot was never given back: {:?}", t.elapsed());
}

#[test]
fn an_upload_body_slower_than_the_minimum_rate_is_cut() {
	let s = server_with_users(&["alice"], &["http_timeout=2", "http_min_bytes_per_second=1000", "http_max_connections=1"]);
	let addr = https_addr(&s);
	let mut alice = s.login("alice");
	let size = 100_000;
	let (put_path, get_path) = slot(&mut alice, "slow.bin", size);
	let stop = Arc::new(AtomicBool::new(false));
	// 50 bytes every 250 ms: 200 bytes/s, each read well within http_timeout.
	let mut hog = tls_from("127.0.0.1", addr).unwrap();
	hog.write_all(&put_request(&put_path, size)).unwrap();
	trickle(&stop, Duration::from_millis(250), move || hog.write_all(&[b'x'; 50]).and_then(|()| hog.flush()));
	std::thread::sleep(Duration::from_millis(200));
	let ok = answered_within("127.0.0.2", addr, Duration::from_secs(20));
	stop.store(true, Ordering::Relaxed);
	assert!(ok, "the trickling upload kept its slot");
	// The slot stays open for a real upload.
	let mut req = put_request(&put_path, size);
	req.extend(std::iter::repeat_n(b'y', size));
	assert_eq!(status(&retry(|| try_https("127.0.0.2", addr, &req))), 201);
	let got = retry(|| try_https("127.0.0.2", addr, format!("HEAD {get_path} HTTP/1.1\r\n\r\n").as_bytes()));
	assert_eq!(status(&got), 200);
}

#[test]
fn a_download_read_slower_than_the_minimum_rate_is_cut() {
	let s = server_with_users(&["alice"], &["http_timeout=3", "http_min_bytes_per_second=200000", "http_max_connections=1"]);
	let addr = https_addr(&s);
	let mut alice = s.login("alice");
	// Larger than what the kernel buffers on both sides (the reader's is made small).
	let size = 30 << 20;
	let (put_path, get_path) = slot(&mut alice, "big.bin", size);
	let mut req = put_request(&put_path, size);
	req.extend(std::iter::repeat_n(b'z', size));
	assert_eq!(try_https("127.0.0.1", addr, &req).map(|r| status(&r)), Some(201));
	let stop = Arc::new(AtomicBool::new(false));
	let mut reader = retry(|| tls_from("127.0.0.1", addr));
	let small: libc::c_int = 64 * 1024;
	// SAFETY: a valid socket and a c_int option of the size given.
	let rc = unsafe {
		libc::setsockopt(
			std::os::fd::AsRawFd::as_raw_fd(&reader.sock),
			libc::SOL_SOCKET,
			libc::SO_RCVBUF,
			(&small as *const libc::c_int).cast(),
			std::mem::size_of::<libc::c_int>() as libc::socklen_t,
		)
	};
	assert_eq!(rc, 0);
	reader.write_all(format!("GET {get_path} HTTP/1.1\r\n\r\n").as_bytes()).unwrap();
	// 16 KiB every 250 ms (64 KiB/s): each write of the server waits far
	// less than http_timeout, the rate stays under 200,000 bytes/s.
	let mut buf = vec![0u8; 16 * 1024];
	trickle(&stop, Duration::from_millis(250), move || match reader.read(&mut buf) {
		Ok(0) => Err(std::io::ErrorKind::UnexpectedEof.into()),
		Ok(_) => Ok(()),
		Err(e) => Err(e),
	});
	std::thread::sleep(Duration::from_millis(200));
	let ok = answered_within("127.0.0.2", addr, Duration::from_secs(30));
	stop.store(true, Ordering::Relaxed);
	assert!(ok, "the slow download kept its slot");
}

/// A WebSocket upgrade that opened an XMPP stream; None if refused.
fn websocket(from: &str, to: SocketAddr) -> Option<Tls> {
	let mut tls = tls_from(from, to)?;
	tls.write_all(
		b"GET /xmpp-websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
		  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
	)
	.ok()?;
	let mut got = Vec::new();
	let mut b = [0u8; 1];
	while !got.ends_with(b"\r\n\r\n") {
		if tls.read(&mut b).ok()? == 0 {
			return None;
		}
		got.push(b[0]);
	}
	assert!(got.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&got));
	// One masked text frame (RFC 6455 §5.2) with the framing <open/>.
	let open = format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{DOMAIN}' version='1.0'/>");
	let mask = [1u8, 2, 3, 4];
	let mut frame = vec![0x81, 0x80 | 126, (open.len() >> 8) as u8, open.len() as u8];
	frame.extend_from_slice(&mask);
	frame.extend(open.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
	tls.write_all(&frame).ok()?;
	let mut seen = Vec::new();
	let mut chunk = [0u8; 4096];
	while !String::from_utf8_lossy(&seen).contains("<open ") {
		match tls.read(&mut chunk) {
			Ok(0) | Err(_) => return None,
			Ok(n) => seen.extend_from_slice(&chunk[..n]),
		}
	}
	Some(tls)
}

#[test]
fn websocket_sessions_leave_the_http_pool_and_are_admitted_as_c2s() {
	let s = server_with_users(&[], &["http_max_connections=2", "max_connections_per_ip=4"]);
	let addr = https_addr(&s);
	let sessions: Vec<Tls> = (0..4).map(|i| websocket("127.0.0.1", addr).unwrap_or_else(|| panic!("session {i}"))).collect();
	// Four open sessions, two HTTP slots: both free.
	assert!(answered_within("127.0.0.1", addr, Duration::from_secs(1)));
	assert!(answered_within("127.0.0.1", addr, Duration::from_secs(1)));
	// The c2s guard counts them: a fifth from the address is refused.
	assert!(websocket("127.0.0.1", addr).is_none(), "max_connections_per_ip holds for WebSocket");
	assert!(websocket("127.0.0.2", addr).is_some());
	drop(sessions);
}
