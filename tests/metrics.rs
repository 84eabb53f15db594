//! OpenMetrics at /metrics: Debian's Prometheus scrapes a running server
//! and its query API sees the session count; the counters follow real
//! traffic; addresses outside loopback and `metrics_allow` get 403 (from a
//! network namespace of our own, where the box has a non-loopback address).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::client::tls_config;
use common::{Client, DOMAIN, Server, server_with_users};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};

/// A plain HTTP/1.1 GET; returns (status, headers and body as text).
fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> (u16, String) {
	try_get(addr, path, accept).unwrap_or_else(|e| panic!("GET {path} from {addr}: {e}"))
}

fn try_get(addr: SocketAddr, path: &str, accept: Option<&str>) -> std::io::Result<(u16, String)> {
	let mut s = TcpStream::connect(addr)?;
	s.set_read_timeout(Some(Duration::from_secs(20)))?;
	let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
	s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n{accept}Connection: close\r\n\r\n").as_bytes())?;
	let mut out = Vec::new();
	let _ = s.read_to_end(&mut out);
	let text = String::from_utf8_lossy(&out).into_owned();
	let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
	Ok((status, text))
}

fn http(server: &Server) -> SocketAddr {
	server.listeners.iter().find(|(k, _)| k == "http").map(|(_, a)| *a).expect("the web page listens")
}

/// The value of the sample `name` (with its labels, as written) in exposition text.
fn value(text: &str, name: &str) -> Option<f64> {
	text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Prometheus, stopped (and its storage removed) when dropped.
struct Prometheus {
	child: Child,
	dir: std::path::PathBuf,
	api: SocketAddr,
}

impl Drop for Prometheus {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		let _ = std::fs::remove_dir_all(&self.dir);
	}
}

impl Prometheus {
	fn start(target: SocketAddr, dir: &Path) -> Prometheus {
		let dir = dir.join("prometheus");
		std::fs::create_dir_all(&dir).unwrap();
		let config = format!(
			"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: xerra\n    scrape_interval: 1s\n    \
			 scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
		);
		std::fs::write(dir.join("prometheus.yml"), config).unwrap();
		let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
		let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
		let child = Command::new("prometheus")
			.arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
			.arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
			.arg(format!("--web.listen-address={api}"))
			.stdout(Stdio::null())
			.stderr(std::fs::File::create(dir.join("log")).unwrap())
			.spawn()
			.expect("prometheus (Debian package prometheus; tests/setup installs it)");
		Prometheus { child, dir, api }
	}

	fn log(&self) -> String {
		std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
	}

	/// The value of an instant query's first result, if any.
	fn query(&self, q: &str) -> Option<String> {
		// Not listening yet while it starts.
		let (status, text) = try_get(self.api, &format!("/api/v1/query?query={q}"), None).ok()?;
		if status != 200 {
			return None;
		}
		// {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1796..., "1"]}]}}
		let v = text.split("\"value\":[").nth(1)?;
		let v = v.split(',').nth(1)?;
		Some(v.trim_matches(|c| c == '"' || c == ']' || c == '}').to_owned())
	}

	/// Waits until `q` answers `want`.
	fn wait_for(&self, q: &str, want: &str) {
		let deadline = Instant::now() + Duration::from_secs(90);
		let mut last = None;
		while Instant::now() < deadline {
			last = self.query(q);
			if last.as_deref() == Some(want) {
				return;
			}
			std::thread::sleep(Duration::from_millis(300));
		}
		panic!("prometheus: {q} = {last:?}, not {want}\n{}", self.log());
	}
}

#[test]
fn prometheus_scrapes_the_session_count_while_a_client_is_connected() {
	let server = server_with_users(&["alice"], &[]);
	let prom = Prometheus::start(http(&server), &server.dir);
	// The target is up (each scrape parsed) and shows no session yet.
	prom.wait_for("up{job=\"xerra\"}", "1");
	prom.wait_for("xerra_sessions", "0");
	let alice = server.online("alice");
	prom.wait_for("xerra_sessions", "1");
	prom.wait_for("xerra_connections{kind=\"c2s\",tls=\"1.3\"}", "1");
	prom.wait_for("xerra_logins_total", "1");
	drop(alice);
	prom.wait_for("xerra_sessions", "0");
	// Prometheus asked for OpenMetrics, and got it (it says what it parsed).
	let (_, targets) = get(prom.api, "/api/v1/targets", None);
	assert!(targets.contains("\"health\":\"up\""), "{targets}");
}

#[test]
fn counters_follow_traffic_and_both_formats_are_served() {
	let server = server_with_users(&["alice", "bob"], &[]);
	let addr = http(&server);
	let mut alice = server.online("alice");
	let mut bob = server.online("bob");
	for i in 0..3 {
		alice.send(&format!("<message to='bob@{}' type='chat'><body>hi {i}</body></message>", common::DOMAIN));
		bob.wait_for(|s| s.name() == "message");
	}
	let mut wrong = Client::connect(server.port);
	wrong.open();
	wrong.starttls();
	wrong.open();
	assert_eq!(wrong.scram("alice", "wrong password", "SCRAM-SHA-256"), Err("not-authorized".into()));
	let (status, om) = get(addr, "/metrics", Some("application/openmetrics-text; version=1.0.0"));
	assert_eq!(status, 200, "{om}");
	assert!(om.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n"), "{om}");
	assert!(om.ends_with("# EOF\n"), "{om}");
	assert_eq!(value(&om, "xerra_sessions"), Some(2.0), "{om}");
	assert_eq!(value(&om, "xerra_logins_total"), Some(2.0));
	assert_eq!(value(&om, "xerra_login_failures_total"), Some(1.0));
	assert!(value(&om, "xerra_stanzas_in_total{kind=\"message\"}").unwrap() >= 3.0, "{om}");
	assert!(value(&om, "xerra_stanzas_out_total{kind=\"message\"}").unwrap() >= 3.0, "{om}");
	// Alice, Bob, and the connection that failed to log in (still open).
	assert_eq!(value(&om, "xerra_connections{kind=\"c2s\",tls=\"1.3\"}"), Some(3.0), "{om}");
	// Both sides archive the three messages (mam_default always).
	assert_eq!(value(&om, "xerra_archive_messages"), Some(6.0), "{om}");
	assert!(value(&om, "process_resident_memory_bytes").unwrap() > 1e6);
	assert!(value(&om, "process_open_fds").unwrap() >= 5.0);
	let deadline = Instant::now() + Duration::from_secs(10);
	let mut text = String::new();
	while Instant::now() < deadline {
		text = get(addr, "/metrics", None).1;
		if value(&text, "xerra_active_accounts{window=\"1d\"}").is_some() {
			break;
		}
		std::thread::sleep(Duration::from_millis(200));
	}
	assert!(text.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "{text}");
	assert!(!text.contains("# EOF"));
	assert!(value(&text, "xerra_database_bytes").unwrap() > 0.0, "{text}");
	assert_eq!(value(&text, "xerra_active_accounts{window=\"30d\"}"), Some(0.0), "logins are counted at the next 5-minute point");
	drop((alice, bob, wrong));
}

/// A WebSocket (RFC 7395) on the HTTPS port over TLS 1.2, upgraded and not logged in.
fn websocket(server: &Server) -> StreamOwned<ClientConnection, TcpStream> {
	let port = server.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an HTTPS listener");
	let config = tls_config(&[&rustls::version::TLS12], Some(b"http/1.1"));
	let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
	let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
	let mut tls = StreamOwned::new(conn, tcp);
	let req = "GET /xmpp-websocket HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
		Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n";
	tls.write_all(req.as_bytes()).unwrap();
	let mut head = Vec::new();
	let mut byte = [0u8; 1];
	while !head.ends_with(b"\r\n\r\n") {
		assert_eq!(tls.read(&mut byte).unwrap(), 1, "upgrade answered");
		head.push(byte[0]);
	}
	assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"));
	tls
}

#[test]
fn websocket_connections_are_counted_with_their_tls_version() {
	let server = Server::start(&[]);
	let ws = websocket(&server);
	let sample = "xerra_connections{kind=\"websocket\",tls=\"1.2\"}";
	let deadline = Instant::now() + Duration::from_secs(10);
	while value(&get(http(&server), "/metrics", None).1, sample) != Some(1.0) {
		assert!(Instant::now() < deadline, "{}", get(http(&server), "/metrics", None).1);
		std::thread::sleep(Duration::from_millis(100));
	}
	drop(ws);
	while value(&get(http(&server), "/metrics", None).1, sample) != Some(0.0) {
		assert!(Instant::now() < deadline, "the closed WebSocket is still counted");
		std::thread::sleep(Duration::from_millis(100));
	}
}

#[test]
fn statistics_off_means_no_metrics() {
	let server = Server::start(&["statistics=off"]);
	assert_eq!(get(http(&server), "/metrics", None).0, 404);
	let server = Server::start(&[]);
	let (status, _) = get(http(&server), "/metrics", None);
	assert_eq!(status, 200);
	let mut s = TcpStream::connect(http(&server)).unwrap();
	s.write_all(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").unwrap();
	let mut out = String::new();
	let _ = s.read_to_string(&mut out);
	assert!(out.starts_with("HTTP/1.1 405"), "{out}");
}

#[test]
fn other_addresses_get_403_unless_metrics_allow_lists_them() {
	// A network namespace of our own: the box listens on loopback and on
	// 10.78.0.1 (a veth pair); requests come from 10.78.0.2 (not allowed),
	// 10.78.0.200 (in metrics_allow's 10.78.0.128/25) and loopback.
	let dir = std::env::temp_dir().join(format!("xerra-metrics-ns-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).unwrap();
	let probe = dir.join("probe.py");
	std::fs::write(
		&probe,
		"import socket, sys\n\
		 src, dst = sys.argv[1], sys.argv[2]\n\
		 s = socket.create_connection((dst, 5280), timeout=10, source_address=(src, 0))\n\
		 s.sendall(b'GET /metrics HTTP/1.1\\r\\nHost: box\\r\\n\\r\\n')\n\
		 data = b''\n\
		 while True:\n\
		 \x20   chunk = s.recv(65536)\n\
		 \x20   if not chunk: break\n\
		 \x20   data += chunk\n\
		 print(src, '->', dst, data.split(b'\\r\\n')[0].decode(), 'sessions' if b'xerra_sessions' in data else '')\n",
	)
	.unwrap();
	let script = format!(
		"set -e; ip link set lo up; ip link add v0 type veth peer name v1; \
		 ip addr add 10.78.0.1/24 dev v0; ip addr add 10.78.0.2/24 dev v1; ip addr add 10.78.0.200/24 dev v1; \
		 ip link set v0 up; ip link set v1 up; \
		 {bin} --data-dir {d} run --set listen=10.78.0.1,127.0.0.1 --set c2s_port=0 --set c2s_tls_port=off --set http_port=5280 \
		 --set upload_port=off --set proxy_port=off --set component_port=off --set s2s_port=off \
		 --set metrics_allow=10.78.0.128/25 --domain {domain} >{d}/out 2>{d}/err & pid=$!; \
		 for i in $(seq 100); do grep -q '^ready' {d}/out && break; sleep 0.1; done; \
		 set +e; for src in 10.78.0.2 10.78.0.200; do /usr/bin/python3 {p} $src 10.78.0.1; done; \
		 /usr/bin/python3 {p} 127.0.0.1 127.0.0.1; kill $pid; wait $pid",
		bin = common::bin(),
		d = dir.display(),
		p = probe.display(),
		domain = common::DOMAIN,
	);
	let out = Command::new("unshare").args(["--net", "--", "sh", "-c", &script]).output().expect("unshare (util-linux)");
	let stdout = String::from_utf8_lossy(&out.stdout);
	let log = std::fs::read_to_string(dir.join("err")).unwrap_or_default();
	let said = format!("{stdout}\n{}\n{log}", String::from_utf8_lossy(&out.stderr));
	assert!(stdout.contains("10.78.0.2 -> 10.78.0.1 HTTP/1.1 403 Forbidden \n"), "{said}");
	assert!(stdout.contains("10.78.0.200 -> 10.78.0.1 HTTP/1.1 200 OK sessions"), "{said}");
	assert!(stdout.contains("127.0.0.1 -> 127.0.0.1 HTTP/1.1 200 OK sessions"), "{said}");
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn federation_links_and_connections_are_counted() {
	let free = || TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
	let (pa, pb) = (free(), free());
	let a = Server::start(&[&format!("s2s_port={pa}"), &format!("s2s_hosts=other.test=127.0.0.1:{pb}")]);
	let b = Server::start(&["domain=other.test", &format!("s2s_port={pb}"), &format!("s2s_hosts={DOMAIN}=127.0.0.1:{pa}")]);
	a.add_user("alice");
	b.add_user("romeo");
	let mut alice = a.online("alice");
	let mut romeo = Client::login_at(b.port, "other.test", "romeo", common::PASSWORD);
	romeo.send("<presence/>");
	let me = romeo.jid.clone();
	romeo.wait_for(|s| s.name() == "presence" && s.attr("from") == Some(me.as_str()));
	alice.send("<message to='romeo@other.test' type='chat'><body>hi</body></message>");
	romeo.wait_for(|e| e.name() == "message");
	romeo.send(&format!("<message to='{}' type='chat'><body>hi back</body></message>", alice.jid));
	alice.wait_for(|e| e.name() == "message");
	// Each server has its link out (dialled for its own message) and the
	// other's link in, both authenticated by dialback, over TLS 1.3.
	let deadline = Instant::now() + Duration::from_secs(10);
	for s in [&a, &b] {
		loop {
			let t = get(http(s), "/metrics", None).1;
			let ok = value(&t, "xerra_s2s_links") == Some(2.0)
				&& value(&t, "xerra_connections{kind=\"s2s_out\",tls=\"1.3\"}") >= Some(1.0)
				&& value(&t, "xerra_connections{kind=\"s2s_in\",tls=\"1.3\"}") >= Some(1.0)
				&& value(&t, "xerra_stanzas_out_total{kind=\"message\"}") >= Some(1.0);
			if ok {
				break;
			}
			assert!(Instant::now() < deadline, "{t}");
			std::thread::sleep(Duration::from_millis(100));
		}
	}
}

#[test]
fn stream_management_resumptions_are_counted() {
	const SM: &str = "urn:xmpp:sm:3";
	let server = server_with_users(&["alice"], &[]);
	let mut old = server.online("alice");
	old.send(&format!("<enable xmlns='{SM}' resume='true'/>"));
	let token = old.wait_for(|e| e.is("enabled", SM)).attr("id").unwrap().to_owned();
	let mut new = Client::connect(server.port);
	new.open();
	new.starttls();
	new.open();
	new.scram("alice", common::PASSWORD, "SCRAM-SHA-256").expect("authentication");
	new.open();
	let before = value(&get(http(&server), "/metrics", None).1, "xerra_sm_resumptions_total");
	assert_eq!(before, Some(0.0));
	new.send(&format!("<resume xmlns='{SM}' previd='{token}' h='0'/>"));
	new.wait_for(|e| e.is("resumed", SM));
	let t = get(http(&server), "/metrics", None).1;
	assert_eq!(value(&t, "xerra_sm_resumptions_total"), Some(1.0), "{t}");
	assert_eq!(value(&t, "xerra_sessions"), Some(1.0), "the same session");
}

#[test]
fn component_connections_are_counted() {
	let server = Server::start(&[]);
	let (ok, out) = server.cli(&["component", "add", "bot.example.test"], None);
	assert!(ok, "{out}");
	let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).expect("secret printed").trim().to_owned();
	let addr = server.listeners.iter().find(|(k, a)| k == "component" && a.is_ipv4()).map(|(_, a)| *a).expect("a component listener");
	let sample = "xerra_connections{kind=\"component\",tls=\"none\"}";
	assert_eq!(value(&get(http(&server), "/metrics", None).1, sample), Some(0.0));
	let bot = Client::component(addr, "bot.example.test", &secret).expect("handshake");
	assert_eq!(value(&get(http(&server), "/metrics", None).1, sample), Some(1.0));
	drop(bot);
	let deadline = Instant::now() + Duration::from_secs(10);
	while value(&get(http(&server), "/metrics", None).1, sample) != Some(0.0) {
		assert!(Instant::now() < deadline, "the closed component is still counted");
		std::thread::sleep(Duration::from_millis(100));
	}
}
