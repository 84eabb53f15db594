//! Backups (issue 14) with the real binary: a populated box backed up while
//! a client sends messages, restored into a fresh data directory and
//! compared; `kill -9` during creation and restore; wrong keys and damaged
//! or newer files change nothing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::client::tls_config;
use common::{Client, DOMAIN, Server, bin, cli, server_with_users};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};
use xerra::xmpp::element::Element;

const UPLOAD: &str = "urn:xmpp:http:upload:0";
const MAM: &str = "urn:xmpp:mam:2";

fn temp(tag: &str) -> PathBuf {
	let d = std::env::temp_dir().join(format!("xerra-backup-it-{}-{tag}", std::process::id()));
	let _ = std::fs::remove_dir_all(&d);
	d
}

fn upload_port(s: &Server) -> u16 {
	s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an upload listener")
}

/// One HTTPS request to the upload port; (status, body).
fn https(port: u16, request: &[u8]) -> (u16, Vec<u8>) {
	let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
	let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
	let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
	tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let mut tls = StreamOwned::new(conn, tcp);
	let _ = tls.write_all(request).and_then(|()| tls.flush());
	let mut raw = Vec::new();
	let _ = tls.read_to_end(&mut raw);
	let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
	let head = String::from_utf8_lossy(&raw[..split]).into_owned();
	(head.split(' ').nth(1).unwrap().parse().unwrap(), raw[split..].to_vec())
}

/// Uploads `body` as alice's file; returns the GET path.
fn upload(s: &Server, c: &mut Client, body: &[u8]) -> String {
	let r = c.iq(&format!(
		"<iq type='get' to='{DOMAIN}'><request xmlns='{UPLOAD}' filename='plan.bin' size='{}' content-type='application/octet-stream'/></iq>",
		body.len()
	));
	let slot = r.child("slot", UPLOAD).unwrap_or_else(|| panic!("{}", r.to_xml("jabber:client")));
	let path = |el: &str| {
		let url = slot.child(el, UPLOAD).unwrap().attr("url").unwrap().to_owned();
		url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap()
	};
	let (put, get) = (path("put"), path("get"));
	let mut req =
		format!("PUT {put} HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n", body.len())
			.into_bytes();
	req.extend_from_slice(body);
	assert_eq!(https(upload_port(s), &req).0, 201);
	get
}

fn download(s: &Server, get: &str) -> (u16, Vec<u8>) {
	https(upload_port(s), format!("GET {get} HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n").as_bytes())
}

/// Bytes no compressor shrinks, from a simple generator (no extra crate).
fn noise(n: usize, seed: u64) -> Vec<u8> {
	let mut x = seed | 1;
	(0..n)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			(x >> 24) as u8
		})
		.collect()
}

fn ok(r: (bool, String)) -> String {
	assert!(r.0, "{}", r.1);
	r.1
}

/// `xerra backup key` on the box; returns a key file holding the secret.
fn make_key(s: &Server, file: &Path) {
	let out = ok(s.cli(&["backup", "key"], None));
	let key = out.split_whitespace().find(|w| w.starts_with("AGE-SECRET-KEY-1")).expect("the key is shown");
	assert!(out.contains("backup_recipient"), "{out}");
	std::fs::write(file, format!("# Xerra recovery key\n{key}\n")).unwrap();
}

fn dump(dir: &Path) -> String {
	xerra::store::dump_file(&dir.join("xerra.redb")).unwrap()
}

/// `xerra export` of a stopped box (every account, rooms, departments).
fn export(dir: &Path, to: &Path) -> String {
	ok(cli(dir, &["export", to.to_str().unwrap()], None));
	let xml = std::fs::read_to_string(to).unwrap();
	assert!(xml.contains("<user ") && xml.contains("<body>m2</body>"), "the export has the accounts and their messages: {xml}");
	xml
}

fn read(dir: &Path, p: &str) -> Vec<u8> {
	std::fs::read(dir.join(p)).unwrap_or_default()
}

/// Every file under `dir/sub`, with its content.
fn files(dir: &Path, sub: &str) -> Vec<(String, Vec<u8>)> {
	let mut out: Vec<_> = std::fs::read_dir(dir.join(sub))
		.map(|rd| rd.flatten().map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())).collect())
		.unwrap_or_default();
	out.sort();
	out
}

fn mam_bodies(c: &mut Client) -> Vec<String> {
	let id = c.id();
	c.send(&format!("<iq type='set' id='{id}'><query xmlns='{MAM}' queryid='q'/></iq>"));
	let mut out = Vec::new();
	loop {
		let e = c.wait_for(|e| e.attr("id") == Some(id.as_str()) || e.child("result", MAM).is_some());
		if e.name() == "iq" {
			assert_eq!(e.attr("type"), Some("result"));
			return out;
		}
		let m =
			e.child("result", MAM).unwrap().child("forwarded", "urn:xmpp:forward:0").unwrap().child("message", "jabber:client").unwrap();
		out.push(m.child("body", "jabber:client").map(Element::text).unwrap_or_default());
	}
}

/// Carol's messages to bob with a ping after each: `acked` is the last
/// message whose ping was answered (so it is on disk).
struct Load {
	c: Client,
	sent: u32,
	acked: Option<u32>,
}

impl Load {
	fn send(&mut self) {
		let i = self.sent;
		self.c.send(&format!(
			"<message to='bob@{DOMAIN}' type='chat'><body>c{i}</body></message><iq type='get' id='p{i}'><ping xmlns='urn:xmpp:ping'/></iq>"
		));
		self.sent += 1;
	}

	fn read(&mut self, d: Duration) {
		for el in self.c.drain(d) {
			if let Some(n) = el.attr("id").and_then(|id| id.strip_prefix('p')).and_then(|n| n.parse::<u32>().ok()) {
				assert_eq!(el.attr("type"), Some("result"));
				self.acked = Some(n);
			}
		}
	}

	fn settle(&mut self) {
		let deadline = Instant::now() + Duration::from_secs(30);
		while self.acked.map_or(0, |a| a + 1) < self.sent {
			assert!(Instant::now() < deadline, "pings unanswered");
			self.read(Duration::from_millis(50));
		}
	}
}

#[test]
fn a_box_backed_up_under_load_comes_back_the_same() {
	let mut s = server_with_users(&["alice", "bob", "carol"], &[]);
	let work = temp("roundtrip");
	std::fs::create_dir_all(&work).unwrap();
	let key = work.join("key.txt");
	make_key(&s, &key);
	// As the first-boot wizard does: the domain is stored, not only given at start.
	ok(s.cli(&["config", "set", "domain", DOMAIN], None));
	// Departments: alice and bob become mutual contacts in "Sales".
	ok(s.cli(&["group", "add", "Sales"], None));
	ok(s.cli(&["group", "add-member", "Sales", "alice"], None));
	ok(s.cli(&["group", "add-member", "Sales", "bob"], None));
	let mut alice = s.online("alice");
	let served_cert = alice.peer_cert();
	assert!(!served_cert.is_empty());
	let r = alice.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice Archer</FN></vCard></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	// A persistent room.
	alice.send(&format!("<presence to='team@rooms.{DOMAIN}/a'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
	alice.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	ok(s.cli(&["room", "persist", "team", "on"], None));
	// An uploaded file.
	let file = noise(200_000, 7);
	let get = upload(&s, &mut alice, &file);
	// History and offline messages: bob is offline.
	for i in 0..5 {
		alice.send(&format!("<message to='bob@{DOMAIN}' type='chat'><body>a{i}</body></message>"));
	}
	let r = alice.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(r.attr("type"), Some("result"));
	drop(alice);

	// Under load: carol keeps sending while the backup is made.
	let mut load = Load { c: s.online("carol"), sent: 0, acked: None };
	for _ in 0..20 {
		load.send();
	}
	load.settle();
	let acked_before = load.acked.unwrap();
	let out = work.join("box.xerra-backup");
	let mut child = Command::new(bin())
		.arg("--data-dir")
		.arg(&s.dir)
		.args(["backup", "create"])
		.arg(&out)
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	let started = Instant::now();
	let status = loop {
		if let Some(st) = child.try_wait().unwrap() {
			break st;
		}
		assert!(started.elapsed() < Duration::from_secs(120), "backup create hangs");
		load.send();
		load.read(Duration::from_millis(2));
	};
	let mut text = String::new();
	child.stderr.take().unwrap().read_to_string(&mut text).unwrap();
	child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
	assert!(status.success(), "{text}");
	assert!(text.contains("backup written") && text.contains("3 accounts"), "{text}");
	load.settle();
	eprintln!("{} messages sent during the backup ({} ms)", load.sent - acked_before - 1, started.elapsed().as_millis());
	let ok_verify = ok(cli(&work, &["backup", "verify", out.to_str().unwrap(), "--key-file", key.to_str().unwrap()], None));
	assert!(
		ok_verify.contains(&format!("a good backup. {DOMAIN} made")) && ok_verify.contains("3 accounts, 1 rooms, 1 groups"),
		"{ok_verify}"
	);
	drop(load);
	assert!(s.stop());

	// Restore into a fresh data directory and start there.
	let fresh = temp("roundtrip-restored");
	let restored = ok(cli(&fresh, &["backup", "restore", out.to_str().unwrap(), "--key-file", key.to_str().unwrap()], None));
	assert!(restored.contains("restored"), "{restored}");
	assert_eq!(read(&fresh, "tls/ca.crt"), read(&s.dir, "tls/ca.crt"));
	assert_eq!(read(&fresh, "tls/ca.key"), read(&s.dir, "tls/ca.key"));
	assert!(!read(&fresh, "tls/ca.crt").is_empty());
	let r = Server::start_in(fresh.clone(), Vec::new());
	let mut alice = r.online("alice");
	assert_eq!(alice.peer_cert(), served_cert, "the same certificate is served");
	let roster = alice.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>").to_xml("jabber:client");
	assert!(roster.contains(&format!("bob@{DOMAIN}")) && roster.contains("Sales"), "{roster}");
	let card = alice.iq(&format!("<iq type='get' to='alice@{DOMAIN}'><vCard xmlns='vcard-temp'/></iq>")).to_xml("jabber:client");
	assert!(card.contains("Alice Archer"), "{card}");
	let history = mam_bodies(&mut alice);
	assert_eq!(history, (0..5).map(|i| format!("a{i}")).collect::<Vec<_>>());
	assert_eq!(download(&r, &get), (200, file));
	let rooms = ok(r.cli(&["room", "list"], None));
	assert!(rooms.contains(&format!("team@rooms.{DOMAIN}: persistent")), "{rooms}");
	let mut bob = r.online("bob");
	let got: Vec<String> = bob
		.drain(Duration::from_secs(2))
		.iter()
		.filter(|e| e.name() == "message")
		.filter_map(|m| m.child("body", "jabber:client").map(Element::text))
		.collect();
	let from_alice: Vec<_> = got.iter().filter(|b| b.starts_with('a')).cloned().collect();
	assert_eq!(from_alice, (0..5).map(|i| format!("a{i}")).collect::<Vec<_>>());
	let from_carol: Vec<u32> = got.iter().filter_map(|b| b.strip_prefix('c')).map(|n| n.parse().unwrap()).collect();
	// Everything acknowledged before the backup began is there, in order;
	// later messages may be too, as a contiguous run.
	assert!(from_carol.len() > acked_before as usize, "acked {acked_before}, restored {from_carol:?}");
	assert_eq!(from_carol, (0..from_carol.len() as u32).collect::<Vec<_>>());
	drop((alice, bob, r));
	let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_stopped_box_restores_table_by_table_identical() {
	let mut s = server_with_users(&["alice", "bob"], &[]);
	ok(s.cli(&["config", "set", "domain", DOMAIN], None));
	ok(s.cli(&["group", "add", "Ops"], None));
	ok(s.cli(&["group", "add-member", "Ops", "alice"], None));
	ok(s.cli(&["invite", "add", "--uses", "3"], None));
	let mut alice = s.online("alice");
	let get = upload(&s, &mut alice, b"minutes of the meeting");
	for i in 0..3 {
		alice.send(&format!("<message to='bob@{DOMAIN}' type='chat'><body>m{i}</body></message>"));
	}
	alice.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	drop(alice);
	assert!(s.stop());
	let work = temp("stopped");
	std::fs::create_dir_all(&work).unwrap();
	let pass = work.join("pass");
	std::fs::write(&pass, "a long passphrase\n").unwrap();
	// No recovery key and no terminal: a clear error, no file.
	let (fine, text) = cli(&s.dir, &["backup", "create", work.to_str().unwrap()], None);
	assert!(!fine && text.contains("no recovery key is set"), "{text}");
	let before = dump(&s.dir);
	let export_before = export(&s.dir, &work.join("before.xml"));
	let out = ok(cli(&s.dir, &["backup", "create", work.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()], None));
	let file = out.split_whitespace().find(|w| w.ends_with(".xerra-backup")).expect("the file's name").to_owned();
	assert!(file.contains(&format!("xerra-{DOMAIN}-")), "{file}");
	assert_eq!(dump(&s.dir), before, "a backup changes nothing");
	let fresh = temp("stopped-restored");
	ok(cli(&fresh, &["backup", "restore", &file, "--key-file", pass.to_str().unwrap()], None));
	// Table by table, row by row; and a full XEP-0227 export, as another server would read it.
	assert_eq!(dump(&fresh), before);
	assert_eq!(export(&fresh, &work.join("after.xml")), export_before);
	assert_eq!(files(&fresh, "tls"), files(&s.dir, "tls"));
	assert_eq!(files(&fresh, "uploads"), files(&s.dir, "uploads"));
	assert!(!before.contains("table groups (0 rows)") && before.contains("table invites (1 rows)"), "{before}");
	// A box with accounts is replaced only with --force; the server must be stopped.
	let (fine, text) = cli(&fresh, &["backup", "restore", &file, "--key-file", pass.to_str().unwrap()], None);
	assert!(!fine && text.contains("already has 2 account(s)") && text.contains("--force"), "{text}");
	let r = Server::start_in(fresh.clone(), Vec::new());
	let (fine, text) = r.cli(&["backup", "restore", &file, "--key-file", pass.to_str().unwrap(), "--force"], None);
	assert!(!fine && text.contains("the server is running"), "{text}");
	let mut bob = r.online("bob");
	assert_eq!(bob.drain(Duration::from_secs(1)).iter().filter(|e| e.name() == "message").count(), 3);
	assert_eq!(download(&r, &get), (200, b"minutes of the meeting".to_vec()));
	drop((bob, r));
	let _ = std::fs::remove_dir_all(&work);
}

/// Re-encrypts a backup with its header's schema raised: what a newer Xerra would write.
fn newer_schema(file: &Path, pass: &str, to: &Path) {
	use age::secrecy::SecretString;
	let input = std::fs::File::open(file).unwrap();
	let dec = age::Decryptor::new(input).unwrap();
	let id = age::scrypt::Identity::new(SecretString::from(pass.to_owned()));
	let plain = dec.decrypt(std::iter::once(&id as &dyn age::Identity)).unwrap();
	let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(plain));
	// Xerra's own work factor: age's default (a second here) may exceed what Xerra accepts.
	let mut r = age::scrypt::Recipient::new(SecretString::from(pass.to_owned()));
	r.set_work_factor(17);
	let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
	let w = enc.wrap_output(std::fs::File::create(to).unwrap()).unwrap();
	let mut out = tar::Builder::new(flate2::write::GzEncoder::new(w, flate2::Compression::fast()));
	for e in archive.entries().unwrap() {
		let mut e = e.unwrap();
		let name = e.path().unwrap().to_string_lossy().into_owned();
		let mut data = Vec::new();
		e.read_to_end(&mut data).unwrap();
		if name == "XERRA-BACKUP" {
			data = String::from_utf8(data)
				.unwrap()
				.replace(&format!("schema: {}\n", xerra::store::schema_version()), "schema: 99\n")
				.into_bytes();
		}
		let mut h = tar::Header::new_gnu();
		h.set_size(data.len() as u64);
		h.set_mode(0o600);
		out.append_data(&mut h, &name, data.as_slice()).unwrap();
	}
	out.into_inner().unwrap().finish().unwrap().finish().unwrap();
}

#[test]
fn a_wrong_key_a_cut_file_a_flipped_byte_or_a_newer_schema_change_nothing() {
	let mut s = server_with_users(&["alice"], &[]);
	let mut alice = s.online("alice");
	upload(&s, &mut alice, &noise(400_000, 3));
	drop(alice);
	let work = temp("bad");
	std::fs::create_dir_all(&work).unwrap();
	let pass = work.join("pass");
	std::fs::write(&pass, "right one").unwrap();
	let good = work.join("good.xerra-backup");
	ok(s.cli(&["backup", "create", good.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()], None));
	assert!(s.stop());
	// The box restored into: another one, with its own account.
	let target = temp("bad-target");
	let mut t = Server::start_in(target.clone(), Vec::new());
	t.add_user("olduser");
	assert!(t.stop());
	let target_dump = dump(&target);
	let target_ca = read(&target, "tls/ca.crt");
	let bytes = std::fs::read(&good).unwrap();
	let wrong = work.join("wrong");
	std::fs::write(&wrong, "not it").unwrap();
	let variant = |name: &str, data: &[u8]| {
		let p = work.join(name);
		std::fs::write(&p, data).unwrap();
		p
	};
	let mut flipped = bytes.clone();
	flipped[bytes.len() / 2] ^= 0x04;
	let newer = work.join("newer");
	newer_schema(&good, "right one", &newer);
	let cases: Vec<(PathBuf, &Path, &str)> = vec![
		(good.clone(), &wrong, "does not open this backup"),
		(variant("cut", &bytes[..bytes.len() - 1000]), &pass, "incomplete"),
		(variant("cut-header", &bytes[..60]), &pass, "incomplete"),
		(variant("flipped", &flipped), &pass, "damaged"),
		(variant("not-age", b"PK\x03\x04 a zip file"), &pass, "not a Xerra backup"),
		(newer, &pass, "newer Xerra"),
	];
	for (file, key, says) in &cases {
		let f = file.to_str().unwrap();
		let (fine, text) = cli(&work, &["backup", "verify", f, "--key-file", key.to_str().unwrap()], None);
		assert!(!fine && text.contains(says), "verify {f}: {text}");
		let (fine, text) = cli(&target, &["backup", "restore", f, "--key-file", key.to_str().unwrap(), "--force"], None);
		assert!(!fine && text.contains(says), "restore {f}: {text}");
		assert_eq!(dump(&target), target_dump, "{f} changed the box");
		assert_eq!(read(&target, "tls/ca.crt"), target_ca);
		let left: Vec<_> = std::fs::read_dir(&target).unwrap().flatten().map(|e| e.file_name()).collect();
		assert!(!left.iter().any(|n| n.to_string_lossy().starts_with(".restore")), "{left:?}");
	}
	// The good file still restores over it with --force.
	ok(cli(&target, &["backup", "restore", good.to_str().unwrap(), "--key-file", pass.to_str().unwrap(), "--force"], None));
	let now = dump(&target);
	assert!(now != target_dump && now.contains("table accounts (1 rows)\n  616c6963650001 = "), "alice's box: {now}");
	assert_eq!(read(&target, "tls/ca.crt"), read(&s.dir, "tls/ca.crt"));
	let _ = std::fs::remove_dir_all(&work);
	let _ = std::fs::remove_dir_all(&target);
}

/// A varying delay in 0..max from the clock (no extra crate).
fn some_delay(max: Duration) -> Duration {
	let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
	max.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

#[test]
fn kill_9_during_backup_create_never_leaves_a_partial_file() {
	let mut s = server_with_users(&["alice"], &[]);
	let mut alice = s.online("alice");
	upload(&s, &mut alice, &noise(3_000_000, 5));
	drop(alice);
	let work = temp("kill-create");
	std::fs::create_dir_all(&work).unwrap();
	let pass = work.join("pass");
	std::fs::write(&pass, "pw").unwrap();
	let create = |dir: &Path, out: &Path| {
		Command::new(bin())
			.arg("--data-dir")
			.arg(dir)
			.args(["backup", "create"])
			.arg(out)
			.arg("--passphrase-file")
			.arg(&pass)
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.spawn()
			.unwrap()
	};
	// How long one takes on this machine (the server stopped: the command does the work).
	assert!(s.stop());
	let t = Instant::now();
	assert!(create(&s.dir, &work.join("timing")).wait().unwrap().success());
	let full = t.elapsed();
	for round in 0..5 {
		let out = work.join(format!("b{round}"));
		let mut child = create(&s.dir, &out);
		std::thread::sleep(some_delay(full));
		let _ = child.kill();
		let finished = child.wait().unwrap().success();
		// Either a whole backup under the final name, or none.
		if out.exists() {
			ok(cli(&work, &["backup", "verify", out.to_str().unwrap(), "--key-file", pass.to_str().unwrap()], None));
		} else {
			assert!(!finished);
		}
	}
	// A later backup clears what the killed ones left, and the box still works.
	ok(cli(&s.dir, &["backup", "create", work.join("last").to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()], None));
	let temps: Vec<_> =
		std::fs::read_dir(&work).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".xerra-backup-tmp")).collect();
	assert!(temps.is_empty(), "{temps:?}");
	let s = s.restart();
	// Against the running server, killing the command does not stop the
	// server's backup thread: its file is whole when it appears.
	let out = work.join("online");
	let mut child = create(&s.dir, &out);
	std::thread::sleep(some_delay(full));
	let _ = child.kill();
	let _ = child.wait();
	let deadline = Instant::now() + Duration::from_secs(60);
	while !out.exists() && Instant::now() < deadline {
		std::thread::sleep(Duration::from_millis(50));
	}
	ok(cli(&work, &["backup", "verify", out.to_str().unwrap(), "--key-file", pass.to_str().unwrap()], None));
	let mut alice = s.online("alice");
	assert_eq!(alice.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type"), Some("result"));
	let _ = std::fs::remove_dir_all(&work);
}

fn copy_dir(from: &Path, to: &Path) {
	let _ = std::fs::remove_dir_all(to);
	std::fs::create_dir_all(to).unwrap();
	for e in std::fs::read_dir(from).unwrap().flatten() {
		if e.file_type().unwrap().is_dir() {
			copy_dir(&e.path(), &to.join(e.file_name()));
		} else if e.file_type().unwrap().is_file() {
			std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
		}
	}
}

#[test]
fn kill_9_during_restore_leaves_the_old_box_or_the_whole_new_one() {
	// The backup: a box with alice and a large file.
	let mut s = server_with_users(&["alice"], &[]);
	let mut alice = s.online("alice");
	upload(&s, &mut alice, &noise(4_000_000, 9));
	drop(alice);
	assert!(s.stop());
	let work = temp("kill-restore");
	std::fs::create_dir_all(&work).unwrap();
	let pass = work.join("pass");
	std::fs::write(&pass, "pw").unwrap();
	let file = work.join("b.xerra-backup");
	ok(cli(&s.dir, &["backup", "create", file.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()], None));
	let new_dump = dump(&s.dir);
	let new_files = (files(&s.dir, "tls"), files(&s.dir, "uploads"));
	// The box restored into, kept pristine to start each round from.
	let old = temp("kill-restore-old");
	let mut t = Server::start_in(old.clone(), Vec::new());
	t.add_user("olduser");
	assert!(t.stop());
	let old_dump = dump(&old);
	let old_files = (files(&old, "tls"), files(&old, "uploads"));
	assert_ne!(old_dump, new_dump);
	let target = temp("kill-restore-target");
	let restore = |dir: &Path| {
		Command::new(bin())
			.arg("--data-dir")
			.arg(dir)
			.args(["backup", "restore"])
			.arg(&file)
			.args(["--force", "--key-file"])
			.arg(&pass)
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.spawn()
			.unwrap()
	};
	copy_dir(&old, &target);
	let t0 = Instant::now();
	assert!(restore(&target).wait().unwrap().success());
	let full = t0.elapsed();
	let (mut olds, mut news) = (0, 0);
	for round in 0..8 {
		copy_dir(&old, &target);
		let mut child = restore(&target);
		// Most of a restore is unpacking; the commit is at its end: aim around it.
		std::thread::sleep(full.mul_f64(0.5 + 0.08 * f64::from(round)) + some_delay(full / 10));
		let _ = child.kill();
		let _ = child.wait();
		// The next command finishes or undoes what was interrupted.
		ok(cli(&target, &["user", "list"], None));
		let now = (dump(&target), files(&target, "tls"), files(&target, "uploads"));
		if now.0 == old_dump {
			assert_eq!((now.1, now.2), old_files, "round {round}: old database with new files");
			olds += 1;
		} else {
			assert_eq!(now.0, new_dump, "round {round}: neither the old nor the new database");
			assert_eq!((now.1, now.2), new_files, "round {round}: new database with old files");
			news += 1;
		}
		let left: Vec<_> = std::fs::read_dir(&target).unwrap().flatten().map(|e| e.file_name()).collect();
		assert!(!left.iter().any(|n| n.to_string_lossy().starts_with(".restore")), "{left:?}");
	}
	eprintln!("restore takes {} ms; after kill -9: {olds} old, {news} new", full.as_millis());
	let who = if dump(&target) == new_dump { "alice" } else { "olduser" };
	let r = Server::start_in(target.clone(), Vec::new());
	let _ = r.login(who);
	drop(r);
	let _ = std::fs::remove_dir_all(&work);
	let _ = std::fs::remove_dir_all(&old);
}

#[test]
fn a_backup_that_would_leave_too_little_space_is_refused() {
	let s = server_with_users(&["alice"], &[]);
	let work = temp("space");
	std::fs::create_dir_all(&work).unwrap();
	let pass = work.join("pass");
	std::fs::write(&pass, "pw").unwrap();
	// More than any disk has: refused before anything is written.
	ok(s.cli(&["config", "set", "backup_reserve_bytes", &(1u64 << 60).to_string()], None));
	let out = work.join("b.xerra-backup");
	// (A running server reads its settings at start.)
	let mut s = s.restart();
	let (fine, text) = s.cli(&["backup", "create", out.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()], None);
	assert!(!fine && text.contains("not enough free space") && text.contains("backup_reserve_bytes"), "{text}");
	let left: Vec<_> = std::fs::read_dir(&work).unwrap().flatten().map(|e| e.file_name()).collect();
	assert_eq!(left.len(), 1, "nothing written: {left:?}");
	// Stopped, the command checks the same.
	assert!(s.stop());
	let (fine, text) = cli(&s.dir, &["backup", "create", out.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()], None);
	assert!(!fine && text.contains("not enough free space"), "{text}");
	// A recovery key's public half is checked when stored.
	let (fine, text) = cli(&s.dir, &["config", "set", "backup_recipient", "age1notakey"], None);
	assert!(!fine && text.contains("xerra backup key"), "{text}");
	let _ = std::fs::remove_dir_all(&work);
}
