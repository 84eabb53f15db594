//! RFC 7395 XMPP over WebSocket with a real client library: xmpp.js
//! (@xmpp/client, under Node) logs in over wss:// trusting only the box's
//! CA, and chats with a TCP client. Plus XEP-0156 host-meta and a refused
//! upgrade.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::client::tls_config;
use common::{DOMAIN, PASSWORD, Server, server_with_users};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};

fn https_port(s: &Server) -> u16 {
	s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an HTTPS listener")
}

fn https(port: u16, request: &str) -> String {
	let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
	let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
	let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
	let mut tls = StreamOwned::new(conn, tcp);
	tls.write_all(request.as_bytes()).unwrap();
	let mut raw = Vec::new();
	let _ = tls.read_to_end(&mut raw);
	String::from_utf8_lossy(&raw).into_owned()
}

/// One plain HTTP request to the box's web page; the whole answer.
fn http(port: u16, request: &str) -> String {
	let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
	tcp.write_all(request.as_bytes()).unwrap();
	let mut raw = Vec::new();
	let _ = tcp.read_to_end(&mut raw);
	String::from_utf8_lossy(&raw).into_owned()
}

/// XEP-0156 on the box's web page too (`http://DOMAIN/`, where the box's
/// name leads a browser), pointing at the WebSocket endpoint, readable
/// from any web app's origin.
#[test]
fn the_web_page_answers_host_meta_too() {
	let s = Server::start(&[]);
	let web = s.listeners.iter().find(|(k, _)| k == "http").map(|(_, a)| a.port()).expect("the web page's listener");
	let endpoint = format!("wss://{DOMAIN}:{}/xmpp-websocket", https_port(&s));
	let xrd = http(web, "GET /.well-known/host-meta HTTP/1.1\r\n\r\n");
	assert!(xrd.starts_with("HTTP/1.1 200"), "{xrd}");
	assert!(xrd.contains("Content-Type: application/xrd+xml"), "{xrd}");
	assert!(xrd.contains(&format!("<Link rel='urn:xmpp:alt-connections:websocket' href='{endpoint}'/>")), "{xrd}");
	assert!(xrd.contains("Access-Control-Allow-Origin: *"), "{xrd}");
	let json = http(web, "GET /.well-known/host-meta.json HTTP/1.1\r\n\r\n");
	assert!(json.starts_with("HTTP/1.1 200") && json.contains("Content-Type: application/json"), "{json}");
	assert!(json.contains(&format!("{{\"rel\":\"urn:xmpp:alt-connections:websocket\",\"href\":\"{endpoint}\"}}")), "{json}");
	// The HTTPS port says the same.
	let same = https(https_port(&s), "GET /.well-known/host-meta.json HTTP/1.1\r\n\r\n");
	assert!(same.contains(&endpoint), "{same}");
}

/// `xerra run --appliance` on a data directory of its own, as the
/// appliance runs (HTTPS on 443), with the other ports picked free;
/// killed when dropped.
struct Appliance {
	/// One at a time: there is one port 443.
	_443: std::sync::MutexGuard<'static, ()>,
	child: std::process::Child,
	dir: PathBuf,
	/// The `listening KIND ADDR` lines.
	listeners: Vec<String>,
}

impl Appliance {
	fn start() -> Appliance {
		static PORT_443: std::sync::Mutex<()> = std::sync::Mutex::new(());
		let guard = PORT_443.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
		let dir = std::env::temp_dir().join(format!("xerra-it-443-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		let mut cmd = Command::new(common::bin());
		cmd.arg("--data-dir").arg(&dir).args(["run", "--appliance"]);
		for set in [
			"listen=127.0.0.1",
			"http_port=0",
			"mdns=off",
			"c2s_port=0",
			"c2s_tls_port=0",
			"component_port=0",
			"proxy_port=0",
			"s2s_port=off",
			&format!("domain={DOMAIN}"),
		] {
			cmd.arg("--set").arg(set);
		}
		let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
		let (lines, next) = std::sync::mpsc::channel();
		let stdout = child.stdout.take().unwrap();
		std::thread::spawn(move || {
			use std::io::BufRead as _;
			for l in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
				let _ = lines.send(l);
			}
		});
		let mut listeners = Vec::new();
		while let Ok(line) = next.recv_timeout(Duration::from_secs(20)) {
			if line.starts_with("ready ") {
				break;
			}
			listeners.push(line);
		}
		Appliance { _443: guard, child, dir, listeners }
	}

	fn port(&self, kind: &str) -> Option<u16> {
		let prefix = format!("listening {kind} ");
		self.listeners.iter().find_map(|l| l.strip_prefix(&prefix)).map(|a| a.rsplit(':').next().unwrap().parse().unwrap())
	}
}

impl Drop for Appliance {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		let _ = std::fs::remove_dir_all(&self.dir);
	}
}

/// Browsers (Converse.js) ask `https://DOMAIN/.well-known/host-meta`: the
/// appliance serves HTTPS (uploads, WebSocket, host-meta) on port 443, and
/// the endpoint it names needs no port.
#[test]
fn the_appliance_answers_host_meta_at_https_domain() {
	let app = Appliance::start();
	assert_eq!(app.port("upload"), Some(443), "no HTTPS listener on 443: {:?}", app.listeners);
	let meta = https(443, "GET /.well-known/host-meta HTTP/1.1\r\n\r\n");
	assert!(meta.contains(&format!("href='wss://{DOMAIN}/xmpp-websocket'")), "{meta}");
}

/// Converse.js 14 given only an address finds the WebSocket endpoint
/// through `https://DOMAIN/.well-known/host-meta` on the appliance and
/// chats over it.
#[test]
fn converse_js_finds_the_appliances_websocket_by_host_meta() {
	let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
	assert!(
		clients.join("node_modules/converse.js/dist").exists(),
		"Converse.js is missing: run tests/run (it installs tests/clients/node_modules)"
	);
	let app = Appliance::start();
	assert_eq!(app.port("upload"), Some(443), "no HTTPS listener on 443: {:?}", app.listeners);
	for name in ["alice", "bob"] {
		let (ok, out) = common::cli(&app.dir, &["user", "add", name, "--password-stdin"], Some(PASSWORD));
		assert!(ok, "{out}");
	}
	let mut bob = common::Client::login(app.port("c2s").unwrap(), "bob", PASSWORD);
	bob.send("<presence/>");
	let url = format!("wss://{DOMAIN}/xmpp-websocket");
	let driver = Command::new("/usr/bin/python3")
		.arg(clients.join("converse_chat.py"))
		.args(["--discover", "--ws", &url, "--jid", &Server::jid("alice"), "--password", PASSWORD, "--peer", &Server::jid("bob")])
		.args(["--say", "found you", "--expect", "found you too", "--timeout", "90"])
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.expect("python3 (tests/run installs it)");
	let hello = bob.wait_within(Duration::from_secs(60), |e| {
		e.name() == "message" && e.child("body", "jabber:client").is_some_and(|b| b.text() == "found you")
	});
	if let Some(hello) = hello {
		let from = hello.attr("from").unwrap().to_owned();
		bob.send(&format!("<message to='{from}' type='chat'><body>found you too</body></message>"));
	}
	let out = common::output_within(driver, common::CHILD_DEADLINE, "converse_chat.py --discover");
	let text = String::from_utf8_lossy(&out.stdout);
	assert!(out.status.success() && text.contains("PASSED"), "Converse.js: {text}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn xmpp_js_chats_over_websocket() {
	let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
	assert!(
		clients.join("node_modules/@xmpp/client").exists(),
		"xmpp.js is missing: run tests/run (it installs tests/clients/node_modules)"
	);
	let s = server_with_users(&["alice", "bob"], &[]);
	let port = https_port(&s);
	// XEP-0156: web clients find the endpoint.
	let meta = https(port, "GET /.well-known/host-meta HTTP/1.1\r\n\r\n");
	assert!(meta.contains(&format!("wss://{DOMAIN}:{port}/xmpp-websocket")), "{meta}");
	// An upgrade without the "xmpp" subprotocol is refused.
	let refused = https(
		port,
		"GET /xmpp-websocket HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	);
	assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");

	let mut bob = s.online("bob");
	let ca = s.dir.join("tls/ca.crt");
	let url = format!("wss://{DOMAIN}:{port}/xmpp-websocket");
	let node = Command::new("node")
		.arg(clients.join("ws_client.js"))
		.args(["--url", &url, "--domain", DOMAIN, "--user", "alice", "--password", PASSWORD])
		.args(["--peer", &Server::jid("bob"), "--ca", ca.to_str().unwrap(), "--address", "127.0.0.1"])
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.expect("node (tests/run installs nodejs)");
	// A message as big as a stanza may be, once logged in (before login a
	// WebSocket message may be no bigger than 16 KiB).
	bob.wait_for(|e| e.name() == "message" && e.child("body", "jabber:client").is_some_and(|b| b.text().len() == 100_000));
	let hello = bob
		.wait_for(|e| e.name() == "message" && e.child("body", "jabber:client").is_some_and(|b| b.text() == "hello from the browser side"));
	let from = hello.attr("from").unwrap().to_owned();
	// xmpp.js 0.14 binds with Bind2 (XEP-0386): its resource is a tag, to which the server adds randomness.
	assert!(from.starts_with(&format!("{}/web.", Server::jid("alice"))), "{from}");
	bob.send(&format!("<message to='{from}' type='chat'><body>hello web</body></message>"));
	let out = common::output_within(node, common::CHILD_DEADLINE, "node ws_client.js");
	let text = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success() && text.contains("PASSED"),
		"xmpp.js: {text}\n{}\n--- server\n{}",
		String::from_utf8_lossy(&out.stderr),
		s.log_text()
	);
}

/// Converse.js 14 (locked in tests/clients/package-lock.json) in Debian's
/// headless Chromium logs in over wss:// and chats with a TCP client
/// (tests/clients/converse_chat.py drives the browser over DevTools).
#[test]
fn converse_js_in_chromium_chats_over_websocket() {
	let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
	assert!(
		clients.join("node_modules/converse.js/dist").exists(),
		"Converse.js is missing: run tests/run (it installs tests/clients/node_modules)"
	);
	let s = server_with_users(&["alice", "bob"], &[]);
	let port = https_port(&s);
	let mut bob = s.online("bob");
	let url = format!("wss://{DOMAIN}:{port}/xmpp-websocket");
	let driver = Command::new("/usr/bin/python3")
		.arg(clients.join("converse_chat.py"))
		.args(["--ws", &url, "--jid", &Server::jid("alice"), "--password", PASSWORD, "--peer", &Server::jid("bob")])
		.args(["--say", "hello from converse", "--expect", "hello converse", "--timeout", "90"])
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.expect("python3 (tests/run installs it)");
	let hello = bob.wait_within(Duration::from_secs(60), |e| {
		e.name() == "message" && e.child("body", "jabber:client").is_some_and(|b| b.text() == "hello from converse")
	});
	let Some(hello) = hello else {
		let out = common::output_within(driver, common::CHILD_DEADLINE, "converse_chat.py");
		panic!(
			"Converse's message never came\n{}\n{}\n--- server\n{}",
			String::from_utf8_lossy(&out.stdout),
			String::from_utf8_lossy(&out.stderr),
			s.log_text()
		);
	};
	let from = hello.attr("from").unwrap().to_owned();
	assert!(from.starts_with(&format!("{}/", Server::jid("alice"))), "{from}");
	bob.send(&format!("<message to='{from}' type='chat'><body>hello converse</body></message>"));
	let out = common::output_within(driver, common::CHILD_DEADLINE, "converse_chat.py");
	let text = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success() && text.contains("PASSED"),
		"Converse.js: {text}\n{}\n--- server\n{}",
		String::from_utf8_lossy(&out.stderr),
		s.log_text()
	);
}
