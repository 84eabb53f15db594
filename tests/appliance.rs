//! The appliance's first boot against the real binary: the web wizard driven
//! by headless Chromium, the serial wizard over a pty, the box's CA trusted
//! by a real client (slixmpp) with certificate checking on, the wizard's
//! limits, HTTP limits, and systemd readiness/watchdog notifications.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{CHILD_DEADLINE, Client, DOMAIN, bin, cli, run_within, wait_within};

const ADMIN_PASSWORD: &str = "a long admin password";

/// A `xerra run` process with its stdout lines collected.
struct Appliance {
	child: Child,
	dir: PathBuf,
	lines: Arc<Mutex<Vec<String>>>,
	log: Arc<Mutex<Vec<String>>>,
}

fn temp_dir(tag: &str) -> PathBuf {
	let d = std::env::temp_dir().join(format!("xerra-app-{tag}-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&d);
	std::fs::create_dir_all(&d).unwrap();
	d
}

impl Appliance {
	fn start(dir: &Path, settings: &[&str]) -> Appliance {
		Appliance::start_env(dir, settings, &[])
	}

	fn start_env(dir: &Path, settings: &[&str], env: &[(&str, &str)]) -> Appliance {
		let mut cmd = Command::new(bin());
		cmd.arg("--data-dir").arg(dir).arg("run");
		for s in [
			"listen=127.0.0.1",
			"c2s_port=0",
			"c2s_tls_port=off",
			"http_port=0",
			"upload_port=0",
			"s2s_port=off",
			"component_port=0",
			"proxy_port=0",
		]
		.iter()
		.chain(settings)
		{
			cmd.arg("--set").arg(s);
		}
		cmd.envs(env.iter().copied());
		let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
		let lines = Arc::new(Mutex::new(Vec::new()));
		let log = Arc::new(Mutex::new(Vec::new()));
		for (pipe, sink) in [
			(Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, lines.clone()),
			(Box::new(child.stderr.take().unwrap()), log.clone()),
		] {
			std::thread::spawn(move || {
				for l in BufReader::new(pipe).lines().map_while(Result::ok) {
					sink.lock().unwrap().push(l);
				}
			});
		}
		Appliance { child, dir: dir.to_owned(), lines, log }
	}

	/// The first stdout line starting with `prefix` (after trimming), without it.
	fn wait_line(&self, prefix: &str) -> String {
		let deadline = Instant::now() + Duration::from_secs(20);
		loop {
			if let Some(l) = self.lines.lock().unwrap().iter().find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned)) {
				return l.trim().to_owned();
			}
			assert!(
				Instant::now() < deadline,
				"no {prefix:?} line; stdout {:?}, log {:?}",
				self.lines.lock().unwrap(),
				self.log.lock().unwrap()
			);
			std::thread::sleep(Duration::from_millis(20));
		}
	}

	fn http(&self) -> SocketAddr {
		self.wait_line("listening http ").parse().unwrap()
	}

	fn code(&self) -> String {
		self.wait_line("Setup code: ")
	}

	fn c2s_port(&self) -> u16 {
		self.wait_line("listening c2s ").rsplit(':').next().unwrap().parse().unwrap()
	}

	fn kill9(mut self) -> PathBuf {
		let _ = self.child.kill();
		let _ = self.child.wait();
		std::mem::take(&mut self.dir)
	}
}

impl Drop for Appliance {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		if !self.dir.as_os_str().is_empty() {
			let _ = std::fs::remove_dir_all(&self.dir);
		}
	}
}

/// One HTTP/1.1 request; (status, body). The server closes after answering.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
	http_from("127.0.0.1", addr, method, path, body)
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

/// `http` from the address `from`.
fn http_from(from: &str, addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
	let mut s = tcp_from(from, addr);
	s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let req = format!(
		"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
		body.len()
	);
	s.write_all(req.as_bytes()).unwrap();
	let mut out = Vec::new();
	let _ = s.read_to_end(&mut out);
	parse_response(&out)
}

fn parse_response(raw: &[u8]) -> (u16, Vec<u8>) {
	let text = String::from_utf8_lossy(raw);
	let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
	let body = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| raw[i + 4..].to_vec()).unwrap_or_default();
	(status, body)
}

fn form(code: &str, people: &str) -> String {
	let enc = |s: &str| {
		s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect::<String>()
	};
	format!(
		"code={}&domain={DOMAIN}&admin=admin&password={}&password2={}&people={}",
		enc(code),
		enc(ADMIN_PASSWORD),
		enc(ADMIN_PASSWORD),
		enc(people)
	)
}

fn python(script: &str, args: &[&str]) -> (bool, String, String) {
	let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
	let out = run_within(Command::new("/usr/bin/python3").arg(&path).args(args), CHILD_DEADLINE, &path)
		.expect("run /usr/bin/python3 (tests/setup installs it)");
	(out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The value of `"key": "..."` in the wizard driver's JSON (flat strings only).
fn json_str(json: &str, key: &str) -> Option<String> {
	let start = json.find(&format!("\"{key}\": \""))? + key.len() + 5;
	Some(json[start..].split('"').next()?.to_owned())
}

fn sha256_colons(der: &[u8]) -> String {
	ring::digest::digest(&ring::digest::SHA256, der).as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[test]
fn chromium_completes_the_web_wizard_and_clients_trust_the_box_ca() {
	let dir = temp_dir("web");
	let banner_file = dir.join("xerra-setup.txt");
	let app = Appliance::start(&dir, &[&format!("banner_file={}", banner_file.display())]);
	let addr = app.http();
	let code = app.code();
	let banner_fp = app.wait_line("CA SHA-256: ");
	// The boot-partition file says what the console says.
	let banner = std::fs::read_to_string(&banner_file).unwrap();
	assert!(banner.contains(&code) && banner.contains(&banner_fp) && banner.contains(&format!("http://{addr}/")), "{banner}");
	assert_eq!(http(addr, "GET", "/health", "").1, b"setup\n");
	let url = format!("http://{addr}/");

	// A wrong code: the browser lands on the form again with the reason.
	let (ok, out, err) = python(
		"web_wizard.py",
		&["--url", &url, "--code", "WRONG-CODE", "--domain", DOMAIN, "--admin", "admin", "--password", ADMIN_PASSWORD, "--expect-error"],
	);
	assert!(ok, "{out}\n{err}");
	assert!(json_str(&out, "error").is_some_and(|e| e.contains("setup code")), "{out}");

	// The right one, with two people in one department.
	let (ok, out, err) = python(
		"web_wizard.py",
		&[
			"--url",
			&url,
			"--code",
			&code.to_lowercase(),
			"--domain",
			DOMAIN,
			"--admin",
			"admin",
			"--password",
			ADMIN_PASSWORD,
			"--people",
			"Anna Berg, Sales\\nJoan Puig, Sales",
		],
	);
	assert!(ok, "{out}\n{err}");
	assert_eq!(json_str(&out, "status").as_deref(), Some("done"), "{out}");
	// The fingerprint on the page, on the console, and of the file served agree.
	let (status, der) = http(addr, "GET", "/ca.crt", "");
	assert_eq!(status, 200);
	assert_eq!(json_str(&out, "fingerprint").unwrap(), banner_fp);
	assert_eq!(sha256_colons(&der), banner_fp);
	assert!(
		out.contains(&format!("\"jid\": \"anna.berg@{DOMAIN}\"")) && out.contains(&format!("\"jid\": \"joan.puig@{DOMAIN}\"")),
		"{out}"
	);
	let anna_pw = out.split("\"password\": \"").nth(1).unwrap().split('"').next().unwrap().to_owned();

	// XMPP starts in the same process; setup is closed for good.
	assert_eq!(app.wait_line("ready domain="), format!("{DOMAIN} data={}", dir.display()));
	let port = app.c2s_port();
	let mut anna = Client::login(port, "anna.berg", &anna_pw);
	// The department made a group: Joan is already Anna's contact.
	let roster = anna.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>").to_xml("jabber:client");
	assert!(roster.contains(&format!("jid='joan.puig@{DOMAIN}'")) || roster.contains(&format!("jid=\"joan.puig@{DOMAIN}\"")), "{roster}");
	assert!(roster.contains("both") && roster.contains("<group>Sales</group>"), "{roster}");
	Client::login(port, "admin", ADMIN_PASSWORD);
	// People's apps show the admin as whom to ask (XEP-0157), at once and
	// after the restart below.
	let contact = |c: &mut Client| {
		c.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).to_xml("jabber:client")
	};
	let info = contact(&mut anna);
	assert!(info.contains("admin-addresses") && info.contains(&format!("xmpp:admin@{DOMAIN}")), "{info}");
	assert_eq!(http(addr, "GET", "/setup", "").0, 404);
	assert_eq!(http(addr, "POST", "/setup", &form(&code, "")).0, 404);
	assert_eq!(http(addr, "GET", "/health", "").1, b"ok\n");
	assert_eq!(http(addr, "GET", "/", "").0, 200);
	// The used code is gone from the boot-partition file.
	let banner = std::fs::read_to_string(&banner_file).unwrap();
	assert!(banner.contains("set up") && !banner.contains(&code), "{banner}");

	// slixmpp trusting only the downloaded CA, certificate checking on.
	let (_, pem) = http(addr, "GET", "/ca.pem", "");
	let ca_file = dir.join("downloaded-ca.pem");
	std::fs::write(&ca_file, &pem).unwrap();
	let port_s = port.to_string();
	let ca = ca_file.to_str().unwrap();
	let admin_jid = format!("admin@{DOMAIN}");
	let anna_jid = format!("anna.berg@{DOMAIN}");
	let login = ["--port", &port_s, "--jid", &admin_jid, "--password", ADMIN_PASSWORD];
	let (ok, out, err) = python("ca_login.py", &[&login[..], &["--ca", ca, "--peer-jid", &anna_jid, "--peer-password", &anna_pw]].concat());
	assert!(ok, "{out}\n{err}");
	// Another box's CA: the TLS handshake must fail on the certificate.
	let other_dir = dir.join("other-ca");
	let other = xerra::net::ca::Ca::ensure(&other_dir).unwrap();
	let wrong = dir.join("wrong-ca.pem");
	std::fs::write(&wrong, &other.cert_pem).unwrap();
	let (ok, out, err) = python("ca_login.py", &[&login[..], &["--ca", wrong.to_str().unwrap(), "--expect-fail"]].concat());
	assert!(ok, "{out}\n{err}");

	// kill -9 and restart: still set up, same CA, straight to XMPP.
	let dir = app.kill9();
	let app = Appliance::start(&dir, &[]);
	app.wait_line("ready domain=");
	assert!(!app.lines.lock().unwrap().iter().any(|l| l.contains("Setup code")));
	let mut anna = Client::login(app.c2s_port(), "anna.berg", &anna_pw);
	assert_eq!(anna.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
	assert!(contact(&mut anna).contains("support-addresses"));
	assert_eq!(sha256_colons(&http(app.http(), "GET", "/ca.crt", "").1), banner_fp);
}

fn hex(digest: &[u8], upper: bool, sep: &str) -> String {
	digest.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect::<Vec<_>>().join(sep)
}

/// The text of the element with `id` on `page` (markup such as `<br>` removed).
fn by_id(page: &str, id: &str) -> String {
	let start = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} on the page:\n{page}"));
	let inner = &page[start..];
	let inner = &inner[inner.find('>').unwrap() + 1..];
	let end = inner.find("</code>").unwrap();
	inner[..end].replace("<br>", "\n")
}

/// The page a configured box shows: the fingerprints each app displays when
/// it asks about the certificate, computed here from the certificates the
/// server really sends, written as each app writes them; and the ports the
/// server really listens on.
#[test]
fn the_page_shows_each_apps_fingerprint_and_the_real_ports() {
	use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY as SHA1, SHA256, digest};
	let dir = temp_dir("page");
	let app = Appliance::start(&dir, &[&format!("domain={DOMAIN}"), "c2s_tls_port=0"]);
	app.wait_line("ready domain=");
	let (c2s, tls) = (app.c2s_port(), app.wait_line("listening c2s_tls ").rsplit(':').next().unwrap().parse::<u16>().unwrap());
	let (status, page) = http(app.http(), "GET", "/", "");
	assert_eq!(status, 200);
	let page = String::from_utf8(page).unwrap();
	// The server certificate as a client gets it, and the CA's.
	let mut c = Client::connect(c2s);
	c.open();
	c.starttls();
	let leaf = c.peer_cert();
	let ca = http(app.http(), "GET", "/ca.crt", "").1;
	let (leaf256, ca1, ca256) = (digest(&SHA256, &leaf), digest(&SHA1, &ca), digest(&SHA256, &ca));
	// Gajim 1.7: the server certificate's SHA-256, upper case with colons, 8 bytes a line.
	let gajim = leaf256.as_ref().chunks(8).map(|l| hex(l, true, ":")).collect::<Vec<_>>().join("\n");
	assert_eq!(by_id(&page, "fp-gajim"), gajim);
	// Conversations: the server certificate's SHA-256, lower case with colons.
	assert_eq!(by_id(&page, "fp-conversations"), hex(leaf256.as_ref(), false, ":"));
	// Profanity 0.13: the SHA-1 of the certificate that failed, the CA (it is in the chain), plain lower-case hex.
	assert_eq!(by_id(&page, "fp-profanity"), hex(ca1.as_ref(), false, ""));
	// The console banner's CA SHA-256 stays.
	assert_eq!(by_id(&page, "ca-fingerprint"), hex(ca256.as_ref(), true, ":"));
	for name in ["Server certificate SHA-256 (Gajim)", "Server certificate SHA-256 (Conversations)", "CA SHA-1 (Profanity)"] {
		assert!(page.contains(name), "{name:?} is not on the page:\n{page}");
	}
	// The ports it listens on, not the defaults.
	assert_eq!(by_id(&page, "port-c2s"), c2s.to_string());
	assert_eq!(by_id(&page, "port-c2s-tls"), tls.to_string());
	assert!(!page.contains("port 5222"), "{page}");
}

#[test]
fn setup_code_attempts_are_limited_and_only_one_submission_wins() {
	let dir = temp_dir("limits");
	let app = Appliance::start(&dir, &["setup_code_failures=2", "setup_lockout=60"]);
	let addr = app.http();
	let code = app.code();
	// Validation errors name the problem and do not use up code attempts.
	let bad = form(&code, "").replace("password2=", "password2=x");
	let (status, body) = http(addr, "POST", "/setup", &bad);
	assert_eq!(status, 400);
	assert!(String::from_utf8_lossy(&body).contains("passwords differ"));
	assert!(!String::from_utf8_lossy(&body).contains(&ADMIN_PASSWORD.replace(' ', "+")), "passwords are not echoed back");
	assert_eq!(http(addr, "POST", "/setup", &form("AAAA-AAAA", "")).0, 403);
	assert_eq!(http(addr, "POST", "/setup", &form("BBBB-BBBB", "")).0, 403);
	// Locked now: even the right code waits for setup_lockout.
	assert_eq!(http(addr, "POST", "/setup", &form(&code, "")).0, 429);
	drop(app);

	// Two submissions at once (two browsers): exactly one sets the box up.
	let dir = temp_dir("race");
	let app = Appliance::start(&dir, &[]);
	let (addr, code) = (app.http(), app.code());
	let handles: Vec<_> = ["First Person", "Second Person"]
		.into_iter()
		.map(|who| {
			let body = form(&code, who);
			std::thread::spawn(move || http(addr, "POST", "/setup", &body))
		})
		.collect();
	let mut statuses: Vec<(u16, String)> =
		handles.into_iter().map(|h| h.join().unwrap()).map(|(s, b)| (s, String::from_utf8_lossy(&b).into_owned())).collect();
	statuses.sort();
	assert_eq!(statuses[0].0, 200, "{statuses:?}");
	assert!(statuses[1].0 == 409 || statuses[1].0 == 404, "{statuses:?}");
	app.wait_line("ready domain=");
	let (ok, users) = cli(&dir, &["user", "list"], None);
	assert!(ok && users.lines().count() == 2, "admin and the winner's person only: {users}");
}

/// Issue 12: the names the wizard was given are the accounts' vCard names,
/// and department contacts carry them in rosters (Dino and Converse showed
/// bare addresses).
#[test]
fn department_contacts_are_named_as_the_wizard_was_told() {
	let dir = temp_dir("names");
	let app = Appliance::start(&dir, &[]);
	let (addr, code) = (app.http(), app.code());
	let (status, body) = http(addr, "POST", "/setup", &form(&code, "Anna Berg, Sales\nJoan Puig, Sales\nÀlex Vidal"));
	assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
	app.wait_line("ready domain=");
	let (ok, out) = cli(&dir, &["user", "passwd", "anna.berg", "--password-stdin"], Some("anna's own words\n"));
	assert!(ok, "{out}");
	let mut anna = Client::login(app.c2s_port(), "anna.berg", "anna's own words");
	let r = anna.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	let items: Vec<(String, Option<String>)> = r
		.child("query", "jabber:iq:roster")
		.unwrap()
		.children()
		.map(|i| (i.attr("jid").unwrap().to_owned(), i.attr("name").map(str::to_owned)))
		.collect();
	assert_eq!(items, [(format!("joan.puig@{DOMAIN}"), Some("Joan Puig".to_owned()))]);
	let card = anna.iq(&format!("<iq type='get' to='àlex.vidal@{DOMAIN}'><vCard xmlns='vcard-temp'/></iq>"));
	let fn_ = card.child("vCard", "vcard-temp").and_then(|v| v.child("FN", "vcard-temp")).map(|f| f.text());
	assert_eq!(fn_.as_deref(), Some("Àlex Vidal"), "{}", card.to_xml("jabber:client"));
}

#[test]
fn web_requests_beyond_the_named_limits_are_refused() {
	let dir = temp_dir("http");
	let app = Appliance::start(&dir, &["http_max_request_bytes=2048", "http_timeout=1", "http_max_connections=2"]);
	let addr = app.http();
	let send = |raw: &[u8]| {
		let mut s = TcpStream::connect(addr).unwrap();
		s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
		let _ = s.write_all(raw);
		let mut out = Vec::new();
		let _ = s.read_to_end(&mut out);
		parse_response(&out).0
	};
	let long_header = format!("GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n", "a".repeat(3000));
	assert_eq!(send(long_header.as_bytes()), 431);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"), 413);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
	assert_eq!(send(b"\x16\x03\x01 not http\r\n\r\n"), 400);
	assert_eq!(send(b"DELETE /ca.pem HTTP/1.1\r\n\r\n"), 405);
	assert_eq!(send(b"GET /nothing HTTP/1.1\r\n\r\n"), 404);
	// A client that never finishes its request gets 408 after http_timeout.
	let t = Instant::now();
	assert_eq!(send(b"GET / HTTP/1.1\r\n"), 408);
	assert!(t.elapsed() < Duration::from_secs(5));
	// Two idle connections use up http_max_connections; the third gets 503.
	let _a = TcpStream::connect(addr).unwrap();
	let _b = TcpStream::connect(addr).unwrap();
	std::thread::sleep(Duration::from_millis(200));
	assert_eq!(send(b"GET /health HTTP/1.1\r\n\r\n"), 503);
	// Once they time out, the page answers again.
	std::thread::sleep(Duration::from_millis(1500));
	assert_eq!(send(b"GET /health HTTP/1.1\r\n\r\n"), 200);
}

/// Issue 11: httparse takes bare LF line endings, and a second or odd
/// Content-Length was read as the last one; a proxy in front could frame
/// such a request differently from us (request smuggling).
#[test]
fn web_requests_framed_two_ways_are_refused() {
	let dir = temp_dir("framing");
	let app = Appliance::start(&dir, &[]);
	let addr = app.http();
	let send = |raw: &[u8]| {
		let mut s = TcpStream::connect(addr).unwrap();
		s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
		let _ = s.write_all(raw);
		let mut out = Vec::new();
		let _ = s.read_to_end(&mut out);
		parse_response(&out).0
	};
	assert_eq!(send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
	assert_eq!(send(b"GET /health HTTP/1.1\nHost: x\n\n"), 400);
	assert_eq!(send(b"GET /health HTTP/1.1\r\nHost: x\n\r\n"), 400);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\na=b"), 400);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 3\r\n\r\na=b"), 400);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\na=b"), 400);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nContent-Length: +3\r\n\r\na=b"), 400);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
	assert_eq!(send(b"POST /setup HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\na=b"), 400);
}

/// Issue 11: the web page had a global connection limit only, so one host
/// could keep it answering 503 to everyone.
#[test]
fn each_address_gets_its_share_of_the_web_page() {
	let dir = temp_dir("share");
	let app = Appliance::start(&dir, &["http_max_connections_per_ip=2", "http_timeout=60"]);
	let addr = app.http();
	let _a = tcp_from("127.0.0.2", addr);
	let _b = tcp_from("127.0.0.2", addr);
	std::thread::sleep(Duration::from_millis(200));
	assert_eq!(http_from("127.0.0.2", addr, "GET", "/health", "").0, 503);
	assert_eq!(http_from("127.0.0.1", addr, "GET", "/health", "").0, 200);
}

/// Issue 11: the setup-code lockout was global, so any host on the LAN
/// could keep the wizard refusing even the right code. Now each address
/// (IPv6: /64) is locked out on its own; see `setup::Gate` for the global
/// brake that cannot lock anyone out.
#[test]
fn wrong_setup_codes_lock_out_their_own_address_only() {
	let dir = temp_dir("lockout");
	let app = Appliance::start(&dir, &["setup_code_failures=2", "setup_lockout=600"]);
	let (addr, code) = (app.http(), app.code());
	assert_eq!(http_from("127.0.0.2", addr, "POST", "/setup", &form("AAAA-AAAA", "")).0, 403);
	assert_eq!(http_from("127.0.0.2", addr, "POST", "/setup", &form("BBBB-BBBB", "")).0, 403);
	assert_eq!(http_from("127.0.0.2", addr, "POST", "/setup", &form(&code, "")).0, 429, "the guesser is locked out");
	// The global brake: wrong codes from many addresses at once are
	// answered one per second, whatever the number of addresses.
	let t = Instant::now();
	let guessers: Vec<_> = (3..6)
		.map(|i| std::thread::spawn(move || http_from(&format!("127.0.0.{i}"), addr, "POST", "/setup", &form("CCCC-CCCC", "")).0))
		.collect();
	assert!(guessers.into_iter().all(|g| g.join().unwrap() == 403));
	assert!(t.elapsed() >= Duration::from_secs(2), "three wrong codes answered in {:?}", t.elapsed());
	// The right code is not held back by them.
	let (status, body) = http_from("127.0.0.1", addr, "POST", "/setup", &form(&code, ""));
	assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
	app.wait_line("ready domain=");
}

/// A pty whose master side a thread reads into a transcript.
struct Pty {
	master: std::fs::File,
	_slave: std::os::fd::OwnedFd,
	path: PathBuf,
	seen: Arc<Mutex<Vec<u8>>>,
	pos: usize,
}

impl Pty {
	fn open() -> Pty {
		let p = nix::pty::openpty(None, None).unwrap();
		let path = nix::unistd::ttyname(&p.slave).unwrap();
		let master = std::fs::File::from(p.master);
		let seen = Arc::new(Mutex::new(Vec::new()));
		let (mut reader, sink) = (master.try_clone().unwrap(), seen.clone());
		std::thread::spawn(move || {
			let mut b = [0u8; 1024];
			while let Ok(n) = reader.read(&mut b) {
				if n == 0 {
					break;
				}
				sink.lock().unwrap().extend_from_slice(&b[..n]);
			}
		});
		Pty { master, _slave: p.slave, path, seen, pos: 0 }
	}

	/// Waits for `text` after what was already matched; returns what came before it.
	fn expect(&mut self, text: &str) -> String {
		let deadline = Instant::now() + Duration::from_secs(20);
		loop {
			let seen = self.seen.lock().unwrap();
			let rest = String::from_utf8_lossy(&seen[self.pos..]).into_owned();
			if let Some(i) = rest.find(text) {
				self.pos += rest[..i + text.len()].len();
				return rest[..i].to_owned();
			}
			drop(seen);
			assert!(Instant::now() < deadline, "no {text:?} on the console; got {rest:?}");
			std::thread::sleep(Duration::from_millis(20));
		}
	}

	fn send(&mut self, s: &str) {
		self.master.write_all(s.as_bytes()).unwrap();
	}

	fn transcript(&self) -> String {
		String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
	}
}

/// Answers the serial wizard's first question with "restore", then names
/// the backup file and gives `secret` (the key or passphrase).
fn answer_restore(pty: &mut Pty, file: &Path, secret: &str) {
	pty.expect("Chat domain [xerra.local]: ");
	pty.send("restore\r");
	pty.expect("Backup file");
	pty.send(&format!("{}\r", file.display()));
	pty.expect("not shown): ");
	pty.send(&format!("{secret}\r"));
}

fn serial_setup(dir: &Path, pty: &Pty) -> Child {
	serial_command(dir, pty).spawn().unwrap()
}

fn serial_command(dir: &Path, pty: &Pty) -> Command {
	let mut cmd = Command::new(bin());
	cmd.arg("--data-dir").arg(dir).args(["setup", "--serial"]).arg(&pty.path);
	cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
	cmd
}

/// The console wizard as a shell's background job starts it (and as
/// `nohup` would): with SIGINT and SIGHUP ignored.
fn serial_setup_ignoring_signals(dir: &Path, pty: &Pty) -> Child {
	use std::os::unix::process::CommandExt as _;
	let mut cmd = serial_command(dir, pty);
	// SAFETY: only sigaction, which is async-signal-safe, between fork and exec.
	unsafe {
		cmd.pre_exec(|| {
			use nix::sys::signal::{SigHandler, Signal, signal};
			for s in [Signal::SIGINT, Signal::SIGHUP] {
				signal(s, SigHandler::SigIgn).map_err(std::io::Error::from)?;
			}
			Ok(())
		});
	}
	cmd.spawn().unwrap()
}

/// The wizard's exit status, within a minute.
fn wizard_status(child: &mut Child) -> std::process::ExitStatus {
	wait_within(child, Duration::from_secs(60), "the console wizard")
}

#[test]
fn serial_wizard_over_a_pty_sets_up_the_running_server() {
	let dir = temp_dir("serial");
	let app = Appliance::start(&dir, &[]);
	let code = app.code();
	let mut pty = Pty::open();
	let mut child = serial_setup(&dir, &pty);
	// The console shows the same banner as the boot partition file.
	pty.expect(&format!("Setup code: {code}"));
	pty.expect("Press Enter");
	pty.send("\r");
	pty.expect("Chat domain [xerra.local]: ");
	pty.send("not a domain!\r");
	pty.expect("Not a valid domain");
	pty.expect("Chat domain [xerra.local]: ");
	pty.send(&format!("{DOMAIN}\r"));
	pty.expect("Admin user name [admin]: ");
	pty.send("\r");
	pty.expect("not shown): ");
	pty.send(&format!("{ADMIN_PASSWORD}\r"));
	pty.expect("Again: ");
	pty.send(&format!("{ADMIN_PASSWORD}\r"));
	pty.expect("> ");
	pty.send("Anna Berg, Sales\r");
	pty.expect("> ");
	pty.send("\r");
	let summary = pty.expect("Apply? [Y/n]: ");
	assert!(summary.contains(&format!("admin@{DOMAIN}")) && summary.contains("People:  1"), "{summary}");
	pty.send("\r");
	pty.expect(&format!("Xerra is set up for {DOMAIN}."));
	let line = pty.expect(" [Sales]");
	let anna_pw = line.rsplit("password ").next().unwrap().trim().to_owned();
	assert!(wizard_status(&mut child).success());
	assert!(!pty.transcript().contains(ADMIN_PASSWORD), "the password was echoed: {}", pty.transcript());
	// The running server started XMPP with the new accounts.
	app.wait_line("ready domain=");
	let port = app.c2s_port();
	Client::login(port, "admin", ADMIN_PASSWORD);
	Client::login(port, "anna.berg", &anna_pw);
	// A second run of the console wizard finds the box set up.
	let mut pty2 = Pty::open();
	let mut again = serial_setup(&dir, &pty2);
	pty2.expect("already set up");
	assert!(wizard_status(&mut again).success());
}

#[test]
fn ctrl_c_in_the_serial_wizard_writes_nothing() {
	let dir = temp_dir("ctrlc");
	let mut pty = Pty::open();
	// No server running: the wizard would write to the database itself.
	// Started as a background job is (SIGINT ignored), Ctrl-C must still quit.
	let mut child = serial_setup_ignoring_signals(&dir, &pty);
	pty.expect("Press Enter");
	pty.send("\r");
	pty.expect("Chat domain [xerra.local]: ");
	pty.send(&format!("{DOMAIN}\r"));
	pty.expect("Admin user name [admin]: ");
	pty.send("\x03");
	let status = wizard_status(&mut child);
	assert!(!status.success());
	let (ok, out) = cli(&dir, &["config", "list"], None);
	assert!(ok && out.contains("domain = \n"), "{out}");
	let (ok, out) = cli(&dir, &["user", "list"], None);
	assert!(ok && out.trim().is_empty(), "{out}");
	// The box still starts in setup mode.
	let app = Appliance::start(&dir, &[]);
	app.code();
}

#[test]
fn a_hangup_in_the_serial_wizard_writes_nothing() {
	let dir = temp_dir("hangup");
	let mut pty = Pty::open();
	let mut child = serial_setup_ignoring_signals(&dir, &pty);
	pty.expect("Press Enter");
	pty.send("\r");
	pty.expect("Chat domain [xerra.local]: ");
	pty.send(&format!("{DOMAIN}\r"));
	pty.expect("Admin user name [admin]: ");
	// What the kernel sends the line's session leader when the line drops.
	nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGHUP).unwrap();
	assert!(!wizard_status(&mut child).success());
	let (ok, out) = cli(&dir, &["config", "list"], None);
	assert!(ok && out.contains("domain = \n"), "{out}");
	let (ok, out) = cli(&dir, &["user", "list"], None);
	assert!(ok && out.trim().is_empty(), "{out}");
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn systemd_gets_ready_watchdog_and_stopping() {
	use std::os::unix::net::UnixDatagram;
	let dir = temp_dir("notify");
	let sock_path = dir.join("notify.sock");
	let sock = UnixDatagram::bind(&sock_path).unwrap();
	sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let env = [("NOTIFY_SOCKET", sock_path.to_str().unwrap()), ("WATCHDOG_USEC", "200000")];
	let app = Appliance::start_env(&dir, &[&format!("domain={DOMAIN}")], &env);
	let mut got = Vec::new();
	let next = || {
		let mut b = [0u8; 512];
		let n = sock.recv(&mut b).expect("a notification");
		String::from_utf8_lossy(&b[..n]).into_owned()
	};
	while !got.iter().any(|m: &String| m.contains("READY=1")) {
		got.push(next());
	}
	assert!(got.iter().any(|m| m.contains(&format!("STATUS=serving {DOMAIN}"))), "{got:?}");
	// Pings at half of WATCHDOG_USEC.
	let t = Instant::now();
	let mut pings = 0;
	while pings < 3 {
		if next().contains("WATCHDOG=1") {
			pings += 1;
		}
	}
	assert!(t.elapsed() < Duration::from_secs(2), "3 pings took {:?}", t.elapsed());
	nix::sys::signal::kill(nix::unistd::Pid::from_raw(app.child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
	while !next().contains("STOPPING=1") {}
}

#[test]
fn mdns_announces_the_box_inside_a_private_network_namespace() {
	// A namespace of our own with a veth pair, so multicast never leaves
	// this machine: the box listens on one end, the browser uses the other.
	let dir = temp_dir("mdns");
	let browse = format!("{}/tests/clients/mdns_browse.py", env!("CARGO_MANIFEST_DIR"));
	let script = format!(
		"set -e; ip link set lo up; ip link add v0 type veth peer name v1; \
		 ip addr add 10.77.0.1/24 dev v0; ip addr add 10.77.0.2/24 dev v1; ip link set v0 up; ip link set v1 up; \
		 {bin} --data-dir {d} run --set listen=10.77.0.1 --set c2s_port=5222 --set c2s_tls_port=off --set http_port=5280 \
		 --set mdns=on --set hostname=boxtest --domain {DOMAIN} >{d}/out 2>{d}/err & pid=$!; \
		 for i in $(seq 100); do grep -q '^ready' {d}/out && break; sleep 0.1; done; \
		 set +e; /usr/bin/python3 {browse} --bind 10.77.0.2 --timeout 15; rc=$?; kill $pid; wait $pid; exit $rc",
		bin = bin(),
		d = dir.display(),
	);
	let out = run_within(Command::new("unshare").args(["--net", "--", "sh", "-c", &script]), CHILD_DEADLINE, "unshare: the mDNS browse")
		.expect("unshare (util-linux)");
	let stdout = String::from_utf8_lossy(&out.stdout);
	let log = std::fs::read_to_string(dir.join("err")).unwrap_or_default();
	assert!(out.status.success(), "{stdout}\n{}\n{log}", String::from_utf8_lossy(&out.stderr));
	assert!(stdout.contains("\"server\": \"boxtest.local.\""), "{stdout}");
	assert!(
		stdout.contains(&format!("\"name\": \"{DOMAIN}._xmpp-client._tcp.local.\", \"server\": \"boxtest.local.\", \"port\": 5222")),
		"{stdout}"
	);
	assert!(stdout.contains("\"port\": 5280") && stdout.contains("10.77.0."), "{stdout}");
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_power_cut_during_setup_leaves_nothing_or_everything() {
	// kill -9 at different moments of a submission: afterwards the box is
	// either unconfigured with no accounts, or configured with all of them.
	let (mut none, mut all) = (0, 0);
	for (i, delay_ms) in [0u64, 2, 5, 10, 20, 40, 80, 160].into_iter().enumerate() {
		let dir = temp_dir(&format!("cut{i}"));
		let app = Appliance::start(&dir, &[]);
		let (addr, code) = (app.http(), app.code());
		let body = form(&code, "Anna Berg, Sales\nJoan Puig\nMarta Soler, Sales");
		let post = std::thread::spawn(move || {
			// The kill may come before the connection does.
			let Ok(mut s) = TcpStream::connect(addr) else { return };
			let _ = s.write_all(
				format!(
					"POST /setup HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
					body.len()
				)
				.as_bytes(),
			);
			let mut out = Vec::new();
			let _ = s.read_to_end(&mut out);
		});
		std::thread::sleep(Duration::from_millis(delay_ms));
		let dir = app.kill9();
		post.join().unwrap();
		let (_, config) = cli(&dir, &["config", "list"], None);
		let (_, users) = cli(&dir, &["user", "list"], None);
		let users = users.lines().filter(|l| l.contains('@')).count();
		if config.contains("domain = \n") {
			assert_eq!(users, 0, "unconfigured but with accounts: {config}");
			none += 1;
		} else {
			assert!(config.contains(&format!("domain = {DOMAIN}\n")), "{config}");
			assert_eq!(users, 4, "configured but accounts missing");
			all += 1;
		}
		let _ = std::fs::remove_dir_all(&dir);
	}
	// Both outcomes happened, so the kill really fell on both sides of the commit.
	assert!(none > 0 && all > 0, "unconfigured {none} times, configured {all} times");
}

#[test]
fn the_console_wizard_steps_aside_when_the_web_page_sets_the_box_up() {
	let dir = temp_dir("aside");
	let app = Appliance::start(&dir, &[]);
	let (addr, code) = (app.http(), app.code());
	let mut pty = Pty::open();
	let mut child = serial_setup(&dir, &pty);
	pty.expect("Press Enter");
	assert_eq!(http(addr, "POST", "/setup", &form(&code, "")).0, 200);
	pty.expect("set up from the web page");
	assert!(wizard_status(&mut child).success());
}

/// "Restore from a backup" on the serial wizard (issue 14): a wrong key is
/// a clear error that leaves the box in the wizard; the right one brings it
/// back as the old box (domain, accounts, the same CA): slixmpp trusting only
/// the OLD box's CA logs in with an old password.
#[test]
fn serial_wizard_restores_a_backup_and_clients_trust_the_old_ca() {
	let file = std::env::temp_dir().join(format!("xerra-app-restore-{}.xerra-backup", std::process::id()));
	let (key, wrong, old_ca) = old_box_backup("restore-old", &file);
	let dir = temp_dir("restore-new");
	let app = Appliance::start(&dir, &[]);
	app.code();
	// A wrong key: said clearly, nothing changed, still waiting for setup.
	let mut pty = Pty::open();
	let mut child = serial_setup(&dir, &pty);
	pty.expect("Press Enter");
	pty.send("\r");
	pty.expect("answer restore.");
	answer_restore(&mut pty, &file, &wrong);
	pty.expect("does not open this backup");
	pty.expect("Nothing was changed");
	assert!(!wizard_status(&mut child).success());
	assert!(!dir.join("xerra.redb").exists() || app.wait_line("Setup code: ").len() > 4);
	let (ok, banner) = cli(&dir, &["status"], None);
	assert!(ok && banner.contains("not set up yet"), "still in the wizard: {banner}");
	let mut pty = Pty::open();
	let mut child = serial_setup(&dir, &pty);
	pty.expect("Setup code: ");
	pty.expect("Press Enter");
	pty.send("\r");
	answer_restore(&mut pty, &file, &key);
	pty.expect(&format!("Restored the backup of {DOMAIN}"));
	assert!(wizard_status(&mut child).success());
	assert!(!pty.transcript().contains(&key), "the key was echoed");
	// The same process starts again on the restored data and serves XMPP.
	app.wait_line(&format!("ready domain={DOMAIN}"));
	assert_eq!(xerra::net::ca::Ca::ensure(&dir.join("tls")).unwrap().cert_pem, old_ca, "the old CA");
	old_ca_login(&app, &old_ca, "restore");
	let _ = std::fs::remove_file(&file);
}

/// `anna` logs in to the restored box with slixmpp trusting only the old
/// box's CA (`old_ca`, PEM): clients reconnect without noticing.
fn old_ca_login(app: &Appliance, old_ca: &str, tag: &str) {
	let ca_file = std::env::temp_dir().join(format!("xerra-app-{tag}-{}-old-ca.pem", std::process::id()));
	std::fs::write(&ca_file, old_ca).unwrap();
	let port = app.c2s_port().to_string();
	let jid = format!("anna@{DOMAIN}");
	let (ok, out, err) =
		python("ca_login.py", &["--port", &port, "--ca", ca_file.to_str().unwrap(), "--jid", &jid, "--password", ADMIN_PASSWORD]);
	let _ = std::fs::remove_file(&ca_file);
	assert!(ok, "{out}\n{err}");
}

/// The old box of a restore test: set up with `anna` (ADMIN_PASSWORD), run
/// once (it makes its CA), a backup to its recovery key in `file`. Returns
/// (the key, another box's key, the old CA's PEM).
fn old_box_backup(tag: &str, file: &Path) -> (String, String, String) {
	let old = temp_dir(tag);
	assert!(cli(&old, &["config", "set", "domain", DOMAIN], None).0);
	let (ok, out) = cli(&old, &["user", "add", "anna", "--password-stdin"], Some(ADMIN_PASSWORD));
	assert!(ok, "{out}");
	let old_app = Appliance::start(&old, &[]);
	old_app.wait_line("ready domain=");
	let key_of = |out: &str| out.split_whitespace().find(|w| w.starts_with("AGE-SECRET-KEY-1")).expect("the key is shown").to_owned();
	let (ok, out) = cli(&old, &["backup", "key"], None);
	assert!(ok, "{out}");
	let key = key_of(&out);
	let (ok, out) = cli(&old, &["backup", "create", file.to_str().unwrap()], None);
	assert!(ok, "{out}");
	let ca = xerra::net::ca::Ca::ensure(&old.join("tls")).unwrap().cert_pem;
	let (ok, out) = cli(&old, &["backup", "key"], None);
	assert!(ok, "{out}");
	(key, key_of(&out), ca)
}

/// One step of tests/clients/console_browser.py; its JSON answer, which must say ok.
fn browser_call(stdin: &mut std::process::ChildStdin, stdout: &mut BufReader<std::process::ChildStdout>, cmd: &str) -> String {
	writeln!(stdin, "{cmd}").unwrap();
	let mut line = String::new();
	stdout.read_line(&mut line).unwrap();
	assert!(line.starts_with("{\"ok\": true"), "{cmd}: {line}");
	line
}

fn jq(s: &str) -> String {
	format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// "Restore from a backup" on the web wizard in headless Chromium: typing,
/// choosing the file, clicking; a wrong key is said and changes nothing; the
/// right one brings the box back as the old one, and slixmpp trusting only
/// the OLD CA logs in with an old password.
#[test]
fn chromium_restores_a_backup_in_the_web_wizard() {
	let file = std::env::temp_dir().join(format!("xerra-app-webrestore-{}.xerra-backup", std::process::id()));
	let (key, wrong, old_ca) = old_box_backup("webrestore-old", &file);
	let dir = temp_dir("webrestore-new");
	let app = Appliance::start(&dir, &[]);
	let code = app.code();
	let addr = app.http();
	let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/console_browser.py");
	let mut child = Command::new("/usr/bin/python3")
		.arg(script)
		.args(["--timeout", "300"])
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.spawn()
		.unwrap();
	let mut stdin = child.stdin.take().unwrap();
	let mut stdout = BufReader::new(child.stdout.take().unwrap());
	let mut ready = String::new();
	stdout.read_line(&mut ready).unwrap();
	assert!(ready.contains("\"ready\": true"), "{ready}");
	let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
	std::fs::create_dir_all(&shots).unwrap();
	let mut call = |cmd: String| browser_call(&mut stdin, &mut stdout, &cmd);
	call(format!("{{\"cmd\": \"open\", \"url\": {}}}", jq(&format!("http://{addr}/setup"))));
	let page = call("{\"cmd\": \"click\", \"selector\": \"#restore\"}".into());
	assert!(page.contains("Restore Xerra from a backup"), "{page}");
	for (secret, expect) in [(&wrong, "does not open this backup"), (&key, "Restored the backup of")] {
		call(format!("{{\"cmd\": \"fill\", \"selector\": \"#code\", \"text\": {}}}", jq(&code)));
		call(format!("{{\"cmd\": \"fill\", \"selector\": \"#secret\", \"text\": {}}}", jq(secret)));
		call(format!("{{\"cmd\": \"file\", \"selector\": \"#file\", \"path\": {}}}", jq(file.to_str().unwrap())));
		let name = if expect.starts_with("Restored") { "wizard-restore" } else { "wizard-restore-wrong-key-before" };
		call(format!(
			"{{\"cmd\": \"shot\", \"path\": {}, \"width\": 1100, \"height\": 800, \"mobile\": false}}",
			jq(&shots.join(format!("{name}.png")).display().to_string())
		));
		let page = call("{\"cmd\": \"click\", \"selector\": \"#apply\"}".into());
		assert!(page.contains(expect), "{page}");
		if expect.starts_with("does not") {
			// Nothing changed: still waiting for setup.
			assert_eq!(http(addr, "GET", "/health", "").1, b"setup\n");
			call(format!(
				"{{\"cmd\": \"shot\", \"path\": {}, \"width\": 1100, \"height\": 800, \"mobile\": false}}",
				jq(&shots.join("wizard-restore-wrong-key.png").display().to_string())
			));
		} else {
			call(format!(
				"{{\"cmd\": \"shot\", \"path\": {}, \"width\": 1100, \"height\": 800, \"mobile\": false}}",
				jq(&shots.join("wizard-restored.png").display().to_string())
			));
		}
	}
	let _ = writeln!(stdin, "{{\"cmd\": \"quit\"}}");
	wait_within(&mut child, Duration::from_secs(30), "the browser");
	// The same process starts again on the restored data.
	app.wait_line(&format!("ready domain={DOMAIN}"));
	assert!(!dir.join(".restore-upload").exists(), "the upload is removed");
	old_ca_login(&app, &old_ca, "webrestore");
	let _ = std::fs::remove_file(&file);
}

/// The web wizard's restore refuses a body over setup_restore_max_bytes before reading it.
#[test]
fn the_web_restore_refuses_a_file_over_its_limit() {
	let dir = temp_dir("webrestore-limit");
	let app = Appliance::start(&dir, &["setup_restore_max_bytes=1048576"]);
	let addr = app.http();
	let mut tcp = TcpStream::connect(addr).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	write!(
		tcp,
		"POST /setup/restore HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1048577\r\n\r\n--b\r\n"
	)
	.unwrap();
	let mut answer = String::new();
	let _ = tcp.read_to_string(&mut answer);
	assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
	assert!(answer.contains("setup_restore_max_bytes"), "{answer}");
	// A wrong setup code: refused before any of the file is stored.
	let body = "--b\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nWRONG-CODE\r\n--b\r\nContent-Disposition: form-data; name=\"secret\"\r\n\r\nx\r\n\
	            --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nnot a backup\r\n--b--\r\n";
	let mut tcp = TcpStream::connect(addr).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	write!(
		tcp,
		"POST /setup/restore HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n{body}",
		body.len()
	)
	.unwrap();
	let mut answer = String::new();
	let _ = tcp.read_to_string(&mut answer);
	assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
	assert!(!dir.join(".restore-upload").exists());
	assert_eq!(http(addr, "GET", "/health", "").1, b"setup\n");
}
