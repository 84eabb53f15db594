//! Certificates (generated, or the admin's PEM files reloaded on SIGHUP),
//! IPv6 listeners, and what the log may not contain.

mod common;

use std::time::Duration;

use common::client::Client;
use common::{PASSWORD, server_with_users};

/// DER of the named curve prime256v1 (1.2.840.10045.3.1.7).
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn cert_over_starttls(port: u16) -> Vec<u8> {
	let mut c = Client::connect(port);
	c.open();
	c.starttls();
	c.peer_cert()
}

fn write_pair(dir: &std::path::Path) -> Vec<u8> {
	let generated = rcgen::generate_simple_self_signed(vec!["example.test".to_string()]).unwrap();
	std::fs::write(dir.join("admin.crt"), generated.cert.pem()).unwrap();
	std::fs::write(dir.join("admin.key"), generated.signing_key.serialize_pem()).unwrap();
	generated.cert.der().to_vec()
}

#[test]
fn generated_certificate_is_p256_and_kept_across_restarts() {
	let s = server_with_users(&["alice"], &[]);
	let first = cert_over_starttls(s.port);
	assert!(first.windows(P256_OID.len()).any(|w| w == P256_OID), "not an ECDSA P-256 certificate");
	let key = s.dir.join("tls/example.test.key");
	use std::os::unix::fs::PermissionsExt as _;
	assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
	let s = s.restart();
	assert_eq!(cert_over_starttls(s.port), first);
	assert_eq!(Client::connect_tls(s.tls_port).peer_cert(), first);
}

#[test]
fn admin_certificate_and_reload_on_sighup() {
	let pem_dir = std::env::temp_dir().join(format!("xerra-pem-{}", std::process::id()));
	std::fs::create_dir_all(&pem_dir).unwrap();
	let a = write_pair(&pem_dir);
	let cert = format!("tls_cert={}", pem_dir.join("admin.crt").display());
	let key = format!("tls_key={}", pem_dir.join("admin.key").display());
	let s = server_with_users(&["alice"], &[&cert, &key]);
	assert_eq!(cert_over_starttls(s.port), a);
	let mut direct = Client::connect_tls(s.tls_port);
	assert_eq!(direct.peer_cert(), a);
	let mut old = s.login("alice");
	// New files, then SIGHUP: new connections get the new certificate.
	let b = write_pair(&pem_dir);
	s.hup();
	let deadline = std::time::Instant::now() + Duration::from_secs(10);
	while cert_over_starttls(s.port) != b {
		assert!(std::time::Instant::now() < deadline, "certificate not reloaded");
		std::thread::sleep(Duration::from_millis(50));
	}
	// Broken files: the reload fails, the old certificate stays, all keeps working.
	std::fs::write(pem_dir.join("admin.crt"), "not a certificate").unwrap();
	s.hup();
	std::thread::sleep(Duration::from_millis(300));
	assert_eq!(cert_over_starttls(s.port), b);
	assert!(s.log_text().contains("TLS reload failed"), "{}", s.log_text());
	let r = old.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	direct.open();
	direct.scram("alice", PASSWORD, "SCRAM-SHA-256-PLUS").unwrap();
	let _ = std::fs::remove_dir_all(&pem_dir);
}

#[test]
fn unusable_certificate_stops_start_up_with_a_clear_error() {
	let dir = std::env::temp_dir().join(format!("xerra-badpem-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	std::fs::write(dir.join("bad.crt"), "garbage").unwrap();
	std::fs::write(dir.join("bad.key"), "garbage").unwrap();
	let mut cmd = std::process::Command::new(common::bin());
	cmd.args([
		"--data-dir",
		dir.join("data").to_str().unwrap(),
		"run",
		"--set",
		"listen=127.0.0.1",
		"--set",
		"c2s_port=0",
		"--set",
		"c2s_tls_port=0",
		"--set",
		"http_port=off",
		"--set",
		"upload_port=off",
		"--set",
		"s2s_port=off",
		"--set",
		"component_port=off",
		"--set",
		"proxy_port=off",
		"--domain",
		"example.test",
	])
	.args([
		"--set",
		&format!("tls_cert={}", dir.join("bad.crt").display()),
		"--set",
		&format!("tls_key={}", dir.join("bad.key").display()),
	]);
	let out = common::run_within(&mut cmd, common::CHILD_DEADLINE, "xerra run with a bad certificate").unwrap();
	assert!(!out.status.success());
	let err = String::from_utf8_lossy(&out.stderr);
	assert!(err.contains("bad.crt"), "{err}");
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn listens_on_ipv4_and_ipv6() {
	let s = server_with_users(&["alice"], &["listen=127.0.0.1,::1"]);
	let v6: Vec<_> = s.listeners.iter().filter(|(k, a)| a.is_ipv6() && k.starts_with("c2s")).collect();
	assert_eq!(v6.len(), 2, "{:?}", s.listeners);
	let (_, addr) = v6.iter().find(|(k, _)| k == "c2s").unwrap();
	let mut c = Client::connect_addr(*addr);
	c.open();
	c.starttls();
	c.open();
	c.scram("alice", PASSWORD, "SCRAM-SHA-256-PLUS").unwrap();
	c.open();
	c.bind(None).unwrap();
}

#[test]
fn logs_hold_no_passwords_or_message_bodies() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut b = s.online("bob");
	let mut a = s.online("alice");
	a.send("<message to='bob@example.test' type='chat'><body>SECRET-BODY-42</body></message>");
	b.wait_for(|e| e.name() == "message");
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	assert!(c.plain("alice", "WRONG-PASSWORD-42").is_err());
	std::thread::sleep(Duration::from_millis(200));
	// The server runs with --log debug in tests: even debug is clean.
	let log = s.log_text();
	for secret in ["SECRET-BODY-42", "WRONG-PASSWORD-42", PASSWORD] {
		assert!(!log.contains(secret), "{secret} in the log");
	}
	assert!(log.contains("login failed for alice"), "{log}");
}
