//! Calls: XEP-0215 over XMPP from a real server, and Debian's coturn run
//! from the configuration file that server writes (the same file the
//! appliance's coturn reads), checked with coturn's own
//! `turnutils_uclient`: an allocation with the credentials handed out
//! succeeds; expired and forged ones are refused.

mod common;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::client::error_condition;
use common::{Client, DOMAIN, Server, run_within};
use xerra::xmpp::element::Element;

const EXTDISCO: &str = "urn:xmpp:extdisco:2";

fn free_port() -> u16 {
	// Free for TCP and UDP both (coturn takes both).
	loop {
		let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
		let port = tcp.local_addr().unwrap().port();
		if port < 60_000 && UdpSocket::bind(("127.0.0.1", port)).is_ok() {
			return port;
		}
	}
}

/// The TURN settings of a test server with the box's own coturn on loopback.
fn turn_settings(port: u16) -> Vec<String> {
	vec![
		"turn=local".into(),
		"turn_listen=127.0.0.1".into(),
		"turn_host=127.0.0.1".into(),
		format!("turn_port={port}"),
		format!("turn_relay_ports={}-{}", port + 1, port + 200),
	]
}

/// Waits for the file the server writes a moment after it is ready.
fn wait_for_file(path: &Path) -> String {
	let end = Instant::now() + Duration::from_secs(20);
	loop {
		if let Ok(text) = std::fs::read_to_string(path) {
			return text;
		}
		assert!(Instant::now() < end, "{} was not written", path.display());
		std::thread::sleep(Duration::from_millis(50));
	}
}

/// coturn, killed when dropped.
struct Coturn(Child);

impl Coturn {
	fn start(config: &Path, dir: &Path, port: u16) -> Coturn {
		let child = Command::new("turnserver")
			.arg("-c")
			.arg(config)
			.arg("--pidfile")
			.arg(dir.join("turnserver.pid"))
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.spawn()
			.expect("turnserver (Debian package coturn; tests/setup installs it)");
		let mut c = Coturn(child);
		// Listening once its UDP port is taken.
		let end = Instant::now() + Duration::from_secs(20);
		while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
			assert!(c.0.try_wait().unwrap().is_none(), "turnserver exited at start");
			assert!(Instant::now() < end, "turnserver did not listen on {port} within 20 s");
			std::thread::sleep(Duration::from_millis(50));
		}
		c
	}
}

impl Drop for Coturn {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

/// One allocation with `turnutils_uclient` (UDP, or TCP to the server with
/// `tcp`), then a channel to a loopback peer, which the box refuses.
/// Returns (exit success, output).
fn uclient(port: u16, username: &str, password: &str, tcp: bool) -> (bool, String) {
	let mut cmd = Command::new("turnutils_uclient");
	cmd.args(["-v", "-c", "-n", "1", "-m", "1", "-e", "127.0.0.1"]);
	if tcp {
		cmd.arg("-t");
	}
	cmd.args(["-p", &port.to_string(), "-u", username, "-w", password, "127.0.0.1"]);
	let out = run_within(&mut cmd, Duration::from_secs(60), "turnutils_uclient").expect("turnutils_uclient (Debian package coturn)");
	let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
	(out.status.success(), text)
}

/// The relay port coturn gave, if the allocation succeeded.
fn relay_port(out: &str) -> Option<u16> {
	let line = out.lines().find(|l| l.contains("Received relay addr: "))?;
	line.rsplit(':').next()?.trim().parse().ok()
}

fn services(c: &mut Client, query: &str) -> Element {
	c.iq(&format!("<iq type='get' to='{DOMAIN}'>{query}</iq>"))
}

/// The TURN over UDP entry of a `<services/>` answer: (username, password).
fn turn_udp(answer: &Element) -> (String, String) {
	assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
	let list = answer.child("services", EXTDISCO).expect("services");
	let s = list
		.children()
		.find(|s| s.attr("type") == Some("turn") && s.attr("transport") == Some("udp"))
		.unwrap_or_else(|| panic!("no turn/udp service in {list:?}"));
	(s.attr("username").unwrap().to_owned(), s.attr("password").unwrap().to_owned())
}

fn config_path(s: &Server) -> PathBuf {
	s.dir.join("turnserver.conf")
}

#[test]
fn coturn_takes_the_credentials_the_server_hands_out_and_refuses_expired_and_forged_ones() {
	let port = free_port();
	let mut s = Server::start(&turn_settings(port).iter().map(String::as_str).collect::<Vec<_>>());
	s.add_user("alice");
	let conf_path = config_path(&s);
	let conf = wait_for_file(&conf_path);
	use std::os::unix::fs::PermissionsExt as _;
	assert_eq!(std::fs::metadata(&conf_path).unwrap().permissions().mode() & 0o777, 0o600);
	assert!(conf.contains(&format!("realm={DOMAIN}\n")) && conf.contains("use-auth-secret\n"), "{conf}");
	assert!(!s.log_text().contains(conf.lines().find(|l| l.starts_with("static-auth-secret=")).unwrap().split('=').nth(1).unwrap()));
	let coturn = Coturn::start(&conf_path, &s.dir, port);

	let mut alice = s.login("alice");
	let (user, pass) = turn_udp(&services(&mut alice, &format!("<services xmlns='{EXTDISCO}'/>")));
	assert!(user.ends_with(":alice@example.test"), "{user}");

	let (_, out) = uclient(port, &user, &pass, false);
	let relay = relay_port(&out).unwrap_or_else(|| panic!("no allocation with good credentials:\n{out}"));
	assert!((port + 1..=port + 200).contains(&relay), "relay port {relay} outside turn_relay_ports:\n{out}");
	// The box refuses relaying to loopback (denied-peer-ip).
	assert!(out.contains("403 (Forbidden IP)"), "a loopback peer was not refused:\n{out}");
	let (_, out) = uclient(port, &user, &pass, true);
	assert!(relay_port(&out).is_some(), "no allocation over TCP:\n{out}");

	// Forged: a later expiry with the same password.
	let (expiry, account) = user.split_once(':').unwrap();
	let forged = format!("{}:{account}", expiry.parse::<u64>().unwrap() + 86_400);
	let (ok, out) = uclient(port, &forged, &pass, false);
	assert!(!ok && relay_port(&out).is_none() && out.contains("Cannot complete Allocation"), "forged credential taken:\n{out}");
	// Another account's name with alice's password.
	let (ok, out) = uclient(port, &format!("{expiry}:bob@example.test"), &pass, false);
	assert!(!ok && relay_port(&out).is_none(), "forged credential taken:\n{out}");

	// Again with credentials valid for one second: the same secret (stored),
	// so the same file, untouched; coturn keeps running.
	let mtime = std::fs::metadata(&conf_path).unwrap().modified().unwrap();
	s.stop();
	let dir = std::mem::take(&mut s.dir);
	drop(s);
	let mut settings = turn_settings(port);
	settings.push("turn_credential_ttl=1".into());
	let s = Server::start_in(dir, settings);
	std::thread::sleep(Duration::from_millis(500));
	assert_eq!(std::fs::read_to_string(&conf_path).unwrap(), conf, "same settings, same file");
	assert_eq!(std::fs::metadata(&conf_path).unwrap().modified().unwrap(), mtime, "an unchanged file is not rewritten");
	let mut alice = s.login("alice");
	let (user, pass) = turn_udp(&services(&mut alice, &format!("<services xmlns='{EXTDISCO}' type='turn'/>")));
	std::thread::sleep(Duration::from_secs(3));
	let (ok, out) = uclient(port, &user, &pass, false);
	assert!(!ok && relay_port(&out).is_none() && out.contains("Cannot complete Allocation"), "expired credential taken:\n{out}");
	drop(coturn);

	// turn = off: the file goes, so the image's coturn does not start.
	let mut s = s;
	s.stop();
	let dir = std::mem::take(&mut s.dir);
	drop(s);
	let _s = Server::start_in(dir, vec!["turn=off".into()]);
	let end = Instant::now() + Duration::from_secs(20);
	while conf_path.exists() {
		assert!(Instant::now() < end, "turnserver.conf still there with turn = off");
		std::thread::sleep(Duration::from_millis(50));
	}
}

#[test]
fn extdisco_is_announced_and_answers_only_when_configured() {
	let off = common::server_with_users(&["alice"], &[]);
	let mut a = off.login("alice");
	let info = a.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	assert!(!info.child("query", "http://jabber.org/protocol/disco#info").unwrap().children().any(|f| f.attr("var") == Some(EXTDISCO)));
	let e = services(&mut a, &format!("<services xmlns='{EXTDISCO}'/>"));
	assert_eq!(error_condition(&e), "service-unavailable");
	drop(a);
	drop(off);

	let on = common::server_with_users(
		&["alice"],
		&["turn=external", "turn_host=turn.example.test", "turn_secret=0123456789abcdef0123", "turns_port=5349"],
	);
	let mut a = on.login("alice");
	let info = a.iq(&format!("<iq type='get' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
	let vars: Vec<&str> =
		info.child("query", "http://jabber.org/protocol/disco#info").unwrap().children().filter_map(|f| f.attr("var")).collect();
	assert!(vars.contains(&EXTDISCO) && vars.contains(&"urn:xmpp:extdisco:1"), "{vars:?}");

	let all = services(&mut a, &format!("<services xmlns='{EXTDISCO}'/>"));
	let kinds: Vec<(String, String)> = all
		.child("services", EXTDISCO)
		.unwrap()
		.children()
		.map(|s| (s.attr("type").unwrap().to_owned(), s.attr("transport").unwrap().to_owned()))
		.collect();
	let want: Vec<(String, String)> =
		[("stun", "udp"), ("turn", "udp"), ("turn", "tcp"), ("turns", "tcp")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
	assert_eq!(kinds, want);
	let turn = all.child("services", EXTDISCO).unwrap().children().nth(1).unwrap().clone();
	assert_eq!(turn.attr("host"), Some("turn.example.test"));
	assert!(turn.attr("expires").is_some_and(|e| e.ends_with('Z')), "{turn:?}");

	// A type filter.
	let stun = services(&mut a, &format!("<services xmlns='{EXTDISCO}' type='stun'/>"));
	let list = stun.child("services", EXTDISCO).unwrap();
	assert!(list.children().count() == 1 && list.children().all(|s| s.attr("type") == Some("stun") && s.attr("username").is_none()));

	// <credentials/> for a service, and errors.
	let c = services(&mut a, &format!("<credentials xmlns='{EXTDISCO}'><service type='turn' host='turn.example.test'/></credentials>"));
	let creds = c.child("credentials", EXTDISCO).unwrap_or_else(|| panic!("{c:?}"));
	assert!(creds.children().count() >= 2 && creds.children().all(|s| s.attr("password").is_some()));
	let e = services(&mut a, &format!("<credentials xmlns='{EXTDISCO}'><service type='turn' host='elsewhere.test'/></credentials>"));
	assert_eq!(error_condition(&e), "item-not-found");
	let e = services(&mut a, &format!("<credentials xmlns='{EXTDISCO}'/>"));
	assert_eq!(error_condition(&e), "bad-request");

	// The older namespace, as older clients ask.
	let v1 = services(&mut a, "<services xmlns='urn:xmpp:extdisco:1'/>");
	let list = v1.child("services", "urn:xmpp:extdisco:1").unwrap_or_else(|| panic!("{v1:?}"));
	assert!(list.children().any(|s| s.attr("type") == Some("turn") && s.attr("password").is_some()));
}
