//! The web client at `/chat/` on the HTTPS port: Converse.js 14 (locked in
//! tests/clients/package-lock.json, its `dist/` as `web_client_dir`) served
//! with caching headers and a strict CSP, nothing outside its folder; a box
//! without it says so. In Debian's headless Chromium a person logs in
//! through `/chat/`, chats with a slixmpp user both ways, joins a room and
//! sees the history after a reload (tests/clients/converse_box.py).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::client::tls_config;
use common::{DOMAIN, PASSWORD, Server, server_with_users};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};

fn clients() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Converse.js's dist/, as tests/setup installs it.
fn dist() -> PathBuf {
	let d = clients().join("node_modules/converse.js/dist");
	assert!(d.join("converse.min.js").exists(), "Converse.js is missing: run tests/setup (it installs tests/clients/node_modules)");
	d
}

fn https_port(s: &Server) -> u16 {
	s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an HTTPS listener")
}

struct Answer {
	head: String,
	body: Vec<u8>,
}

impl Answer {
	fn status(&self) -> u16 {
		self.head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
	}

	fn header(&self, name: &str) -> Option<&str> {
		self.head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
	}

	fn text(&self) -> String {
		String::from_utf8_lossy(&self.body).into_owned()
	}
}

/// One request on the HTTPS port; the whole answer.
fn https(port: u16, request: &str) -> Answer {
	let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
	let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
	let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let mut tls = StreamOwned::new(conn, tcp);
	tls.write_all(request.as_bytes()).unwrap();
	let mut raw = Vec::new();
	let _ = tls.read_to_end(&mut raw);
	let at = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |i| i + 4);
	Answer { head: String::from_utf8_lossy(&raw[..at]).into_owned(), body: raw[at..].to_vec() }
}

fn get(port: u16, path: &str, extra: &str) -> Answer {
	https(port, &format!("GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\n{extra}\r\n"))
}

/// The tag the page names its files under.
fn tag_of(page: &str) -> String {
	let at = page.find("/chat/dist/").expect("the page names its files") + "/chat/dist/".len();
	page[at..].split('/').next().unwrap().to_owned()
}

/// `/chat/` is a page of ours naming this box's endpoints and rooms
/// service under a strict CSP; Converse's files come with validators, are
/// immutable under the current tag, and a client's current copy gets 304.
#[test]
fn the_page_and_its_files_carry_csp_and_validators() {
	let dist = dist();
	let s = Server::start(&[&format!("web_client_dir={}", dist.display())]);
	let port = https_port(&s);
	let slash = get(port, "/chat", "");
	assert_eq!((slash.status(), slash.header("location")), (301, Some("/chat/")), "{}", slash.head);

	let page = get(port, "/chat/", "");
	assert_eq!(page.status(), 200, "{}", page.head);
	let csp = page.header("content-security-policy").expect("a CSP").to_owned();
	for part in [
		"default-src 'none'",
		"script-src 'self' 'wasm-unsafe-eval';",
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"img-src 'self' data:;",
	] {
		assert!(csp.contains(part), "{part} in {csp}");
	}
	assert!(!csp.contains("'unsafe-eval'") && !csp.contains("script-src 'self' 'unsafe-inline'") && !csp.contains(" https:"), "{csp}");
	let html = page.text();
	assert!(html.contains(&format!("\"websocket_url\":\"wss://{DOMAIN}:{port}/xmpp-websocket\"")), "{html}");
	assert!(html.contains(&format!("\"muc_domain\":\"rooms.{DOMAIN}\"")) && html.contains(&format!("\"domain\":\"{DOMAIN}\"")), "{html}");
	let bosh = get(port, "/chat/?transport=bosh", "").text();
	assert!(
		bosh.contains(&format!("\"bosh_service_url\":\"https://{DOMAIN}:{port}/http-bind\"")) && !bosh.contains("websocket_url"),
		"{bosh}"
	);
	let start = get(port, "/chat/start.js", "");
	assert_eq!(start.status(), 200);
	assert!(start.header("content-type").unwrap().starts_with("text/javascript") && start.text().contains("converse.initialize"));

	let tag = tag_of(&html);
	let js = get(port, &format!("/chat/dist/{tag}/converse.min.js"), "");
	assert_eq!(js.status(), 200, "{}", js.head);
	assert_eq!(js.body, std::fs::read(dist.join("converse.min.js")).unwrap(), "the file, whole");
	assert_eq!(js.header("cache-control"), Some("public, max-age=31536000, immutable"));
	assert!(js.header("content-type").unwrap().starts_with("text/javascript"));
	assert_eq!(js.header("x-content-type-options"), Some("nosniff"));
	let (etag, modified) = (js.header("etag").expect("an ETag").to_owned(), js.header("last-modified").expect("Last-Modified").to_owned());
	assert!(modified.ends_with(" GMT"), "{modified}");

	let again = get(port, &format!("/chat/dist/{tag}/converse.min.js"), &format!("If-None-Match: {etag}\r\n"));
	assert_eq!(again.status(), 304, "{}", again.head);
	assert!(again.body.is_empty() && again.header("etag") == Some(etag.as_str()));
	let since = get(port, &format!("/chat/dist/{tag}/converse.min.js"), &format!("If-Modified-Since: {modified}\r\n"));
	assert_eq!(since.status(), 304, "{}", since.head);
	let changed = get(port, &format!("/chat/dist/{tag}/converse.min.js"), "If-None-Match: \"other\"\r\n");
	assert_eq!(changed.status(), 200);

	// An old page's tag: served, but to be checked again each time.
	let old = get(port, "/chat/dist/0ld/converse.min.css", "");
	assert_eq!((old.status(), old.header("cache-control")), (200, Some("no-cache")), "{}", old.head);
	assert!(old.header("content-type").unwrap().starts_with("text/css"));
	let head = https(port, &format!("HEAD /chat/dist/{tag}/emoji.json HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n"));
	assert_eq!(head.status(), 200);
	assert!(
		head.body.is_empty()
			&& head.header("content-length") == Some(&*std::fs::metadata(dist.join("emoji.json")).unwrap().len().to_string())
	);
	let post = https(port, "POST /chat/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	assert_eq!(post.status(), 405);
}

/// Nothing outside the folder is served: no `..`, no encoded dots, no
/// hidden files, no link out of it, no type we do not know.
#[test]
fn nothing_outside_the_folder_is_served() {
	let dir = std::env::temp_dir().join(format!("xerra-webclient-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(dir.join("dist/sub")).unwrap();
	std::fs::write(dir.join("dist/converse.min.js"), "// converse").unwrap();
	std::fs::write(dir.join("dist/converse.min.css"), "/* converse */").unwrap();
	std::fs::write(dir.join("dist/sub/ok.js"), "// ok").unwrap();
	std::fs::write(dir.join("secret.js"), "SECRET").unwrap();
	std::fs::write(dir.join("dist/.hidden.js"), "SECRET").unwrap();
	std::fs::write(dir.join("dist/notes.txt"), "SECRET").unwrap();
	std::os::unix::fs::symlink(dir.join("secret.js"), dir.join("dist/link.js")).unwrap();
	let s = Server::start(&[&format!("web_client_dir={}", dir.join("dist").display())]);
	let port = https_port(&s);
	let ok = get(port, "/chat/dist/t/sub/ok.js", "");
	assert_eq!((ok.status(), ok.text().as_str()), (200, "// ok"), "{}", ok.head);
	for path in [
		"/chat/dist/t/../secret.js",
		"/chat/dist/t/sub/../../secret.js",
		"/chat/dist/t/%2e%2e/secret.js",
		"/chat/dist/t/..%2fsecret.js",
		"/chat/dist/t/.hidden.js",
		"/chat/dist/t/link.js",
		"/chat/dist/t/notes.txt",
		"/chat/dist/t//etc/passwd",
		"/chat/dist/t/sub",
		"/chat/../secret.js",
	] {
		let a = get(port, path, "");
		assert!(a.status() == 404 || a.status() == 400, "{path}: {}", a.head);
		assert!(!a.text().contains("SECRET"), "{path}");
	}
	let _ = std::fs::remove_dir_all(&dir);
}

/// A box without the files says so on /chat/ (and keeps serving the rest);
/// with the setting empty there is no web client at all.
#[test]
fn a_box_without_the_web_client_says_so() {
	let s = Server::start(&["web_client_dir=/nonexistent/xerra-chat"]);
	let port = https_port(&s);
	for path in ["/chat/", "/chat/dist/t/converse.min.js"] {
		let a = get(port, path, "");
		assert_eq!(a.status(), 503, "{path}: {}", a.head);
		assert!(a.text().contains("The web client is not installed on this box"), "{}", a.text());
	}
	assert_eq!(get(port, "/.well-known/host-meta", "").status(), 200, "the rest of the port works");
	drop(s);
	let s = Server::start(&["web_client_dir="]);
	let a = get(https_port(&s), "/chat/", "");
	assert_eq!(a.status(), 404, "{}", a.head);
	assert!(a.text().contains("turned off"), "{}", a.text());
}

/// The box's home page and an invitation's landing page lead to /chat/.
#[test]
fn home_and_invitation_pages_link_to_the_web_client() {
	let s = Server::start(&[&format!("web_client_dir={}", dist().display())]);
	let port = https_port(&s);
	let web = s.listeners.iter().find(|(k, _)| k == "http").map(|(_, a)| a.port()).expect("the web page's listener");
	let mut tcp = TcpStream::connect(("127.0.0.1", web)).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
	tcp.write_all(format!("GET / HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n").as_bytes()).unwrap();
	let mut home = String::new();
	let _ = tcp.read_to_string(&mut home);
	assert!(home.contains(&format!("<a id=\"web-client\" href=\"https://{DOMAIN}:{port}/chat/\">")), "{home}");
	let (ok, out) = s.cli(&["invite", "add"], None);
	assert!(ok, "{out}");
	let token = out.split("preauth=").nth(1).expect("an invitation").split([';', '\n', ' ']).next().unwrap().trim();
	let landing = get(port, &format!("/invite/{token}"), "");
	assert_eq!(landing.status(), 200, "{}", landing.head);
	assert!(landing.text().contains("<a id=\"web-client\" href=\"/chat/\">"), "{}", landing.text());
}

/// Converse.js in Chromium, driven as a person would: opens /chat/, types
/// a name and password into the login form, chats both ways with a slixmpp
/// user, joins a room and sees its history after a reload, and again from
/// the box with the browser's site data cleared; nothing is
/// loaded from outside the box, nothing breaks the CSP. Screenshots in
/// target/web-client-screenshots/.
#[test]
fn a_person_chats_in_converse_served_by_the_box() {
	browser_run("websocket");
}

/// The same person and steps, with Converse over BOSH (`/chat/?transport=bosh`).
#[test]
fn a_person_chats_in_converse_over_bosh() {
	browser_run("bosh");
}

fn browser_run(transport: &str) {
	let s = server_with_users(&["alice", "bob"], &[&format!("web_client_dir={}", dist().display())]);
	let port = https_port(&s);
	let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-client-screenshots").join(transport);
	let _ = std::fs::remove_dir_all(&shots);
	std::fs::create_dir_all(&shots).unwrap();
	let mut cmd = Command::new("/usr/bin/python3");
	cmd.arg(clients().join("converse_box.py"))
		.args(["--url", &format!("https://{DOMAIN}:{port}/chat/"), "--transport", transport])
		.args(["--user", "alice", "--password", PASSWORD, "--peer", &Server::jid("bob"), "--peer-password", PASSWORD])
		.args(["--c2s-port", &s.port.to_string(), "--room", &format!("office@rooms.{DOMAIN}")])
		.arg("--shots")
		.arg(&shots)
		.args(["--timeout", "150"]);
	let out = common::run_within(&mut cmd, Duration::from_secs(170), "converse_box.py").expect("python3 (tests/setup installs it)");
	let text = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success() && text.contains("PASSED"),
		"Converse.js at /chat/ ({transport}): {text}\n{}\n--- server\n{}",
		String::from_utf8_lossy(&out.stderr),
		s.log_text()
	);
	println!("{text}\nscreenshots in {}", shots.display());
}

/// Converse.js 14, reloaded, resumes its XEP-0198 session and then names a
/// resource it made up anew in `from` (seen in Chromium at /chat/): another
/// resource of one's own account is overridden with the real one (RFC 6120
/// §8.1.2.1), not a stream error; another account's JID still is one.
#[test]
fn a_stale_resource_of_ones_own_account_in_from_is_overridden() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	let full = alice.jid.clone();
	alice.send(&format!(
		"<message from='{}/converse.js-123' to='{}' type='chat'><body>after a reload</body></message>",
		Server::jid("alice"),
		Server::jid("bob")
	));
	let m = bob.wait_for(|e| e.name() == "message");
	assert_eq!(m.attr("from"), Some(full.as_str()), "stamped with the real full JID");
	alice.send(&format!("<message from='{}/x' to='{}' type='chat'><body>forged</body></message>", Server::jid("bob"), Server::jid("bob")));
	alice.expect_stream_error("invalid-from");
}

/// The folder's files are opened, read and closed by `blocking`'s threads,
/// never by the executor (the main thread, whose id is the process id):
/// strace follows every thread of the server while the page, a file and a
/// 304 are served.
#[test]
fn the_web_clients_files_are_read_off_the_executor_thread() {
	let dist = dist();
	let s = Server::start(&[&format!("web_client_dir={}", dist.display())]);
	let port = https_port(&s);
	let trace = std::env::temp_dir().join(format!("xerra-webclient-strace-{}.txt", std::process::id()));
	let mut strace = common::strace(s.pid(), "%file,%desc", &trace);
	let tag = tag_of(&get(port, "/chat/", "").text());
	let js = get(port, &format!("/chat/dist/{tag}/converse.min.js"), "");
	assert_eq!(js.status(), 200);
	let etag = js.header("etag").unwrap().to_owned();
	assert_eq!(get(port, &format!("/chat/dist/{tag}/converse.min.js"), &format!("If-None-Match: {etag}\r\n")).status(), 304);
	let _ = Command::new("kill").arg("-INT").arg(strace.id().to_string()).status();
	common::wait_within(&mut strace, common::CHILD_DEADLINE, "strace");
	let text = std::fs::read_to_string(&trace).unwrap();
	let _ = std::fs::remove_file(&trace);
	let dir = dist.canonicalize().unwrap();
	let on_files: Vec<&str> = text.lines().filter(|l| l.contains(dir.to_str().unwrap())).collect();
	let (main, workers): (Vec<&str>, Vec<&str>) = on_files.iter().partition(|l| l.starts_with(&format!("{} ", s.pid())));
	// The trace saw the file work (on some thread): it cannot pass by seeing nothing.
	assert!(workers.iter().any(|l| l.contains("read(")) && workers.iter().any(|l| l.contains("converse.min.js")), "{on_files:#?}");
	assert!(main.is_empty(), "the executor thread touched the web client's files: {:#?}", &main[..main.len().min(20)]);
}
