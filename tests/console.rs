//! The web console (issue 13) on the HTTPS port: its security over raw
//! HTTPS (no page without a session, admins only, CSRF tokens, escaping,
//! cookie flags, throttling, nothing loaded from elsewhere), and Debian's
//! headless Chromium driving every page as an admin would
//! (tests/clients/console_browser.py over DevTools), with XMPP clients
//! checking that what the pages did happened. Screenshots of every page go
//! to target/console-screenshots/ (the test prints where).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::client::tls_config;
use common::{Client, DOMAIN, PASSWORD, Server};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};

const ADMIN_PASSWORD: &str = "admin secret 1";
const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

fn https_port(s: &Server) -> u16 {
	s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an HTTPS listener")
}

/// A server with an admin `boss` (ADMIN_PASSWORD) and `names` (PASSWORD).
fn office(names: &[&str], settings: &[&str]) -> Server {
	let s = Server::start(settings);
	let (ok, out) = s.cli(&["user", "add", "--admin", "boss", "--password-stdin"], Some(ADMIN_PASSWORD));
	assert!(ok, "{out}");
	for n in names {
		s.add_user(n);
	}
	s
}

#[derive(Debug)]
struct Resp {
	status: u16,
	head: String,
	body: String,
}

impl Resp {
	fn header(&self, name: &str) -> Option<&str> {
		self.head.lines().find_map(|l| {
			let (k, v) = l.split_once(':')?;
			k.eq_ignore_ascii_case(name).then(|| v.trim())
		})
	}

	/// The first form token in the page.
	fn csrf(&self) -> String {
		let at = self.body.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no csrf field in {}", self.body));
		self.body[at + 19..].split('"').next().unwrap().to_owned()
	}
}

/// A browser-less client of the console: one cookie, one request per connection.
struct Web {
	port: u16,
	cookie: Option<String>,
	ip: &'static str,
}

impl Web {
	fn new(s: &Server) -> Web {
		Web { port: https_port(s), cookie: None, ip: "127.0.0.1" }
	}

	fn request(&mut self, method: &str, path: &str, body: &str, extra: &str) -> Resp {
		let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
		let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
		let tcp = connect_from(self.ip, self.port);
		tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
		let mut tls = StreamOwned::new(conn, tcp);
		let cookie = self.cookie.as_ref().map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
		let ty = if method == "POST" { "Content-Type: application/x-www-form-urlencoded\r\n" } else { "" };
		let req = format!(
			"{method} {path} HTTP/1.1\r\nHost: {DOMAIN}:{}\r\n{cookie}{ty}{extra}Content-Length: {}\r\n\r\n{body}",
			self.port,
			body.len()
		);
		tls.write_all(req.as_bytes()).unwrap();
		let mut raw = Vec::new();
		let _ = tls.read_to_end(&mut raw);
		let text = String::from_utf8_lossy(&raw).into_owned();
		let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
		let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
		let r = Resp { status, head: head.to_owned(), body: body.to_owned() };
		if let Some(c) = r.header("set-cookie") {
			let pair = c.split(';').next().unwrap().to_owned();
			self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
		}
		r
	}

	fn get(&mut self, path: &str) -> Resp {
		self.request("GET", path, "", "")
	}

	fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
		self.request("POST", path, &encode(fields), "")
	}

	/// Sends a form and follows its answer's redirect (POST, 303, GET), as a browser does.
	fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
		let r = self.post(path, fields);
		match (r.status, r.header("location")) {
			(303, Some(to)) => {
				let to = to.to_owned();
				self.get(&to)
			}
			_ => r,
		}
	}

	/// Logs in through the form; the answer to the form.
	fn login(&mut self, jid: &str, password: &str) -> Resp {
		let token = self.get("/console/login").csrf();
		self.post("/console/login", &[("csrf", &token), ("jid", jid), ("password", password)])
	}

	fn login_admin(&mut self) {
		let r = self.login(&format!("boss@{DOMAIN}"), ADMIN_PASSWORD);
		assert_eq!((r.status, r.header("location")), (303, Some("/console/")), "{r:?}");
	}
}

/// A connection to 127.0.0.1:`port` from loopback address `src` (another
/// host, as per-address limits see it).
fn connect_from(src: &str, port: u16) -> TcpStream {
	use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
	let fd = socket::socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
	let v4: std::net::Ipv4Addr = src.parse().unwrap();
	socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(std::net::SocketAddrV4::new(v4, 0))).expect("bind");
	let to = SockaddrIn::from(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port));
	socket::connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &to).expect("connect");
	TcpStream::from(fd)
}

fn encode(fields: &[(&str, &str)]) -> String {
	let mut s = form_urlencoded::Serializer::new(String::new());
	for (k, v) in fields {
		s.append_pair(k, v);
	}
	s.finish()
}

/// Every page of the console's menu.
const PAGES: &[&str] = &[
	"/console/",
	"/console/people",
	"/console/departments",
	"/console/invitations",
	"/console/rooms",
	"/console/settings",
	"/console/statistics",
	"/console/broadcast",
	"/console/me",
	"/console/backups",
];

#[test]
fn no_page_without_a_session() {
	let s = office(&[], &[]);
	let mut web = Web::new(&s);
	for page in PAGES {
		let r = web.get(page);
		assert_eq!((r.status, r.header("location")), (303, Some("/console/login")), "{page}: {r:?}");
		assert!(!r.body.contains("<table") && !r.body.contains("boss"), "{page}: {}", r.body);
		let r = web.post(page, &[("csrf", "x")]);
		assert_eq!(r.status, 403, "{page}");
	}
	// A made-up or expired session is none.
	web.cookie = Some("xerra_console=00112233".into());
	assert_eq!(web.get("/console/people").status, 303);
	assert_eq!(web.get("/").header("location"), Some("/console/"));
	assert_eq!(web.get("/console/login").status, 200);
}

#[test]
fn only_admins_get_the_console_and_the_cookie_is_locked_down() {
	let s = office(&["anna"], &[]);
	let mut web = Web::new(&s);
	// Anyone else logs in to their own page only.
	let r = web.login(&format!("anna@{DOMAIN}"), PASSWORD);
	assert_eq!((r.status, r.header("location")), (303, Some("/console/me")), "{r:?}");
	let r = web.get("/console/people");
	assert_eq!((r.status, r.header("location")), (303, Some("/console/me")), "{r:?}");
	let token = web.get("/console/me").csrf();
	let r = web.post("/console/people/delete", &[("csrf", &token), ("name", "boss")]);
	assert_eq!(r.status, 403, "{r:?}");
	web.cookie = None;
	let r = web.login(&format!("boss@{DOMAIN}"), "wrong");
	assert!(r.status == 403 && r.body.contains("Wrong address or password") && r.header("set-cookie").is_none(), "{r:?}");
	// Another domain's address is nobody here.
	let r = web.login("boss@elsewhere.test", ADMIN_PASSWORD);
	assert_eq!(r.status, 403);
	let r = web.login(&format!("boss@{DOMAIN}"), ADMIN_PASSWORD);
	assert_eq!(r.status, 303);
	let cookie = r.header("set-cookie").unwrap();
	for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console", "Max-Age=3600"] {
		assert!(cookie.contains(flag), "{cookie}");
	}
	let id = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
	assert!(id.len() >= 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "a long random id: {id}");
	let r = web.get("/console/");
	assert_eq!(r.status, 200, "{r:?}");
	let csp = r.header("content-security-policy").unwrap();
	assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
	assert_eq!(r.header("cache-control"), Some("no-store"));
	// Logging out ends the session on the server, whatever the browser keeps.
	let kept = web.cookie.clone();
	let token = r.csrf();
	let r = web.post("/console/logout", &[("csrf", &token)]);
	assert_eq!(r.status, 303);
	web.cookie = kept;
	assert_eq!(web.get("/console/").status, 303);
}

#[test]
fn forms_without_their_token_get_403() {
	let s = office(&[], &[]);
	let mut web = Web::new(&s);
	// The login form too.
	let r = web.post("/console/login", &[("jid", "boss"), ("password", ADMIN_PASSWORD)]);
	assert_eq!(r.status, 403);
	let r = web.post("/console/login", &[("csrf", "1.00"), ("jid", "boss"), ("password", ADMIN_PASSWORD)]);
	assert_eq!(r.status, 403);
	web.login_admin();
	let token = web.get("/console/people").csrf();
	for fields in [vec![], vec![("csrf", "nope")], vec![("csrf", "")]] {
		let mut f = fields.clone();
		f.extend([("name", "mallory"), ("password", "x1234567")]);
		let r = web.post("/console/people/add", &f);
		assert_eq!(r.status, 403, "{fields:?}: {r:?}");
	}
	// A right token from another site's page is still refused.
	let body = encode(&[("csrf", &token), ("name", "mallory")]);
	let r = web.request("POST", "/console/people/add", &body, "Origin: https://evil.example\r\n");
	assert_eq!(r.status, 403);
	let r = web.request("POST", "/console/people/add", &body, "Origin: null\r\nSec-Fetch-Site: cross-site\r\n");
	assert_eq!(r.status, 403);
	let (_, list) = s.cli(&["user", "list"], None);
	assert!(!list.contains("mallory"), "{list}");
	// The logout form needs it too.
	assert_eq!(web.post("/console/logout", &[]).status, 403);
	assert_eq!(web.get("/console/").status, 200, "still logged in");
}

#[test]
fn console_logins_are_throttled_like_xmpp_logins() {
	let s = office(&[], &["auth_failures_per_account=2", "auth_backoff=30"]);
	let mut web = Web::new(&s);
	for _ in 0..2 {
		assert_eq!(web.login("boss", "wrong").status, 403);
	}
	// The next attempt from here waits, the right password included...
	let r = web.login("boss", ADMIN_PASSWORD);
	assert_eq!(r.status, 429, "{r:?}");
	assert!(r.body.contains("Too many failed logins"));
	// ... and so does an XMPP login for that account from here: one throttle.
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	assert!(c.plain("boss", ADMIN_PASSWORD).unwrap_err().contains("temporary-auth-failure"));
	// The owner elsewhere is not held back.
	let mut other = Web::new(&s);
	other.ip = "127.0.0.2";
	other.login_admin();
}

/// Every src, href and action in `html`: (attribute, value).
fn links(html: &str) -> Vec<(String, String)> {
	let mut out = Vec::new();
	for attr in ["src", "href", "action", "srcset", "poster", "data", "xlink:href"] {
		let needle = format!(" {attr}=\"");
		let mut rest = html;
		while let Some(at) = rest.find(&needle) {
			rest = &rest[at + needle.len()..];
			out.push((attr.to_owned(), rest.split('"').next().unwrap().to_owned()));
		}
	}
	out
}

/// Whether a link stays on the box (`own` is its origin, as the admin
/// reached it), or is an xmpp: link for the chat app.
fn local(value: &str, own: &str) -> bool {
	let path = value.strip_prefix(own).unwrap_or(value);
	(path.starts_with('/') && !path.starts_with("//")) || path.starts_with('#') || path.starts_with("xmpp:")
}

#[test]
fn no_page_loads_anything_from_elsewhere_and_markup_is_shown_escaped() {
	let s = office(&["anna"], &[]);
	let mut anna = s.online("anna");
	let evil = "<script>alert(1)</script><img src=https://evil.example/x.png>";
	anna.iq(&format!("<iq type='set'><vCard xmlns='vcard-temp'><FN>{}</FN></vCard></iq>", xerra::xmpp::element::escape(evil)));
	let mut web = Web::new(&s);
	web.login_admin();
	let (ok, out) = s.cli(&["group", "add", "<b>Sales</b>"], None);
	assert!(ok, "{out}");
	let invite = {
		let token = web.get("/console/invitations").csrf();
		let r = web.submit("/console/invitations/add", &[("csrf", &token), ("uses", "1"), ("days", "2"), ("group", "")]);
		let at = r.body.find("/invite/").expect("an invitation link");
		r.body[at..].split('"').next().unwrap().to_owned()
	};
	let reset = {
		let token = web.get("/console/people").csrf();
		let r = web.submit("/console/people/reset", &[("csrf", &token), ("name", "anna")]);
		let at = r.body.find("/reset/").expect("a reset link");
		r.body[at..].split('"').next().unwrap().to_owned()
	};
	let mut outside = Web::new(&s);
	for page in PAGES.iter().copied().chain([invite.as_str(), reset.as_str()]) {
		let r = if page.starts_with("/console") { web.get(page) } else { outside.get(page) };
		assert_eq!(r.status, 200, "{page}: {r:?}");
		assert!(r.body.contains("<meta name=\"viewport\""), "{page}");
		let csp = r.header("content-security-policy").unwrap_or("");
		assert!(csp.starts_with("default-src 'none';") && !csp.contains("http"), "{page}: {csp}");
		for (attr, value) in links(&r.body) {
			assert!(local(&value, &format!("https://{DOMAIN}:{}", https_port(&s))), "{page}: {attr}={value}");
		}
		assert!(!r.body.contains("<script") && !r.body.contains("<img") && !r.body.contains("<link"), "{page}");
		assert!(!r.body.contains("<b>Sales"), "{page}");
	}
	let people = web.get("/console/people").body;
	assert!(people.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=https://evil.example/x.png&gt;"), "{people}");
	let departments = web.get("/console/departments").body;
	assert!(departments.contains("&lt;b&gt;Sales&lt;/b&gt;"), "{departments}");
}

/// Debian's chromium, one step at a time (tests/clients/console_browser.py).
struct Browser {
	child: Child,
	stdin: ChildStdin,
	stdout: BufReader<ChildStdout>,
	base: String,
	shots: PathBuf,
}

impl Browser {
	fn start(s: &Server) -> Browser {
		let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/console_browser.py");
		let mut child = Command::new("/usr/bin/python3")
			.arg(script)
			.args(["--timeout", "600"])
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::inherit())
			.spawn()
			.expect("python3 and chromium (tests/setup installs them)");
		let stdin = child.stdin.take().unwrap();
		let stdout = BufReader::new(child.stdout.take().unwrap());
		let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
		std::fs::create_dir_all(&shots).unwrap();
		let mut b = Browser { child, stdin, stdout, base: format!("https://{DOMAIN}:{}", https_port(s)), shots };
		let ready = b.read();
		assert!(ready.contains("\"ready\": true"), "{ready}");
		b
	}

	fn read(&mut self) -> String {
		let mut line = String::new();
		self.stdout.read_line(&mut line).unwrap();
		line
	}

	/// Sends one command; its answer (a JSON line), which must say ok.
	fn call(&mut self, cmd: &str) -> String {
		writeln!(self.stdin, "{cmd}").unwrap();
		let out = self.read();
		assert!(out.starts_with("{\"ok\": true"), "{cmd}: {out}");
		out
	}

	fn open(&mut self, path: &str) -> String {
		let url = format!("{}{path}", self.base);
		self.call(&format!("{{\"cmd\": \"open\", \"url\": {}}}", quote(&url)))
	}

	fn fill(&mut self, selector: &str, text: &str) {
		self.call(&format!("{{\"cmd\": \"fill\", \"selector\": {}, \"text\": {}}}", quote(selector), quote(text)));
	}

	fn click(&mut self, selector: &str) -> String {
		self.call(&format!("{{\"cmd\": \"click\", \"selector\": {}}}", quote(selector)))
	}

	fn js(&mut self, expr: &str) -> String {
		let out = self.call(&format!("{{\"cmd\": \"js\", \"expr\": {}}}", quote(expr)));
		json_str(&out, "value").unwrap_or_default()
	}

	/// Screenshots of the page as it is, on a desktop and on a phone.
	fn shots(&mut self, name: &str) {
		for (suffix, w, h, mobile) in [("", 1100, 800, false), ("-phone", 390, 844, true)] {
			let path = self.shots.join(format!("{name}{suffix}.png"));
			let out = self.call(&format!(
				"{{\"cmd\": \"shot\", \"path\": {}, \"width\": {w}, \"height\": {h}, \"mobile\": {mobile}}}",
				quote(&path.display().to_string())
			));
			let width: u32 = json_raw(&out, "scroll_width").and_then(|v| v.parse().ok()).unwrap_or(0);
			assert!(width <= w, "{name}{suffix}: the page is {width} px wide on a {w} px screen");
		}
	}
}

impl Drop for Browser {
	fn drop(&mut self) {
		let _ = writeln!(self.stdin, "{{\"cmd\": \"quit\"}}");
		let deadline = std::time::Instant::now() + Duration::from_secs(10);
		while std::time::Instant::now() < deadline {
			if let Ok(Some(_)) = self.child.try_wait() {
				return;
			}
			std::thread::sleep(Duration::from_millis(50));
		}
		let _ = self.child.kill();
	}
}

/// `s` as a JSON string.
fn quote(s: &str) -> String {
	let mut out = String::from("\"");
	for c in s.chars() {
		match c {
			'"' => out.push_str("\\\""),
			'\\' => out.push_str("\\\\"),
			'\n' => out.push_str("\\n"),
			c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
			c => out.push(c),
		}
	}
	out.push('"');
	out
}

/// The string value of `"key": "..."` in a JSON line (Python's json.dumps layout).
fn json_str(json: &str, key: &str) -> Option<String> {
	let at = json.find(&format!("\"{key}\": \""))? + key.len() + 5;
	let mut out = String::new();
	let mut chars = json[at..].chars();
	while let Some(c) = chars.next() {
		match c {
			'"' => return Some(out),
			'\\' => match chars.next()? {
				'n' => out.push('\n'),
				't' => out.push('\t'),
				'r' => out.push('\r'),
				'u' => {
					let hex: String = chars.by_ref().take(4).collect();
					let mut code = u32::from_str_radix(&hex, 16).ok()?;
					if (0xD800..0xDC00).contains(&code) {
						let low: String = chars.by_ref().skip(2).take(4).collect();
						code = 0x10000 + ((code - 0xD800) << 10) + (u32::from_str_radix(&low, 16).ok()? - 0xDC00);
					}
					out.push(char::from_u32(code)?);
				}
				c => out.push(c),
			},
			c => out.push(c),
		}
	}
	None
}

/// A number or literal value of `"key": ...`.
fn json_raw(json: &str, key: &str) -> Option<String> {
	let at = json.find(&format!("\"{key}\": "))? + key.len() + 4;
	Some(json[at..].split([',', '}']).next()?.trim().to_owned())
}

/// The office run from a browser: Chromium types and clicks through the
/// console while XMPP clients check that what the pages say happened.
#[test]
fn chromium_runs_the_office_from_the_console() {
	let s = office(&["anna", "joan"], &[]);
	let mut joan = s.online("joan");
	// Roster pushes go to sessions that asked for the roster (RFC 6121 §2.1.6).
	joan.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	joan.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Joan Puig</FN></vCard></iq>");
	s.online("anna").iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Anna Berg</FN></vCard></iq>");
	let mut b = Browser::start(&s);

	// Wrong, then right login.
	let page = b.open("/console/");
	assert!(json_str(&page, "url").unwrap().ends_with("/console/login"), "{page}");
	b.shots("login");
	b.fill("#jid", &format!("boss@{DOMAIN}"));
	b.fill("#password", "not it");
	let page = b.click("#submit");
	assert!(json_str(&page, "text").unwrap().contains("Wrong address or password"), "{page}");
	b.fill("#jid", &format!("boss@{DOMAIN}"));
	b.fill("#password", ADMIN_PASSWORD);
	let page = b.click("#submit");
	assert_eq!(json_str(&page, "title").as_deref(), Some("Overview - Xerra"), "{page}");
	assert_eq!(b.js("document.querySelector('#online').textContent"), "1");
	b.shots("overview");

	// A new person, with a password shown once, who then logs in.
	b.open("/console/people");
	b.fill("#name", "maria");
	let page = b.click("#add-person");
	assert!(json_str(&page, "text").unwrap().contains(&format!("maria@{DOMAIN}")), "{page}");
	let password = b.js("document.querySelector('#new-password').textContent");
	assert!(password.len() >= 12, "{password}");
	b.shots("people-added");
	// Shown once: the page loaded again has no password on it.
	let page = b.open("/console/people");
	assert!(!json_str(&page, "html").unwrap().contains(&password), "{page}");
	// slixmpp logs in with it, trusting only the box's CA.
	let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/ca_login.py");
	let ca = s.dir.join("tls/ca.crt");
	let out = Command::new("/usr/bin/python3")
		.arg(script)
		.args(["--host", "127.0.0.1", "--port", &s.port.to_string(), "--ca", ca.to_str().unwrap()])
		.args(["--jid", &format!("maria@{DOMAIN}"), "--password", &password])
		.output()
		.expect("python3-slixmpp (tests/setup installs it)");
	assert!(out.status.success(), "slixmpp: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
	let mut maria = Client::login(s.port, "maria", &password);
	maria.send("<presence/>");

	// A department: its members become each other's contacts at once.
	b.open("/console/departments");
	b.fill("#group", "Sales");
	b.click("#create");
	b.js("document.querySelector('#user-Sales').value = 'joan'");
	b.click("#add-Sales");
	b.js("document.querySelector('#user-Sales').value = 'maria'");
	let page = b.click("#add-Sales");
	assert!(json_str(&page, "text").unwrap().contains(&format!("maria@{DOMAIN} joined Sales")), "{page}");
	let push = joan.wait_for(|e| common::is_push(e) && e.to_xml("jabber:client").contains(&format!("maria@{DOMAIN}")));
	assert!(push.to_xml("jabber:client").contains("Sales"), "{}", push.to_xml("jabber:client"));
	b.shots("departments");

	// An invitation into Sales, opened as its landing page and redeemed
	// through the web form: the newcomer is in Sales, in Joan's roster at once.
	let page = b.open("/console/invitations");
	assert!(json_str(&page, "text").unwrap().contains("Open invitations (0)"), "{page}");
	b.js("document.querySelector('#group').value = 'Sales'");
	let page = b.click("#invite");
	assert!(json_str(&page, "html").unwrap().contains("<svg"), "a QR code: {page}");
	let link = b.js("document.querySelector('#invite-link').getAttribute('href')");
	assert!(link.starts_with(&format!("{}/invite/", b.base)), "{link}");
	b.shots("invitations");
	let page = b.open(&link[b.base.len()..]);
	let text = json_str(&page, "text").unwrap();
	assert!(text.contains(&format!("invited to chat at {DOMAIN} in Sales")) && text.contains("Install a chat app"), "{text}");
	let uri = b.js("document.querySelector('#open-app').getAttribute('href')");
	assert!(uri.starts_with(&format!("xmpp:{DOMAIN}?register;preauth=")), "{uri}");
	// The fingerprint the newcomer's app will show is the box CA's.
	let pem = std::fs::read_to_string(s.dir.join("tls/ca.crt")).unwrap();
	let fp = xerra::net::ca::fingerprint(&xerra::net::ca::pem_to_der(&pem).unwrap());
	assert_eq!(b.js("document.querySelector('#ca-fingerprint').textContent"), fp);
	b.shots("invite-landing");
	// Opened on a phone, it names that phone's apps.
	b.call(&format!("{{\"cmd\": \"agent\", \"ua\": {}}}", quote(ANDROID)));
	let page = b.open(&link[b.base.len()..]);
	assert!(json_str(&page, "text").unwrap().contains("On this device: Conversations"), "{page}");
	b.shots("invite-landing-android");
	b.call(&format!("{{\"cmd\": \"agent\", \"ua\": {}}}", quote(IPHONE)));
	let page = b.open(&link[b.base.len()..]);
	assert!(json_str(&page, "text").unwrap().contains("On this device: Monal"), "{page}");
	b.fill("#name", "sofia");
	b.fill("#password", "sofia's password");
	b.fill("#password2", "sofia's password");
	let page = b.click("#submit");
	assert!(json_str(&page, "text").unwrap().contains(&format!("sofia@{DOMAIN}")), "{page}");
	b.shots("invite-done");
	joan.wait_for(|e| common::is_push(e) && e.to_xml("jabber:client").contains(&format!("sofia@{DOMAIN}")));
	let (_, groups) = s.cli(&["group", "list"], None);
	assert!(groups.contains(&format!("sofia@{DOMAIN}")), "{groups}");
	Client::login(s.port, "sofia", "sofia's password");
	// Used up.
	let page = b.open(&link[b.base.len()..]);
	assert_eq!(json_raw(&page, "status").as_deref(), Some("404"), "{page}");

	// A setting changed, checked as `xerra config set` checks it.
	b.open("/console/settings");
	b.shots("settings");
	b.click("#limits summary");
	b.fill("#setting-max_offline_messages input[name=value]", "lots");
	let page = b.click("#setting-max_offline_messages button");
	assert!(json_str(&page, "text").unwrap().contains("not a number"), "{page}");
	b.click("#limits summary");
	b.fill("#setting-max_offline_messages input[name=value]", "500");
	let page = b.click("#setting-max_offline_messages button");
	assert!(json_str(&page, "text").unwrap().contains("max_offline_messages = 500"), "{page}");
	let (_, list) = s.cli(&["config", "list"], None);
	assert!(list.contains("max_offline_messages = 500"), "{list}");
	assert!(b.js("document.querySelector('#setting-max_offline_messages').textContent").contains("changed"));

	// Rooms: one made by joining, shown with its occupant, then destroyed.
	joan.send(&format!("<presence to='lunch@rooms.{DOMAIN}/joan'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
	joan.wait_for(|e| e.name() == "presence" && e.attr("from").is_some_and(|f| f.starts_with("lunch@")));
	let page = b.open("/console/rooms");
	assert!(json_str(&page, "text").unwrap().contains(&format!("lunch@rooms.{DOMAIN}")), "{page}");
	let page = b.click("#room-lunch form[action='/console/rooms/persist'] button");
	assert!(json_str(&page, "text").unwrap().contains("persistent"), "{page}");
	b.shots("rooms");
	b.click("#room-lunch a.destroy");
	b.click("button.danger");
	joan.wait_for(|e| e.name() == "presence" && e.to_xml("jabber:client").contains("destroy"));

	// Locked: her session ends and her password no longer logs in; unlocked, it does.
	b.open("/console/people");
	let page = b.click("#user-maria form[action='/console/people/lock'] button");
	assert!(json_str(&page, "text").unwrap().contains(&format!("maria@{DOMAIN} is locked")), "{page}");
	assert_eq!(b.js("document.querySelector('#user-maria .tag.locked').textContent"), "locked");
	b.shots("people-locked");
	maria.expect_stream_error("not-authorized");
	let mut again = Client::connect(s.port);
	again.open();
	again.starttls();
	again.open();
	assert_eq!(again.scram("maria", &password, "SCRAM-SHA-256").unwrap_err(), "account-disabled");
	b.click("#user-maria form[action='/console/people/lock'] button");
	let mut maria = Client::login(s.port, "maria", &password);

	// A reset link, used in the browser: the new password works over XMPP.
	let page = b.click("#user-maria form[action='/console/people/reset'] button");
	assert!(json_str(&page, "html").unwrap().contains("<svg"), "a QR code: {page}");
	let link = b.js("document.querySelector('#reset-link').getAttribute('href')");
	assert!(link.starts_with(&format!("{}/reset/", b.base)), "{link}");
	b.shots("people-reset-link");
	let page = b.open(&link[b.base.len()..]);
	assert!(json_str(&page, "text").unwrap().contains(&format!("maria@{DOMAIN}")), "{page}");
	b.fill("#password", "new maria pw 1");
	b.fill("#password2", "new maria pw 1");
	b.shots("reset");
	let page = b.click("#submit");
	assert!(json_str(&page, "text").unwrap().contains("password of maria"), "{page}");
	Client::login(s.port, "maria", "new maria pw 1");
	// Once only.
	let page = b.open(&link[b.base.len()..]);
	assert_eq!(json_raw(&page, "status").as_deref(), Some("404"), "{page}");
	maria.send("<presence/>");

	// A broadcast reaches a connected client.
	b.open("/console/broadcast");
	b.fill("#text", "The office is closed on Friday.");
	let page = b.click("#send");
	assert!(json_str(&page, "text").unwrap().contains("sent to"), "{page}");
	b.shots("broadcast");
	joan.wait_for(|e| {
		e.name() == "message" && e.child("body", "jabber:client").is_some_and(|b| b.text() == "The office is closed on Friday.")
	});
	// The answer was a redirect: reloading the page sends nothing again.
	let page = b.call("{\"cmd\": \"reload\"}");
	assert!(!json_str(&page, "text").unwrap().contains("sent to"), "{page}");
	joan.expect_none(Duration::from_secs(2), |e| e.name() == "message" && e.child("body", "jabber:client").is_some());

	// Deleting asks first; the person's session ends.
	b.open("/console/people");
	b.click("#user-maria a[href^='/console/people/delete']");
	b.shots("people-delete");
	b.click("button.danger");
	maria.expect_stream_error("not-authorized");

	// The statistics page shows the traffic once it is sampled (every minute).
	for i in 0..10 {
		joan.send(&format!("<message to='sofia@{DOMAIN}' type='chat'><body>hi {i}</body></message>"));
	}
	let deadline = std::time::Instant::now() + Duration::from_secs(150);
	loop {
		b.open("/console/statistics");
		let label = b.js("document.querySelector('#plot-messages svg').getAttribute('aria-label')");
		let now: f64 = label.split(" · now ").nth(1).and_then(|v| v.split(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0.0);
		if now > 0.0 {
			break;
		}
		assert!(std::time::Instant::now() < deadline, "no messages plotted: {label}");
		std::thread::sleep(Duration::from_secs(5));
	}
	let svgs = b.js("String(document.querySelectorAll('.plot svg').length)");
	assert_eq!(svgs, "14");
	b.shots("statistics");
	b.open("/console/");
	b.shots("overview-later");
	println!("screenshots in {}", b.shots.display());
}

/// Backups from a browser: the emergency kit shows the recovery key once,
/// "Make a backup now" makes one, the browser downloads it, and the
/// downloaded file opens with that key (`xerra backup verify`).
#[test]
fn chromium_makes_and_downloads_a_backup() {
	let out = std::env::temp_dir().join(format!("xerra-console-backups-{}", std::process::id()));
	let got = out.with_extension("downloads");
	let _ = std::fs::remove_dir_all(&out);
	let _ = std::fs::remove_dir_all(&got);
	std::fs::create_dir_all(&got).unwrap();
	let s = office(&["anna"], &[&format!("backup_dir={}", out.display())]);
	let mut b = Browser::start(&s);
	b.open("/console/login");
	b.fill("#jid", &format!("boss@{DOMAIN}"));
	b.fill("#password", ADMIN_PASSWORD);
	b.click("#submit");
	let page = b.open("/console/backups");
	assert!(json_str(&page, "text").unwrap().contains("No recovery key"), "{page}");
	b.shots("backups-no-key");
	let kit = b.click("form[action='/console/backups/key'] button");
	assert_eq!(json_str(&kit, "title").as_deref(), Some("Recovery key - Xerra"), "{kit}");
	let key = b.js("document.querySelector('#recovery-key').textContent");
	assert!(key.starts_with("AGE-SECRET-KEY-1"), "{key}");
	b.shots("backups-emergency-kit");
	let again = b.open("/console/backups/kit");
	assert!(!json_str(&again, "text").unwrap().contains(&key), "shown once");
	b.open("/console/backups");
	let page = b.click("form[action='/console/backups/now'] button");
	assert!(json_str(&page, "text").unwrap().contains("Backup made"), "{page}");
	b.shots("backups");
	let overview = b.open("/console/");
	assert!(!json_str(&overview, "text").unwrap().contains("none yet"), "the Overview shows the last backup: {overview}");
	b.open("/console/backups");
	let dl = b.call(&format!("{{\"cmd\": \"download\", \"selector\": \"#download\", \"dir\": {}}}", quote(&got.display().to_string())));
	let name = json_str(&dl, "name").unwrap();
	let file = got.join(&name);
	let deadline = std::time::Instant::now() + Duration::from_secs(20);
	while !file.exists() {
		assert!(std::time::Instant::now() < deadline, "{dl}");
		std::thread::sleep(Duration::from_millis(200));
	}
	assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(out.join(&name)).unwrap(), "the same bytes as on the box");
	let key_file = got.join("key.txt");
	std::fs::write(&key_file, format!("{key}\n")).unwrap();
	let (ok, text) = s.cli(&["backup", "verify", file.to_str().unwrap(), "--key-file", key_file.to_str().unwrap()], None);
	assert!(ok, "{text}");
	println!("screenshots in {}", b.shots.display());
	drop(b);
	let _ = std::fs::remove_dir_all(&out);
	let _ = std::fs::remove_dir_all(&got);
}

/// The box's plain web page tells admins where the console is.
#[test]
fn the_box_page_links_to_the_console() {
	let s = office(&[], &[]);
	let addr = s.listeners.iter().find(|(k, _)| k == "http").map(|(_, a)| *a).expect("the web page");
	let mut tcp = TcpStream::connect(addr).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	write!(tcp, "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", addr.port()).unwrap();
	let mut page = String::new();
	let _ = tcp.read_to_string(&mut page);
	let url = format!("https://127.0.0.1:{}/console/", https_port(&s));
	assert!(page.contains(&format!("id=\"console\" href=\"{url}\"")), "{page}");
	// And it is there.
	let mut web = Web::new(&s);
	assert_eq!(web.get("/console/").header("location"), Some("/console/login"));
}

/// `console_max_sessions`: one login more logs out the one unused the longest.
#[test]
fn console_max_sessions_logs_out_the_longest_unused() {
	let s = office(&[], &["console_max_sessions=2"]);
	let (mut a, mut b, mut c) = (Web::new(&s), Web::new(&s), Web::new(&s));
	a.login_admin();
	b.login_admin();
	// `a` was used last, so `b` is the one to go.
	assert_eq!(a.get("/console/").status, 200);
	c.login_admin();
	assert_eq!(b.get("/console/").header("location"), Some("/console/login"));
	assert_eq!(a.get("/console/").status, 200);
	assert_eq!(c.get("/console/").status, 200);
}

/// A console request is read under the HTTPS port's rules: its body by the
/// same deadline as its head, within `http_max_request_bytes`.
#[test]
fn console_requests_have_the_https_ports_limits() {
	let s = office(&[], &["http_timeout=2", "http_max_request_bytes=2048"]);
	let mut web = Web::new(&s);
	let r = web.request("POST", "/console/login", &"a".repeat(3000), "");
	assert_eq!(r.status, 413, "{r:?}");
	// A body that never comes: 408 at the deadline.
	let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
	let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
	let tcp = TcpStream::connect(("127.0.0.1", https_port(&s))).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
	let mut tls = StreamOwned::new(conn, tcp);
	let started = std::time::Instant::now();
	tls.write_all(b"POST /console/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\njid=boss").unwrap();
	let mut raw = Vec::new();
	let _ = tls.read_to_end(&mut raw);
	let text = String::from_utf8_lossy(&raw);
	assert!(text.starts_with("HTTP/1.1 408"), "{text}");
	assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
}

/// An admin who is locked or loses the role is logged out of the console at
/// their next request, and cannot log in again.
#[test]
fn a_locked_or_demoted_admin_is_logged_out() {
	let s = office(&[], &[]);
	let (ok, out) = s.cli(&["user", "add", "--admin", "deputy", "--password-stdin"], Some(PASSWORD));
	assert!(ok, "{out}");
	let mut deputy = Web::new(&s);
	assert_eq!(deputy.login(&format!("deputy@{DOMAIN}"), PASSWORD).status, 303);
	assert_eq!(deputy.get("/console/people").status, 200);
	let (ok, out) = s.cli(&["user", "admin", "deputy", "off"], None);
	assert!(ok, "{out}");
	assert_eq!(deputy.get("/console/people").header("location"), Some("/console/login"));
	// Logged in again, no longer an admin: their own page only.
	assert_eq!(deputy.login(&format!("deputy@{DOMAIN}"), PASSWORD).header("location"), Some("/console/me"));
	assert_eq!(deputy.get("/console/people").header("location"), Some("/console/me"));
	// Made an admin again, they get the console at their next login.
	let token = deputy.get("/console/me").csrf();
	assert_eq!(deputy.post("/console/logout", &[("csrf", &token)]).status, 303);
	let (ok, out) = s.cli(&["user", "admin", "deputy", "on"], None);
	assert!(ok, "{out}");
	assert_eq!(deputy.login(&format!("deputy@{DOMAIN}"), PASSWORD).status, 303);
	let (ok, out) = s.cli(&["user", "lock", "deputy"], None);
	assert!(ok, "{out}");
	assert_eq!(deputy.get("/console/").header("location"), Some("/console/login"));
	let r = deputy.login(&format!("deputy@{DOMAIN}"), PASSWORD);
	assert!(r.status == 403 && r.body.contains("locked"), "{r:?}");
}

/// `console_session_timeout`: a login unused that long is over; each use
/// renews it (and the cookie's Max-Age).
#[test]
fn console_sessions_end_unused_after_console_session_timeout() {
	let s = office(&[], &["console_session_timeout=60"]);
	let (mut kept, mut idle) = (Web::new(&s), Web::new(&s));
	kept.login_admin();
	idle.login_admin();
	let r = kept.get("/console/");
	assert!(r.header("set-cookie").is_some_and(|c| c.contains("Max-Age=60")), "{r:?}");
	for _ in 0..4 {
		std::thread::sleep(Duration::from_secs(16));
		assert_eq!(kept.get("/console/").status, 200);
	}
	// 64 s unused: gone; the other, used every 16 s, is not.
	assert_eq!(idle.get("/console/").header("location"), Some("/console/login"));
	assert_eq!(kept.get("/console/").status, 200);
}

/// Joins `room` as `nick` (markup allowed) and waits for the subject, the end of the join.
fn join_room(c: &mut Client, room: &str, nick: &str) {
	let nick = xerra::xmpp::element::escape(nick);
	c.send(&format!("<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
	let e = c.wait_for(|e| (e.name() == "message" && e.child("subject", "jabber:client").is_some()) || e.attr("type") == Some("error"));
	assert_ne!(e.attr("type"), Some("error"), "{}", e.to_xml("jabber:client"));
}

/// Rooms: each with its occupants (the first few by nick, escaped, then how many
/// more) and its settings, on the console's Rooms page and in `xerra room list`.
#[test]
fn rooms_show_their_occupants_and_settings() {
	let names: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
	let refs: Vec<&str> = names.iter().map(String::as_str).collect();
	let s = office(&refs, &[]);
	let room = format!("team@rooms.{DOMAIN}");
	let mut first = s.online("p0");
	join_room(&mut first, &room, "<i>Ann</i>");
	let x = "<x xmlns='jabber:x:data' type='submit'>\
		<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
		<field var='muc#roomconfig_publicroom'><value>0</value></field>\
		<field var='muc#roomconfig_moderatedroom'><value>1</value></field>\
		<field var='muc#roomconfig_whois'><value>anyone</value></field>\
		<field var='muc#roomconfig_maxusers'><value>12</value></field>\
		<field var='muc#roomconfig_roomsecret'><value>sesame</value></field></x>";
	let r = first.iq(&format!("<iq type='set' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'>{x}</query></iq>"));
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	let mut others = Vec::new();
	for n in &names[1..] {
		let mut c = s.online(n);
		c.send(&format!(
			"<presence to='{room}/{n}-nick'><x xmlns='http://jabber.org/protocol/muc'><password>sesame</password></x></presence>"
		));
		c.wait_for(|e| (e.name() == "message" && e.child("subject", "jabber:client").is_some()) || e.attr("type") == Some("error"));
		others.push(c);
	}
	let mut web = Web::new(&s);
	web.login_admin();
	let page = web.get("/console/rooms").body;
	assert!(page.contains("&lt;i&gt;Ann&lt;/i&gt;") && !page.contains("<i>Ann"), "{page}");
	assert!(page.contains("p7-nick") && !page.contains("p8-nick") && page.contains("and 2 more"), "{page}");
	for setting in ["hidden", "open to all", "moderated", "password", "at most 12 people", "real addresses seen by everyone"] {
		assert!(page.contains(setting), "{setting}: {page}");
	}
	assert!(!page.contains("sesame"), "{page}");
	let (ok, out) = s.cli(&["room", "list"], None);
	assert!(ok, "{out}");
	assert!(out.contains(&format!("{room}: temporary, 10 occupants")), "{out}");
	assert!(out.contains("<i>Ann</i>, p1-nick") && out.contains("p7-nick and 2 more"), "{out}");
	assert!(out.contains("hidden, open to all, moderated, password, at most 12 people, real addresses seen by everyone"), "{out}");
}

/// The Overview reads the expiry (notAfter) of the certificate the server
/// serves: the admin's own (`tls_cert`) as well as the box's; a warning
/// when fewer than 30 days are left.
#[test]
fn the_overview_shows_when_the_certificate_expires() {
	let dir = std::env::temp_dir().join(format!("xerra-console-cert-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let key = rcgen::KeyPair::generate().unwrap();
	let mut params = rcgen::CertificateParams::new(vec![DOMAIN.to_owned()]).unwrap();
	let not_after = time::OffsetDateTime::now_utc() + time::Duration::hours(20 * 24 + 12);
	params.not_after = not_after;
	let cert = params.self_signed(&key).unwrap();
	std::fs::write(dir.join("admin.crt"), cert.pem()).unwrap();
	std::fs::write(dir.join("admin.key"), key.serialize_pem()).unwrap();
	let s =
		office(&[], &[&format!("tls_cert={}", dir.join("admin.crt").display()), &format!("tls_key={}", dir.join("admin.key").display())]);
	let mut web = Web::new(&s);
	web.login_admin();
	let page = web.get("/console/").body;
	let date = format!("{}-{:02}-{:02}", not_after.year(), not_after.month() as u8, not_after.day());
	assert!(page.contains(&format!("expires on {date} (20 days left)")), "{page}");
	assert!(page.contains("The TLS certificate expires in 20 days"), "{page}");
	drop(s);
	let _ = std::fs::remove_dir_all(&dir);

	// The box's own: issued for 397 days, no warning (and no backup schedule to warn about).
	let s = office(&[], &["backup_time=off"]);
	let mut web = Web::new(&s);
	web.login_admin();
	let page = web.get("/console/").body;
	let soon = time::OffsetDateTime::now_utc() + time::Duration::days(397);
	let date = format!("{}-{:02}-{:02}", soon.year(), soon.month() as u8, soon.day());
	let shown = |days: i64| page.contains(&format!("expires on {date} ({days} days left)"));
	assert!(shown(396) || shown(397), "{page}");
	assert!(page.contains("id=\"healthy\""), "{page}");
}

/// The reset and invitation pages answer their form with a redirect (303) to
/// a page with the result, so a reload does not send the form again; the
/// result's address carries no password; the link then is used up.
#[test]
fn landing_forms_redirect_to_their_result() {
	let s = office(&["anna"], &[]);
	let mut web = Web::new(&s);
	web.login_admin();
	let token = web.get("/console/people").csrf();
	let r = web.submit("/console/people/reset", &[("csrf", &token), ("name", "anna")]);
	let at = r.body.find("/reset/").expect("a reset link");
	let reset = r.body[at..].split('"').next().unwrap().to_owned();
	let token = web.get("/console/invitations").csrf();
	let r = web.submit("/console/invitations/add", &[("csrf", &token), ("uses", "1"), ("days", "2"), ("group", "")]);
	let at = r.body.find("/invite/").expect("an invitation link");
	let invite = r.body[at..].split('"').next().unwrap().to_owned();

	let mut person = Web::new(&s);
	let new_password = "a brand new password";
	let form = person.get(&reset).csrf();
	let fields = [("csrf", form.as_str()), ("password", new_password), ("password2", new_password)];
	let r = person.post(&reset, &fields);
	assert_eq!(r.status, 303, "{r:?}");
	let to = r.header("location").expect("where to").to_owned();
	assert!(!to.contains("brand") && !r.head.contains("brand"), "{to}");
	let done = person.get(&to);
	assert_eq!(done.status, 200, "{done:?}");
	assert!(done.body.contains("id=\"done\"") && done.body.contains(&format!("anna@{DOMAIN}")), "{}", done.body);
	assert_eq!(person.get(&to).status, 200, "a reload shows it again");
	let again = person.post(&reset, &fields);
	assert_eq!(again.status, 404, "{again:?}");
	assert!(!again.body.contains("id=\"done\""), "{}", again.body);
	let mut anna = Client::connect_tls(s.tls_port);
	anna.open();
	anna.scram("anna", new_password, "SCRAM-SHA-256").expect("the new password works");

	let form = person.get(&invite).csrf();
	let fields = [("csrf", form.as_str()), ("name", "bert"), ("password", new_password), ("password2", new_password)];
	let r = person.post(&invite, &fields);
	assert_eq!(r.status, 303, "{r:?}");
	let to = r.header("location").expect("where to").to_owned();
	assert!(!to.contains("brand"), "{to}");
	let done = person.get(&to);
	assert_eq!(done.status, 200, "{done:?}");
	assert!(done.body.contains(&format!("<b id=\"jid\">bert@{DOMAIN}</b>")), "{}", done.body);
	let again = person.post(&invite, &[("csrf", form.as_str()), ("name", "carl"), ("password", new_password), ("password2", new_password)]);
	assert_eq!(again.status, 404, "{again:?}");
	// A result page whose address was changed is not shown.
	let forged = to.replace("bert", "boss");
	assert!(!person.get(&forged).body.contains("id=\"done\""));
}

/// "My account": a person who is not an admin downloads their own data (a
/// XEP-0227 file of their account, nobody else's), with the session's token;
/// admins have the page too.
#[test]
fn people_download_their_own_data() {
	let s = office(&["anna", "ben"], &[]);
	let mut anna = s.login("anna");
	assert_eq!(anna.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Anna A.</FN></vCard></iq>").attr("type"), Some("result"));
	let mut web = Web::new(&s);
	assert_eq!(web.login(&format!("anna@{DOMAIN}"), PASSWORD).header("location"), Some("/console/me"));
	let page = web.get("/console/me");
	assert!(page.status == 200 && page.body.contains("Download my data") && !page.body.contains("/console/people"), "{page:?}");
	assert_eq!(web.post("/console/me/export", &[("csrf", "wrong")]).status, 403);
	let r = web.post("/console/me/export", &[("csrf", &page.csrf())]);
	assert_eq!(r.status, 200, "{r:?}");
	assert_eq!(r.header("content-disposition"), Some(format!("attachment; filename=\"anna@{DOMAIN}.xml\"").as_str()));
	for part in ["<server-data xmlns='urn:xmpp:pie:0'>", "<user name='anna'>", "mechanism='SCRAM-SHA-256'", "<FN>Anna A.</FN>"] {
		assert!(r.body.contains(part), "{part}: {}", r.body);
	}
	assert!(!r.body.contains("name='ben'") && !r.body.contains("name='boss'") && !r.body.contains("<rooms"), "{}", r.body);
	let mut boss = Web::new(&s);
	boss.login_admin();
	let page = boss.get("/console/me");
	assert!(page.body.contains("Download my data") && page.body.contains("/console/people"), "the admin's menu too");
	let r = boss.post("/console/me/export", &[("csrf", &page.csrf())]);
	assert!(r.body.contains("<user name='boss'>") && !r.body.contains("name='anna'"), "{}", r.body);
}

/// "My account" lists the person's devices (SASL2 `<user-agent/>`s) and
/// signs one out: its session ends (not-authorized) and it is gone; nobody
/// else can sign it out. The same engine as the "My devices" command.
#[test]
fn people_sign_out_their_own_devices() {
	const SASL2: &str = "urn:xmpp:sasl:2";
	let s = office(&["anna", "ben"], &[]);
	let mut phone = Client::connect(s.port);
	phone.open();
	phone.starttls();
	phone.open();
	let plain = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("\0anna\0{PASSWORD}"));
	phone.send(&format!(
		"<authenticate xmlns='{SASL2}' mechanism='PLAIN'><initial-response>{plain}</initial-response>\
		 <user-agent id='2f7e1c9a-anna-phone'><software>Conversations</software><device>Anna's phone</device></user-agent>\
		 <bind xmlns='urn:xmpp:bind:0'><tag>Phone</tag></bind></authenticate>"
	));
	let ok = phone.stanza();
	assert!(ok.is("success", SASL2), "{ok:?}");
	assert_eq!(phone.stanza().name(), "features");

	let mut web = Web::new(&s);
	web.login(&format!("anna@{DOMAIN}"), PASSWORD);
	let page = web.get("/console/me");
	assert!(page.body.contains("Anna&apos;s phone (Conversations), last seen"), "{}", page.body);
	// Ben cannot sign out Anna's device.
	let mut ben = Web::new(&s);
	ben.login(&format!("ben@{DOMAIN}"), PASSWORD);
	let bens = ben.get("/console/me");
	let r = ben.post("/console/me/devices", &[("csrf", &bens.csrf()), ("device", "2f7e1c9a-anna-phone")]);
	assert!(r.body.contains("There is no such device"), "{}", r.body);
	assert!(!r.body.contains("Anna"), "{}", r.body);
	assert_eq!(web.post("/console/me/devices", &[("csrf", "wrong"), ("device", "2f7e1c9a-anna-phone")]).status, 403);
	let r = web.post("/console/me/devices", &[("csrf", &page.csrf()), ("device", "2f7e1c9a-anna-phone")]);
	assert!(r.status == 200 && r.body.contains("The device is signed out.") && !r.body.contains("Anna&apos;s phone"), "{}", r.body);
	let end = phone.wait_within(Duration::from_secs(10), |e| e.name() == "error").expect("the phone's stream ends");
	assert!(end.to_xml("").contains("not-authorized"), "{}", end.to_xml(""));
}
