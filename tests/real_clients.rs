//! Interoperability with a real client: slixmpp (Debian's python3-slixmpp)
//! drives the server through tests/clients/slix_flows.py, one scenario per
//! test, each against its own server. The script checks the outcomes and
//! prints every step; here we only start servers and judge its exit status.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{DOMAIN, PASSWORD, Server, server_with_users};

/// Debian's interpreter: the one python3-slixmpp is installed for (a
/// `python3` found on PATH may be another one).
const PYTHON: &str = "/usr/bin/python3";

/// The script gives up on a scenario after 20 s; this only catches a hang.
const HARD_LIMIT: Duration = Duration::from_secs(120);

fn script(name: &str) -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(name)
}

/// A missing client is a failure, never a skip: these tests are the only
/// real-client coverage.
fn require_slixmpp() {
	match Command::new(PYTHON).args(["-c", "import slixmpp; print(slixmpp.__version__)"]).output() {
		Ok(out) if out.status.success() => {}
		Ok(out) => panic!(
			"{PYTHON} cannot import slixmpp ({}); run tests/run, which installs python3-slixmpp",
			String::from_utf8_lossy(&out.stderr).trim()
		),
		Err(e) => panic!("cannot run {PYTHON} ({e}); run tests/run, which installs python3 and python3-slixmpp"),
	}
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
	std::thread::spawn(move || {
		let mut text = String::new();
		let _ = pipe.read_to_string(&mut text);
		text
	})
}

/// Waits for the script, killing it after `HARD_LIMIT`; None if killed.
fn wait(child: &mut std::process::Child) -> Option<ExitStatus> {
	let deadline = Instant::now() + HARD_LIMIT;
	loop {
		if let Some(status) = child.try_wait().expect("wait for python") {
			return Some(status);
		}
		if Instant::now() > deadline {
			let _ = child.kill();
			let _ = child.wait();
			return None;
		}
		std::thread::sleep(Duration::from_millis(50));
	}
}

fn tail(text: &str, lines: usize) -> String {
	let all: Vec<&str> = text.lines().collect();
	all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs one scenario of the script against `s` with `users`. Fails with the
/// script's output and the end of the server log unless it exits with 0.
fn slix(s: &Server, scenario: &str, users: &[&str]) {
	slix_env(s, scenario, users, &[]);
}

/// `slix` with extra environment variables for the script.
fn slix_env(s: &Server, scenario: &str, users: &[&str], env: &[(&str, &str)]) {
	run_script("slix_flows.py", s, scenario, users, env);
}

/// Runs `scenario` of one of the scripts in tests/clients (they share
/// slix_flows.py's command line).
fn run_script(name: &str, s: &Server, scenario: &str, users: &[&str], env: &[(&str, &str)]) {
	require_slixmpp();
	let mut child = Command::new(PYTHON)
		.envs(env.iter().copied())
		.arg(script(name))
		.args(["--port", &s.port.to_string(), "--domain", DOMAIN, "--password", PASSWORD, scenario])
		.args(users)
		.stdin(Stdio::null())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap_or_else(|e| panic!("cannot run {PYTHON} ({e}); run tests/run"));
	let stdout = drain(child.stdout.take().unwrap());
	let stderr = drain(child.stderr.take().unwrap());
	let status = wait(&mut child);
	let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
	if status.is_some_and(|st| st.success()) {
		// Visible with --nocapture.
		print!("{stdout}");
		return;
	}
	let status = status.map_or(format!("killed after {HARD_LIMIT:?}"), |st| st.to_string());
	panic!(
		"slixmpp scenario `{scenario}` failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log (end)\n{}",
		tail(&s.log_text(), 60)
	);
}

#[test]
fn slixmpp_two_accounts_log_in_with_default_sasl() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "login", &["alice", "bob"]);
}

#[test]
fn slixmpp_subscription_handshake_ends_in_both() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "subscription", &["alice", "bob"]);
}

#[test]
fn slixmpp_chat_to_bare_and_full_jid() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "message", &["alice", "bob"]);
}

#[test]
fn slixmpp_offline_messages_arrive_in_order_with_delay() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "offline", &["alice", "bob"]);
}

#[test]
fn slixmpp_roster_remove_ends_both_subscriptions() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "roster_remove", &["alice", "bob"]);
}

#[test]
fn slixmpp_disco_version_ping_time() {
	let s = server_with_users(&["alice"], &[]);
	slix(&s, "services", &["alice"]);
}

#[test]
fn slixmpp_pending_subscription_survives_restart() {
	let s = server_with_users(&["alice", "bob"], &[]);
	// alice asks bob, who has never been online, then leaves.
	slix(&s, "pending_send", &["alice", "bob"]);
	// Same data directory, new process and ports.
	let s = s.restart();
	slix(&s, "pending_receive", &["alice", "bob"]);
}

#[test]
fn slixmpp_forced_mechanisms_scram_sha1_sha256_plain() {
	let s = server_with_users(&["alice"], &[]);
	slix(&s, "mechanisms", &["alice"]);
}

#[test]
fn slixmpp_keeps_bookmarks_in_private_storage() {
	let s = server_with_users(&["alice"], &[]);
	slix(&s, "private_storage", &["alice"]);
}

#[test]
fn slixmpp_asks_for_last_activity() {
	let s = server_with_users(&["alice", "bob"], &[]);
	// Contacts without a handshake: a department group.
	assert!(s.cli(&["group", "add-member", "Team", "alice"], None).0);
	assert!(s.cli(&["group", "add-member", "Team", "bob"], None).0);
	slix(&s, "last_activity", &["alice", "bob"]);
}

#[test]
fn slixmpp_publishes_and_reads_vcards() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "vcard", &["alice", "bob"]);
}

#[test]
fn slixmpp_devices_get_carbons() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "carbons", &["alice", "bob"]);
}

#[test]
fn slixmpp_pep_with_caps_notifications_and_avatars() {
	let s = server_with_users(&["alice", "bob"], &[]);
	assert!(s.cli(&["group", "add", "Team"], None).0);
	assert!(s.cli(&["group", "add-member", "Team", "alice"], None).0);
	assert!(s.cli(&["group", "add-member", "Team", "bob"], None).0);
	slix(&s, "pep", &["alice", "bob"]);
}

#[test]
fn slixmpp_stream_management_acks_and_resumes() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "stream_management", &["alice", "bob"]);
}

#[test]
fn slixmpp_inactive_client_gets_presence_later() {
	let s = server_with_users(&["alice", "bob"], &[]);
	assert!(s.cli(&["group", "add", "Team"], None).0);
	assert!(s.cli(&["group", "add-member", "Team", "alice"], None).0);
	assert!(s.cli(&["group", "add-member", "Team", "bob"], None).0);
	slix(&s, "client_state", &["alice", "bob"]);
}

#[test]
fn slixmpp_blocks_and_unblocks() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "blocking", &["alice", "bob"]);
}

#[test]
fn slixmpp_pages_through_the_archive() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "archive", &["alice", "bob"]);
}

#[test]
fn slixmpp_talks_in_a_room() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "muc", &["alice", "bob"]);
}

#[test]
fn slixmpp_uploads_a_file_over_https() {
	let s = server_with_users(&["alice", "bob"], &[]);
	// slixmpp (aiohttp) checks the certificate: it trusts the box's CA, as a
	// phone would after the first-boot page, and finds the domain on loopback.
	let ca = s.dir.join("tls/ca.crt");
	slix_env(&s, "upload", &["alice", "bob"], &[("SSL_CERT_FILE", ca.to_str().unwrap()), ("XERRA_TEST_RESOLVE", "127.0.0.1")]);
}

#[test]
fn slixmpp_sends_a_file_through_the_proxy() {
	// The proxy tells clients to connect to 127.0.0.1, as a box would give
	// its LAN address.
	let s = server_with_users(&["alice", "bob"], &["proxy_host=127.0.0.1"]);
	run_script("slix_office.py", &s, "proxy", &["alice", "bob"], &[]);
}

#[test]
fn slixmpp_subscribes_to_a_pep_node() {
	let s = server_with_users(&["alice", "bob"], &[]);
	run_script("slix_office.py", &s, "pep_subscribe", &["alice", "bob"], &[]);
}

#[test]
fn slixmpp_sees_a_room_avatar_and_occupant_ids() {
	let s = server_with_users(&["alice", "bob"], &[]);
	run_script("slix_office.py", &s, "room_extras", &["alice", "bob"], &[]);
}

#[test]
fn slixmpp_changes_its_password_and_removes_its_account() {
	let s = server_with_users(&["alice"], &[]);
	run_script("slix_office.py", &s, "account", &["alice"], &[]);
}

/// What Conversations, Monal and Gajim look for (and the compliance suites
/// name) is all there, checked as those clients check it.
#[test]
fn slixmpp_finds_every_feature_the_named_clients_look_for() {
	let s = server_with_users(&["alice"], &["proxy_host=127.0.0.1", "contact_addresses=admin=xmpp:admin@example.test"]);
	let ca = s.dir.join("tls/ca.crt");
	let env = [("SSL_CERT_FILE", ca.to_str().unwrap()), ("XERRA_TEST_RESOLVE", "127.0.0.1")];
	run_script("compliance.py", &s, "compliance", &["alice"], &env);
}

#[test]
fn slixmpp_invites_a_contact() {
	let s = server_with_users(&["alice", "bob"], &[]);
	slix(&s, "invite", &["alice", "bob"]);
}

/// A server with a component `domain` and the script's environment for it.
fn with_component(users: &[&str], domain: &str) -> (Server, Vec<(String, String)>) {
	let s = server_with_users(users, &["component_port=0"]);
	let (ok, out) = s.cli(&["component", "add", domain], None);
	assert!(ok, "{out}");
	let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).expect("secret").trim().to_owned();
	let port = s.listeners.iter().find(|(k, a)| k == "component" && a.is_ipv4()).expect("component listener").1.port();
	let env = vec![
		("XERRA_COMPONENT_DOMAIN".to_owned(), domain.to_owned()),
		("XERRA_COMPONENT_SECRET".to_owned(), secret),
		("XERRA_COMPONENT_PORT".to_owned(), port.to_string()),
	];
	(s, env)
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
	env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn slixmpp_component_echo_bot() {
	let (s, env) = with_component(&["alice"], "echo.example.test");
	slix_env(&s, "component", &["alice"], &env_refs(&env));
}

#[test]
fn slixmpp_component_as_push_app_server() {
	let (s, env) = with_component(&["alice", "bob"], "push.example.test");
	slix_env(&s, "push", &["alice", "bob"], &env_refs(&env));
}

/// A Prosody federation peer (tests/clients/prosody_peer.sh) for
/// `prosody.test` on 127.0.0.2, stopped when dropped.
struct Prosody {
	dir: PathBuf,
}

impl Prosody {
	fn start(our_port: u16) -> Prosody {
		let dir = std::env::temp_dir().join(format!("xerra-prosody-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/prosody_peer.sh");
		let out = Command::new("sh")
			.arg(&script)
			.args(["start", dir.to_str().unwrap(), "127.0.0.2", DOMAIN, "127.0.0.1"])
			// Prosody's own default: no federation without TLS.
			.envs([("PROSODY_OUR_PORT", our_port.to_string()), ("PROSODY_S2S_REQUIRE_ENCRYPTION", "true".to_owned())])
			.output()
			.unwrap_or_else(|e| panic!("cannot run {} ({e}); run tests/run, which installs prosody", script.display()));
		assert!(
			out.status.success(),
			"Prosody did not start (tests/setup installs it):\n{}{}",
			String::from_utf8_lossy(&out.stdout),
			String::from_utf8_lossy(&out.stderr)
		);
		Prosody { dir }
	}

	fn log(&self) -> String {
		std::fs::read_to_string(self.dir.join("prosody.log")).unwrap_or_default()
	}
}

impl Drop for Prosody {
	fn drop(&mut self) {
		let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/prosody_peer.sh");
		let _ = Command::new("sh").arg(script).args(["stop", self.dir.to_str().unwrap()]).status();
		let _ = std::fs::remove_dir_all(&self.dir);
	}
}

#[test]
fn slixmpp_federation_with_a_real_prosody() {
	let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
	let s = server_with_users(&["alice"], &[&format!("s2s_port={port}"), "s2s_hosts=prosody.test=127.0.0.2:5269"]);
	let prosody = Prosody::start(port);
	let env = [("PROSODY_DOMAIN", "prosody.test"), ("PROSODY_ADDR", "127.0.0.2:5222")];
	let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| slix_env(&s, "federation", &["alice"], &env)));
	if let Err(e) = run {
		let log = prosody.log();
		let tail: Vec<&str> = log.lines().rev().take(60).collect();
		eprintln!("--- Prosody log (end)\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
		std::panic::resume_unwind(e);
	}
	// Dialback went both ways: each server checked the other's key.
	assert!(s.log_text().contains("prosody.test authenticated by dialback"), "{}", s.log_text());
	let log = prosody.log();
	assert!(log.contains("verified dialback key") || log.contains("dialback"), "Prosody verified our key");
}

/// Issue 13: XEP-0133 service administration with slixmpp's xep_0050 and
/// xep_0133 plugins: an admin adds, disables and re-enables an account,
/// counts users, announces and sets the message of the day; a user without
/// the role is refused.
#[test]
fn slixmpp_administers_the_server_with_xep_0133() {
	let s = server_with_users(&["bob"], &[]);
	assert!(s.cli(&["user", "add", "--admin", "boss", "--password-stdin"], Some(PASSWORD)).0);
	run_script("slix_admin.py", &s, "admin", &["boss", "bob"], &[]);
}
