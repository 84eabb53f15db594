//! Scheduled backups and the console's Backups page (issue 14): a backup
//! appears at `backup_time`, opens with the recovery key the console showed
//! once (`xerra backup verify`), `backup_keep` deletes the oldest, a full
//! backup disk records a failure while the server goes on serving, a
//! backup downloads from the console as the same bytes, and the console and
//! `xerra status` say whether backups are on a disk of their own.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::client::tls_config;
use common::{DOMAIN, Server};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::{self, ClientConnection, StreamOwned};

const ADMIN_PASSWORD: &str = "admin secret 1";
const EXT: &str = ".xerra-backup";

fn https_port(s: &Server) -> u16 {
	s.listeners.iter().find(|(k, _)| k == "upload").map(|(_, a)| a.port()).expect("an HTTPS listener")
}

fn scratch(tag: &str) -> PathBuf {
	use std::sync::atomic::{AtomicU32, Ordering};
	static N: AtomicU32 = AtomicU32::new(0);
	let dir = std::env::temp_dir().join(format!("xerra-backups-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
	let _ = std::fs::remove_dir_all(&dir);
	dir
}

/// A server run with TZ=UTC (so `backup_time` is UTC here) and an admin `boss`.
fn start(dir: PathBuf, settings: &[&str], wrapper: &[&str]) -> Server {
	let mut w = vec!["env", "TZ=UTC"];
	w.extend_from_slice(wrapper);
	let s = Server::start_wrapped(dir, settings.iter().map(|s| s.to_string()).collect(), &w);
	let (ok, out) = s.cli(&["user", "add", "--admin", "boss", "--password-stdin"], Some(ADMIN_PASSWORD));
	assert!(ok, "{out}");
	s
}

#[derive(Debug)]
struct Resp {
	status: u16,
	head: String,
	body: Vec<u8>,
}

impl Resp {
	fn header(&self, name: &str) -> Option<&str> {
		self.head.lines().find_map(|l| {
			let (k, v) = l.split_once(':')?;
			k.eq_ignore_ascii_case(name).then(|| v.trim())
		})
	}

	fn text(&self) -> String {
		String::from_utf8_lossy(&self.body).into_owned()
	}

	fn csrf(&self) -> String {
		let t = self.text();
		let at = t.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no csrf field in {t}"));
		t[at + 19..].split('"').next().unwrap().to_owned()
	}
}

/// The console over HTTPS: one cookie, one request per connection.
struct Web {
	port: u16,
	cookie: Option<String>,
}

impl Web {
	fn admin(s: &Server) -> Web {
		let mut w = Web { port: https_port(s), cookie: None };
		let token = w.get("/console/login").csrf();
		let r = w.post("/console/login", &[("csrf", &token), ("jid", &format!("boss@{DOMAIN}")), ("password", ADMIN_PASSWORD)]);
		assert_eq!(r.status, 303, "{r:?}");
		w
	}

	fn request(&mut self, method: &str, path: &str, body: &str) -> Resp {
		let config = tls_config(&[&rustls::version::TLS13], Some(b"http/1.1"));
		let conn = ClientConnection::new(config, ServerName::try_from(DOMAIN.to_owned()).unwrap()).unwrap();
		let tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
		tcp.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
		let mut tls = StreamOwned::new(conn, tcp);
		let cookie = self.cookie.as_ref().map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
		let ty = if method == "POST" { "Content-Type: application/x-www-form-urlencoded\r\n" } else { "" };
		let req =
			format!("{method} {path} HTTP/1.1\r\nHost: {DOMAIN}:{}\r\n{cookie}{ty}Content-Length: {}\r\n\r\n{body}", self.port, body.len());
		tls.write_all(req.as_bytes()).unwrap();
		let mut raw = Vec::new();
		let _ = tls.read_to_end(&mut raw);
		let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
		let head = String::from_utf8_lossy(&raw[..split]).into_owned();
		let body = raw.get(split + 4..).unwrap_or_default().to_vec();
		let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
		let r = Resp { status, head, body };
		if let Some(c) = r.header("set-cookie") {
			let pair = c.split(';').next().unwrap().to_owned();
			self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
		}
		r
	}

	fn get(&mut self, path: &str) -> Resp {
		self.request("GET", path, "")
	}

	fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
		let mut s = form_urlencoded::Serializer::new(String::new());
		for (k, v) in fields {
			s.append_pair(k, v);
		}
		self.request("POST", path, &s.finish())
	}

	/// Presses a one-button form of the Backups page; the page it leads to.
	fn press(&mut self, action: &str) -> Resp {
		let token = self.get("/console/backups").csrf();
		let r = self.post(action, &[("csrf", &token)]);
		assert_eq!(r.status, 303, "{r:?}");
		let to = r.header("location").unwrap().to_owned();
		self.get(&to)
	}

	/// Makes a recovery key; the secret the emergency kit shows.
	fn new_key(&mut self) -> String {
		let kit = self.press("/console/backups/key");
		assert_eq!(kit.status, 200, "{kit:?}");
		let t = kit.text();
		let at = t.find("id=\"recovery-key\"").expect("the kit shows the key");
		let at = at + t[at..].find('>').unwrap() + 1;
		let key = t[at..].split('<').next().unwrap().to_owned();
		assert!(key.starts_with("AGE-SECRET-KEY-1"), "{key}");
		// Shown once: the same page again does not show it.
		let again = self.get("/console/backups/kit");
		assert_eq!(again.status, 410);
		assert!(!again.text().contains(&key));
		key
	}
}

/// Our backups in `dir`, oldest first.
fn backups(dir: &Path) -> Vec<String> {
	let mut names: Vec<String> = std::fs::read_dir(dir)
		.map(|d| {
			d.filter_map(|e| e.ok()?.file_name().into_string().ok())
				.filter(|n| n.starts_with("xerra-backup-") && n.ends_with(EXT))
				.collect()
		})
		.unwrap_or_default();
	names.sort();
	names
}

fn verify(s: &Server, file: &Path, key: &str) -> (bool, String) {
	let key_file = file.with_extension("key");
	std::fs::write(&key_file, format!("{key}\n")).unwrap();
	let r = s.cli(&["backup", "verify", file.to_str().unwrap(), "--key-file", key_file.to_str().unwrap()], None);
	let _ = std::fs::remove_file(&key_file);
	r
}

fn ping(s: &Server) {
	let mut c = s.login("anna");
	let reply = c.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(reply.attr("type"), Some("result"));
}

/// The next minute on the UTC clock, as HH:MM, at least 5 s away.
fn next_minute() -> String {
	let now = time::OffsetDateTime::now_utc();
	let t = if now.second() > 55 { now + time::Duration::minutes(2) } else { now + time::Duration::minutes(1) };
	format!("{:02}:{:02}", t.hour(), t.minute())
}

#[test]
fn a_scheduled_backup_appears_verifies_and_the_oldest_go() {
	let dir = scratch("sched");
	let out = scratch("sched-out");
	let s =
		start(dir.clone(), &[&format!("backup_dir={}", out.display()), &format!("backup_time={}", next_minute()), "backup_keep=2"], &[]);
	s.add_user("anna");
	let mut web = Web::admin(&s);
	let page = web.get("/console/backups").text();
	assert!(page.contains("No recovery key"), "{page}");
	let key = web.new_key();
	let page = web.get("/console/backups").text();
	assert!(page.contains("id=\"next\""), "the next due time is shown: {page}");

	// The schedule makes one within its minute (and some slack for a slow machine).
	let deadline = Instant::now() + Duration::from_secs(150);
	while backups(&out).is_empty() {
		assert!(Instant::now() < deadline, "no scheduled backup in {}: {}", out.display(), s.log_text());
		std::thread::sleep(Duration::from_millis(500));
	}
	std::thread::sleep(Duration::from_secs(1));
	let first = backups(&out);
	assert_eq!(first.len(), 1, "{first:?}");
	let (ok, text) = verify(&s, &out.join(&first[0]), &key);
	assert!(ok, "{text}");
	let (ok, status) = s.cli(&["status"], None);
	assert!(ok && status.contains("last backup: 20") && status.contains(&first[0]), "{status}");
	assert!(!status.contains("backup warning"), "{status}");
	let overview = web.get("/console/").text();
	assert!(overview.contains("Last backup") && !overview.contains("none yet"), "{overview}");

	// Two more from the console: three made, the newest two kept.
	for _ in 0..2 {
		let page = web.press("/console/backups/now").text();
		assert!(page.contains("Backup made"), "{page}");
	}
	let kept = backups(&out);
	assert_eq!(kept.len(), 2, "{kept:?}");
	assert!(!kept.contains(&first[0]), "the oldest went: {kept:?}");
	for name in &kept {
		let (ok, text) = verify(&s, &out.join(name), &key);
		assert!(ok, "{name}: {text}");
	}
	// A file of someone else's in the folder is never deleted.
	std::fs::write(out.join("notes.txt"), "mine").unwrap();
	web.press("/console/backups/now");
	assert!(out.join("notes.txt").exists());
	assert_eq!(backups(&out).len(), 2);

	// The wrong key does not open it.
	let other = {
		let mut w = Web::admin(&s);
		w.new_key()
	};
	let (ok, text) = verify(&s, &out.join(&backups(&out)[1]), &other);
	assert!(!ok, "{text}");
	ping(&s);
	drop(s);
	let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn without_a_recovery_key_no_backup_is_made_and_the_console_says_so() {
	let out = scratch("nokey");
	let s = start(scratch("nokey-data"), &[&format!("backup_dir={}", out.display())], &[]);
	let mut web = Web::admin(&s);
	let overview = web.get("/console/").text();
	assert!(overview.contains("No recovery key"), "{overview}");
	assert!(!overview.contains("id=\"healthy\""), "{overview}");
	let page = web.press("/console/backups/now");
	assert_eq!(page.status, 500);
	assert!(page.text().contains("No backup was made: no recovery key"), "{}", page.text());
	assert!(backups(&out).is_empty());
	let page = web.get("/console/backups").text();
	assert!(page.contains("id=\"failure\"") && page.contains("The last backup failed: no recovery key"), "{page}");
	let (_, status) = s.cli(&["status"], None);
	assert!(status.contains("last backup: none") && status.contains("backup warning: No recovery key"), "{status}");
	// With the schedule off nothing warns about a missing key.
	drop(s);
	let s = start(scratch("nokey-off"), &["backup_time=off"], &[]);
	let (_, status) = s.cli(&["status"], None);
	assert!(!status.contains("backup warning"), "{status}");
}

/// The backup folder is a tmpfs too small for a backup, in a mount
/// namespace only the server lives in.
#[test]
fn a_full_backup_disk_records_a_failure_and_the_server_keeps_serving() {
	let dir = scratch("full");
	let out = dir.join("stick");
	std::fs::create_dir_all(&out).unwrap();
	let script = "mount -t tmpfs -o size=64k,mode=0700 xerra-test \"$0\" && exec \"$@\"";
	let wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, out.to_str().unwrap()];
	let s = start(dir.clone(), &[&format!("backup_dir={}", out.display())], &wrapper);
	s.add_user("anna");
	let mut web = Web::admin(&s);
	web.new_key();
	// The database alone is larger than 64 KiB: no backup fits.
	let page = web.press("/console/backups/now");
	assert_eq!(page.status, 500, "{}", page.text());
	let text = page.text();
	assert!(text.contains("No backup was made: not enough free space"), "{text}");
	let page = web.get("/console/backups").text();
	assert!(page.contains("The last backup failed: not enough free space"), "{page}");
	assert!(page.contains("none yet"), "{page}");
	// Nothing half-written is left on the stick (as the server sees it), and the server serves.
	let pid = s.pid().to_string();
	let ls = std::process::Command::new("nsenter").args(["-t", &pid, "-m", "--", "ls", "-A", out.to_str().unwrap()]).output().unwrap();
	assert!(ls.status.success());
	assert_eq!(String::from_utf8_lossy(&ls.stdout).trim(), "", "left on the stick");
	ping(&s);
	let (_, status) = s.cli(&["status"], None);
	assert!(status.contains("backup warning: The last backup failed"), "{status}");
}

#[test]
fn a_backup_downloads_from_the_console_as_the_same_bytes() {
	let out = scratch("dl");
	let s = start(scratch("dl-data"), &[&format!("backup_dir={}", out.display())], &[]);
	let mut web = Web::admin(&s);
	web.new_key();
	let page = web.press("/console/backups/now").text();
	assert!(page.contains("Backup made"), "{page}");
	let name = backups(&out).pop().unwrap();
	assert!(page.contains(&format!("/console/backups/download?name={name}")), "{page}");
	let r = web.get(&format!("/console/backups/download?name={name}"));
	assert_eq!(r.status, 200, "{}", r.head);
	assert_eq!(r.header("content-type"), Some("application/octet-stream"));
	assert!(r.header("content-disposition").unwrap().contains(&name));
	assert_eq!(r.body, std::fs::read(out.join(&name)).unwrap());
	// Only ours, only by name, only for an admin.
	for bad in ["../xerra.redb", "notes.txt", "%2e%2e%2fxerra.redb", "xerra-backup-20261207-033000.xerra-backup"] {
		assert_eq!(web.get(&format!("/console/backups/download?name={bad}")).status, 404, "{bad}");
	}
	let mut stranger = Web { port: https_port(&s), cookie: None };
	let r = stranger.get(&format!("/console/backups/download?name={name}"));
	assert_eq!((r.status, r.header("location")), (303, Some("/console/login")));
	assert!(r.body.len() < 1000);
}

/// The console's Backups page and `xerra status` say whether backups land on
/// the data's own disk (a dead card loses both) or on one of their own: the
/// appliance mounts a USB stick labelled XERRABACKUP at the default
/// `DATA_DIR/backups`, which is a tmpfs here, in a mount namespace only the
/// server lives in.
#[test]
fn the_console_and_status_say_whether_backups_are_on_a_disk_of_their_own() {
	let s = start(scratch("same"), &[], &[]);
	let mut web = Web::admin(&s);
	let page = web.get("/console/backups").text();
	let row = page.split("id=\"placement\"").nth(1).unwrap_or_else(|| panic!("no Backup disk row in {page}"));
	assert!(row.contains("on the same disk as the data") && row.contains("XERRABACKUP"), "{page}");
	let (_, status) = s.cli(&["status"], None);
	assert!(status.contains("backup disk: ") && status.contains("is on the same disk as the data"), "{status}");
	drop(s);

	let dir = scratch("stick");
	let stick = dir.join("backups");
	std::fs::create_dir_all(&stick).unwrap();
	// Room for a backup and backup_reserve_bytes (64 MiB); tmpfs takes only what is written.
	let script = "mount -t tmpfs -o size=256m,mode=0700 xerra-test \"$0\" && exec \"$@\"";
	let wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, stick.to_str().unwrap()];
	let s = start(dir.clone(), &[], &wrapper);
	let mut web = Web::admin(&s);
	web.new_key();
	let page = web.get("/console/backups").text();
	let row = page.split("id=\"placement\"").nth(1).unwrap_or_else(|| panic!("no Backup disk row in {page}"));
	assert!(row.split("</tr>").next().unwrap().contains("on a disk of its own"), "{page}");
	assert!(!page.contains("XERRABACKUP"), "{page}");
	let (_, status) = s.cli(&["status"], None);
	assert!(status.contains(&format!("backup disk: {} is on a disk of its own", stick.display())), "{status}");
	// And the backup goes there (onto the stick, as the server sees it; not onto the data's disk).
	let page = web.press("/console/backups/now").text();
	assert!(page.contains("Backup made"), "{page}");
	let pid = s.pid().to_string();
	let ls = std::process::Command::new("nsenter").args(["-t", &pid, "-m", "--", "ls", "-A", stick.to_str().unwrap()]).output().unwrap();
	assert!(String::from_utf8_lossy(&ls.stdout).contains(EXT), "{ls:?}");
	assert!(backups(&stick).is_empty(), "written to the data's disk");
}
