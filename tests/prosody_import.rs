//! Moving in from a real Prosody 0.12 (Debian's package) with `xerra import
//! --prosody DIR`: a private Prosody on loopback (its own config and data
//! dir, no service, no DNS) is filled through slixmpp
//! (tests/clients/prosody_move.py), stopped, imported; the same people then
//! log in to Xerra with their old passwords and find their contacts,
//! pending request, offline message, history, vCard, private XML, PEP nick
//! and room. A damaged file skips its account only. While any account has
//! SCRAM-SHA-1 keys only, SCRAM-SHA-256 is not offered; a PLAIN login makes
//! the missing keys.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{CHILD_DEADLINE, DOMAIN, Server, cli, run_within};

const PYTHON: &str = "/usr/bin/python3";
const USERS: [(&str, &str); 4] = [("alice", "alice-old-pw"), ("bob", "bob pw \u{e9}"), ("carol", "carol pw"), ("dave", "dave pw")];

fn script() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/prosody_move.py")
}

fn muc() -> String {
	format!("rooms.{DOMAIN}")
}

/// A private Prosody for `DOMAIN` (and its MUC service) in `dir`.
struct Prosody {
	dir: PathBuf,
	port: u16,
	child: Option<Child>,
}

impl Prosody {
	fn config(&self) -> String {
		self.dir.join("prosody.cfg.lua").display().to_string()
	}

	fn new(dir: &Path) -> Prosody {
		assert!(Path::new("/usr/bin/prosody").exists(), "Debian's prosody (0.12) is not installed; run tests/run, which installs it");
		std::fs::create_dir_all(dir.join("data")).unwrap();
		// A port nobody uses now (Prosody needs a number of its own).
		let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
		let d = dir.display();
		let key = dir.join("p.key");
		let crt = dir.join("p.crt");
		let ok = Command::new("openssl")
			.args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &format!("/CN={DOMAIN}"), "-keyout"])
			.arg(&key)
			.arg("-out")
			.arg(&crt)
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.status()
			.unwrap();
		assert!(ok.success(), "openssl");
		std::fs::write(dir.join("resolv.conf"), "nameserver 127.0.0.254\n").unwrap();
		std::fs::write(dir.join("hosts"), format!("127.0.0.1 {DOMAIN}\n")).unwrap();
		let root = unsafe_is_root();
		std::fs::write(
			dir.join("prosody.cfg.lua"),
			format!(
				r#"-- written by tests/prosody_import.rs
run_as_root = {root}
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{d}/prosody.log" }} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ }}
s2s_direct_tls_ports = {{ }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
use_ipv6 = false
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "vcard_legacy"; "private"; "offline"; "pep"; "mam"; "blocklist"; "carbons" }}
modules_disabled = {{ "s2s" }}
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = false
default_archive_policy = true
unbound = {{ resolvconf = "{d}/resolv.conf"; hoststxt = "{d}/hosts" }}
VirtualHost "{DOMAIN}"
	ssl = {{ certificate = "{crt}"; key = "{key}" }}
Component "rooms.{DOMAIN}" "muc"
	restrict_room_creation = false
	modules_enabled = {{ "muc_mam" }}
"#,
				crt = crt.display(),
				key = key.display(),
			),
		)
		.unwrap();
		Prosody { dir: dir.to_owned(), port, child: None }
	}

	fn register(&self, user: &str, password: &str) {
		let out = run_within(
			Command::new("prosodyctl").args(["--config", &self.config(), "register", user, DOMAIN, password]),
			CHILD_DEADLINE,
			"prosodyctl register",
		)
		.unwrap();
		assert!(out.status.success(), "prosodyctl register {user}: {}", String::from_utf8_lossy(&out.stderr));
	}

	fn start(&mut self) {
		let log = std::fs::File::create(self.dir.join("prosody.stdout")).unwrap();
		let child = Command::new("prosody")
			.args(["--config", &self.config(), "-F"])
			.stdin(Stdio::null())
			.stdout(log.try_clone().unwrap())
			.stderr(log)
			.spawn()
			.expect("start prosody");
		self.child = Some(child);
		let end = Instant::now() + Duration::from_secs(20);
		while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
			assert!(Instant::now() < end, "prosody did not listen within 20 s: {}", self.log());
			std::thread::sleep(Duration::from_millis(100));
		}
	}

	/// SIGTERM, as systemd would: Prosody saves and exits.
	fn stop(&mut self) {
		if let Some(mut c) = self.child.take() {
			let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
			common::wait_within(&mut c, Duration::from_secs(20), "prosody stopping");
		}
	}

	fn log(&self) -> String {
		std::fs::read_to_string(self.dir.join("prosody.log")).unwrap_or_default()
	}

	fn host_dir(&self) -> PathBuf {
		self.dir.join("data").join(DOMAIN.replace('.', "%2e"))
	}
}

impl Drop for Prosody {
	fn drop(&mut self) {
		self.stop();
	}
}

fn unsafe_is_root() -> bool {
	Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs prosody_move.py; panics with its output unless it passed.
fn slix(what: &str, port: u16, extra: &[&str], context: &dyn Fn() -> String) -> String {
	let out = run_within(
		Command::new(PYTHON)
			.arg(script())
			.arg(what)
			.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--domain", DOMAIN, "--muc", &muc()])
			.args(extra),
		CHILD_DEADLINE,
		"prosody_move.py",
	)
	.expect("run /usr/bin/python3 (python3-slixmpp: run tests/run)");
	let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
	assert!(out.status.success(), "prosody_move.py {what} failed:\n{text}\n--- context\n{}", context());
	text
}

fn temp_dir(name: &str) -> PathBuf {
	let d = std::env::temp_dir().join(format!("xerra-prosody-{}-{name}", std::process::id()));
	let _ = std::fs::remove_dir_all(&d);
	std::fs::create_dir_all(&d).unwrap();
	d
}

#[test]
fn a_prosody_office_moves_in_with_its_passwords_contacts_history_and_rooms() {
	let pdir = temp_dir("prosody");
	let mut p = Prosody::new(&pdir);
	for (u, pw) in USERS {
		p.register(u, pw);
	}
	p.start();
	slix("fill", p.port, &[], &|| p.log());
	p.stop();
	// dave's roster is cut short, as by a full disk: dave alone is skipped.
	let dave_roster = p.host_dir().join("roster").join("dave.dat");
	std::fs::create_dir_all(dave_roster.parent().unwrap()).unwrap();
	std::fs::write(&dave_roster, "return {\n\t[\"alice@example.test\"] = {\n\t\t[\"subscr").unwrap();

	let xdir = temp_dir("xerra");
	let (ok, out) = cli(&xdir, &["config", "set", "domain", DOMAIN], None);
	assert!(ok, "{out}");
	let (ok, out) = cli(&xdir, &["import", "--prosody", pdir.join("data").to_str().unwrap()], None);
	assert!(!ok, "a skipped account makes the import fail: {out}");
	assert!(out.contains("imported 3 accounts, 1 rooms"), "{out}");
	assert!(out.contains("skipped dave: ") && out.contains("dave.dat: the file ends inside a value"), "{out}");
	assert!(out.contains("alice: only SCRAM-SHA-1 keys"), "{out}");

	let (_, out) = cli(&xdir, &["status"], None);
	assert!(out.contains("SCRAM-SHA-256: not offered: 3 imported accounts have SCRAM-SHA-1 keys only"), "{out}");

	let s = Server::start_in(xdir, Vec::new());
	let log = || s.log_text();
	// Logged right after "ready": give the log reader a moment.
	let end = Instant::now() + Duration::from_secs(10);
	while !s.log_text().contains("SCRAM-SHA-256 is not offered: 3 imported accounts") {
		assert!(Instant::now() < end, "{}", s.log_text());
		std::thread::sleep(Duration::from_millis(50));
	}
	// slixmpp picks the strongest mechanism offered: SCRAM-SHA-256 is not,
	// so it never meets an account without its keys.
	let text = slix("check", s.port, &[], &log);
	assert!(text.contains("mechanism SCRAM-SHA-1") && !text.contains("invalid-mechanism"), "{text}");
	slix("login", s.port, &["--mech", "SCRAM-SHA-1"], &log);
	// A PLAIN login puts the password to use: both key sets, and SCRAM-SHA-256 is back.
	slix("login", s.port, &["--mech", "PLAIN"], &log);
	let end = Instant::now() + Duration::from_secs(30);
	loop {
		let (ok, out) = s.cli(&["status"], None);
		if ok && !out.contains("SCRAM-SHA-256: not offered") {
			break;
		}
		assert!(Instant::now() < end, "the keys made at the PLAIN logins were not stored: {out}\n{}", s.log_text());
		std::thread::sleep(Duration::from_millis(200));
	}
	let text = slix("login", s.port, &[], &log);
	for u in ["alice", "bob", "carol"] {
		assert!(text.contains(&format!("ok: {u} logged in with SCRAM-SHA-256")), "{text}");
	}
	slix("login", s.port, &["--mech", "SCRAM-SHA-1"], &log);
	// dave was not imported at all.
	let (ok, out) = s.cli(&["user", "list"], None);
	assert!(ok && out.contains("alice") && !out.contains("dave"), "{out}");
	drop(p);
	let _ = std::fs::remove_dir_all(&pdir);
}

#[test]
fn a_directory_without_this_domain_imports_nothing_and_says_what_it_has() {
	let pdir = temp_dir("other");
	std::fs::create_dir_all(pdir.join("other%2eexample/accounts")).unwrap();
	std::fs::write(pdir.join("other%2eexample/accounts/zed.dat"), "return { password = \"x\" };\n").unwrap();
	let xdir = temp_dir("xerra-other");
	let (ok, out) = cli(&xdir, &["config", "set", "domain", DOMAIN], None);
	assert!(ok, "{out}");
	let (ok, out) = cli(&xdir, &["import", "--prosody", pdir.to_str().unwrap()], None);
	assert!(!ok && out.contains("has no data for example.test") && out.contains("other.example"), "{out}");
	let (ok, out) = cli(&xdir, &["user", "list"], None);
	assert!(ok && !out.contains("zed"), "{out}");
	for d in [pdir, xdir] {
		let _ = std::fs::remove_dir_all(d);
	}
}
