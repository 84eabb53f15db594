//! Storage faults and quotas over real sockets: a full disk (the data
//! directory on a small tmpfs in a mount namespace of the server's own, so
//! nothing outlives it), byte quotas per account for offline storage, the
//! archive and pending subscription requests, what login and queries hold
//! in memory (measured from /proc), the low-space warning, and the data
//! directory's permissions.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::client::error_condition;
use common::{Client, DOMAIN, PASSWORD, Server, server_with_users};
use xerra::xmpp::element::Element;

const MAM: &str = "urn:xmpp:mam:2";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

fn ping(c: &mut Client) {
	let r = c.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_eq!(r.attr("type"), Some("result"));
}

fn body(e: &Element) -> Option<String> {
	e.child("body", "jabber:client").map(Element::text)
}

/// The number a test put at the start of a body ("12 xxxx...").
fn number(e: &Element) -> Option<usize> {
	body(e)?.split(' ').next()?.parse().ok()
}

fn is_error_for(id: &str) -> impl Fn(&Element) -> bool + '_ {
	move |e| e.attr("type") == Some("error") && e.attr("id") == Some(id)
}

/// Sends a chat message and a ping; the error it got, if any. Stanzas are
/// handled in order, so once the ping is answered the message's fate is known.
fn send_chat(c: &mut Client, to: &str, id: &str, body: &str) -> Option<Element> {
	c.send(&format!("<message to='{to}' type='chat' id='{id}'><body>{body}</body></message>"));
	ping(c);
	c.wait_within(Duration::ZERO, is_error_for(id))
}

/// Resident memory of a process in KiB (VmRSS).
fn rss_kib(pid: u32) -> u64 {
	let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
	let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
	line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn scratch_dir(tag: &str) -> PathBuf {
	use std::sync::atomic::{AtomicU32, Ordering};
	static N: AtomicU32 = AtomicU32::new(0);
	let dir = std::env::temp_dir().join(format!("xerra-storage-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
	let _ = std::fs::remove_dir_all(&dir);
	dir
}

// ---- a full disk -------------------------------------------------------------

/// A server whose data directory is a tmpfs of `size`, mounted in a mount
/// namespace that only the server lives in: the mount goes with it.
fn start_on_tmpfs(size: &str, settings: &[&str]) -> Server {
	let dir = scratch_dir("tmpfs");
	std::fs::create_dir_all(&dir).unwrap();
	let script = format!("mount -t tmpfs -o size={size},mode=0700 xerra-test \"$0\" && exec \"$@\"");
	let path = dir.to_str().unwrap().to_owned();
	let wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", &script, &path];
	Server::start_wrapped(dir, settings.iter().map(|s| s.to_string()).collect(), &wrapper)
}

/// Runs `cmd` in the server's mount namespace.
fn in_server_ns(s: &Server, cmd: &[&str], stdin: Option<&str>) -> (bool, String) {
	use std::io::Write as _;
	let pid = s.pid().to_string();
	let mut child = Command::new("nsenter")
		.args(["-t", &pid, "-m", "--"])
		.args(cmd)
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	if let Some(input) = stdin {
		child.stdin.take().unwrap().write_all(format!("{input}\n").as_bytes()).unwrap();
	}
	drop(child.stdin.take());
	let out = common::output_within(child, common::CHILD_DEADLINE, &format!("nsenter {}", cmd.join(" ")));
	(out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `xerra ARGS` where the server sees its data directory (its control socket is on the tmpfs).
fn ns_cli(s: &Server, args: &[&str], stdin: Option<&str>) -> (bool, String) {
	let mut cmd = vec![common::bin(), "--data-dir", s.dir.to_str().unwrap()];
	cmd.extend_from_slice(args);
	in_server_ns(s, &cmd, stdin)
}

fn free_kib(s: &Server) -> u64 {
	let (ok, out) = in_server_ns(s, &["df", "-k", "--output=avail", s.dir.to_str().unwrap()], None);
	assert!(ok, "{out}");
	out.lines().nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn a_full_disk_answers_resource_constraint_and_writes_resume_once_space_returns() {
	let s = start_on_tmpfs("3m", &["max_offline_messages=100000"]);
	for user in ["alice", "bob", "carol", "dave"] {
		let (ok, out) = ns_cli(&s, &["user", "add", user, "--password-stdin"], Some(PASSWORD));
		assert!(ok, "{out}");
	}
	let mut bob = s.online("bob");
	let mut alice = s.online("alice");
	let carol = Server::jid("carol");
	let big = "x".repeat(40_000);

	// Messages to offline carol fill the disk until one is refused.
	let mut stored = Vec::new();
	let mut refused = None;
	for i in 0..500 {
		match send_chat(&mut alice, &carol, &format!("f{i}"), &format!("{i} {big}")) {
			None => stored.push(i),
			Some(err) => {
				refused = Some(err);
				break;
			}
		}
	}
	let refused = refused.expect("a 3 MiB disk fills up");
	assert!(stored.len() >= 3, "some messages fit first: {stored:?}");
	// The sender hears that the server cannot take it now, not that it broke.
	assert_eq!(error_condition(&refused), "resource-constraint", "{}", refused.to_xml("jabber:client"));
	assert_eq!(refused.child("error", "jabber:client").unwrap().attr("type"), Some("wait"));
	let full_at = free_kib(&s);

	// While the disk is full: writes are refused the same way, reads and
	// logins work, and a chat with someone online is delivered and not
	// reported as failed (only its archive copy is missing).
	for i in 0..3 {
		let err = send_chat(&mut alice, &carol, &format!("g{i}"), &format!("g{i} {big}")).expect("still full");
		assert_eq!(error_condition(&err), "resource-constraint");
	}
	let r = alice.iq("<iq type='set'><query xmlns='jabber:iq:private'><note xmlns='x:storage-test'>hi</note></query></iq>");
	assert_eq!(r.attr("type"), Some("error"));
	assert_eq!(error_condition(&r), "resource-constraint");
	let r = alice.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	let dave = s.online("dave");
	drop(dave);
	let live = format!("live {big}");
	assert!(send_chat(&mut alice, &Server::jid("bob"), "live", &live).is_none(), "a delivered message is not reported as failed");
	let got = bob.wait_for(|e| e.name() == "message" && body(e).is_some());
	assert_eq!(body(&got).as_deref(), Some(live.as_str()));
	// The admin sees it.
	let (ok, status) = ns_cli(&s, &["status"], None);
	assert!(ok, "{status}");
	assert!(status.contains("running: yes"), "{status}");
	assert!(status.lines().any(|l| l.starts_with("disk:") && l.contains("low")), "{status}");
	assert!(s.log_text().contains("free space"), "a warning in the log");

	// Space comes back: writes work again without a restart.
	let (ok, out) = in_server_ns(&s, &["mount", "-o", "remount,size=64m", s.dir.to_str().unwrap()], None);
	assert!(ok, "{out}");
	assert!(free_kib(&s) > full_at + 30_000);
	let deadline = Instant::now() + Duration::from_secs(30);
	let mut n = 0;
	loop {
		let id = format!("r{n}");
		match send_chat(&mut alice, &carol, &id, &format!("{} {big}", 1000 + n)) {
			None => {
				stored.push(1000 + n);
				break;
			}
			Some(err) => assert_eq!(error_condition(&err), "resource-constraint"),
		}
		assert!(Instant::now() < deadline, "writes did not resume");
		std::thread::sleep(Duration::from_millis(200));
		n += 1;
	}
	for i in 0..5 {
		assert!(send_chat(&mut alice, &carol, &format!("a{i}"), &format!("{} {big}", 2000 + i)).is_none());
		stored.push(2000 + i);
	}
	let r = alice.iq("<iq type='set'><query xmlns='jabber:iq:private'><note xmlns='x:storage-test'>hi</note></query></iq>");
	assert_eq!(r.attr("type"), Some("result"));

	// Every message that was not refused reaches carol, in order; none of the refused ones.
	let mut c = s.online("carol");
	let mut got = Vec::new();
	while got.len() < stored.len() {
		let m = c.wait_for(|e| e.name() == "message" && number(e).is_some());
		got.push(number(&m).unwrap());
	}
	assert_eq!(got, stored);
	c.expect_none(Duration::from_millis(500), |e| e.name() == "message" && body(e).is_some());
	let mut s = s;
	assert!(s.stop(), "clean exit");
}

// ---- byte quotas -------------------------------------------------------------

#[test]
fn offline_storage_is_capped_in_bytes() {
	let s = server_with_users(&["alice", "bob"], &["max_offline_bytes=1048576"]);
	let mut alice = s.online("alice");
	let bob = Server::jid("bob");
	let big = "x".repeat(100_000);
	let mut stored = Vec::new();
	let mut refused = Vec::new();
	for i in 0..20 {
		match send_chat(&mut alice, &bob, &format!("o{i}"), &format!("{i} {big}")) {
			None => stored.push(i),
			Some(err) => {
				assert_eq!(error_condition(&err), "service-unavailable", "the same answer as the count limit");
				refused.push(i);
			}
		}
	}
	// About 1 MiB of 100 KB messages, the first ones; the rest are refused.
	assert!((8..=10).contains(&stored.len()), "{stored:?}");
	assert_eq!(stored, (0..stored.len()).collect::<Vec<_>>());
	let mut b = s.online("bob");
	for i in &stored {
		let m = b.wait_for(|e| e.name() == "message" && number(e).is_some());
		assert_eq!(number(&m), Some(*i));
	}
	b.expect_none(Duration::from_millis(300), |e| e.name() == "message" && body(e).is_some());
	drop(b);
	std::thread::sleep(Duration::from_millis(300));
	// Delivered messages leave the quota.
	for i in 0..5 {
		assert!(send_chat(&mut alice, &bob, &format!("p{i}"), &format!("{} {big}", 100 + i)).is_none());
	}
}

/// The bodies in the caller's archive, oldest first, paging (XEP-0059)
/// until the server says it is complete.
fn archive(c: &mut Client) -> Vec<String> {
	const RSM: &str = "http://jabber.org/protocol/rsm";
	let mut bodies = Vec::new();
	let mut after = String::new();
	loop {
		let id = c.id();
		c.send(&format!("<iq type='set' id='{id}'><query xmlns='{MAM}'><set xmlns='{RSM}'><max>100</max>{after}</set></query></iq>"));
		loop {
			let e = c.wait_for(|e| e.attr("id") == Some(id.as_str()) || e.child("result", MAM).is_some());
			if e.name() == "iq" {
				assert_eq!(e.attr("type"), Some("result"), "{}", e.to_xml("jabber:client"));
				let fin = e.child("fin", MAM).unwrap();
				if fin.attr("complete") == Some("true") {
					return bodies;
				}
				let last = fin.child("set", RSM).unwrap().child("last", RSM).unwrap().text();
				after = format!("<after>{last}</after>");
				break;
			}
			let r = e.child("result", MAM).unwrap();
			let m = r.child("forwarded", "urn:xmpp:forward:0").unwrap().child("message", "jabber:client").unwrap();
			bodies.push(body(m).unwrap());
		}
	}
}

#[test]
fn the_archive_is_capped_in_bytes_and_the_oldest_go_first() {
	let s = server_with_users(&["alice", "bob"], &["max_archive_bytes=1048576"]);
	let mut alice = s.online("alice");
	let _b = s.online("bob");
	let big = "x".repeat(100_000);
	for i in 0..25 {
		assert!(send_chat(&mut alice, &Server::jid("bob"), &format!("m{i}"), &format!("{i} {big}")).is_none());
	}
	let kept: Vec<usize> = archive(&mut alice).iter().map(|b| b.split(' ').next().unwrap().parse().unwrap()).collect();
	assert!((8..=10).contains(&kept.len()), "{kept:?}");
	assert_eq!(kept, (25 - kept.len()..25).collect::<Vec<_>>(), "the newest are kept");
	// A small message still fits: it pushes out the oldest again.
	assert!(send_chat(&mut alice, &Server::jid("bob"), "small", "25 small").is_none());
	let now: Vec<String> = archive(&mut alice).iter().map(|b| b.split(' ').next().unwrap().to_owned()).collect();
	assert_eq!(now.last().map(String::as_str), Some("25"));
	assert!(now.len() <= kept.len() + 1);
}

#[test]
fn offline_flush_at_login_is_bounded_in_memory() {
	let s = server_with_users(&["alice", "bob"], &["max_offline_bytes=67108864"]);
	let mut alice = s.online("alice");
	let big = "x".repeat(250_000);
	for i in 0..100 {
		alice.send(&format!("<message to='{}' type='chat'><body>{i} {big}</body></message>", Server::jid("bob")));
	}
	ping(&mut alice);
	assert!(alice.wait_within(Duration::ZERO, |e| e.attr("type") == Some("error")).is_none(), "all stored");
	std::thread::sleep(Duration::from_millis(500));
	let before = rss_kib(s.pid());
	let mut b = s.online("bob");
	for i in 0..100 {
		let m = b.wait_for(|e| e.name() == "message" && number(e).is_some());
		assert_eq!(number(&m), Some(i));
	}
	let grew = rss_kib(s.pid()).saturating_sub(before);
	eprintln!("offline flush of 100 x 250 KB: RSS {before} KiB + {grew} KiB");
	assert!(grew < 8 * 1024, "RSS grew by {grew} KiB delivering 25 MB of offline messages");
}

#[test]
fn an_archive_page_is_bounded_in_memory() {
	let s = server_with_users(&["alice", "bob"], &["max_offline_bytes=67108864"]);
	let mut alice = s.online("alice");
	let _b = s.online("bob");
	let big = "x".repeat(250_000);
	for i in 0..100 {
		alice.send(&format!("<message to='{}' type='chat'><body>{i} {big}</body></message>", Server::jid("bob")));
	}
	ping(&mut alice);
	std::thread::sleep(Duration::from_millis(500));
	let before = rss_kib(s.pid());
	let mut total = 0;
	let mut after = None;
	// Paged by the server: each answer is bounded, and paging on gets the rest.
	loop {
		let id = alice.id();
		let set = match &after {
			Some(a) => format!("<max>100</max><after>{a}</after>"),
			None => "<max>100</max>".into(),
		};
		alice.send(&format!(
			"<iq type='set' id='{id}'><query xmlns='{MAM}'><set xmlns='http://jabber.org/protocol/rsm'>{set}</set></query></iq>"
		));
		loop {
			let e = alice.wait_for(|e| e.attr("id") == Some(id.as_str()) || e.child("result", MAM).is_some());
			if e.name() == "iq" {
				let fin = e.child("fin", MAM).unwrap();
				after = fin
					.child("set", "http://jabber.org/protocol/rsm")
					.and_then(|s| s.child("last", "http://jabber.org/protocol/rsm"))
					.map(Element::text);
				if fin.attr("complete") == Some("true") {
					after = None;
				}
				break;
			}
			total += 1;
		}
		if after.is_none() {
			break;
		}
	}
	assert_eq!(total, 100);
	let grew = rss_kib(s.pid()).saturating_sub(before);
	eprintln!("archive query of 100 x 250 KB: RSS {before} KiB + {grew} KiB");
	assert!(grew < 8 * 1024, "RSS grew by {grew} KiB answering an archive query");
}

// ---- pending subscription requests ------------------------------------------

const GW: &str = "gw.example.test";

fn component(s: &Server) -> Client {
	let (ok, out) = s.cli(&["component", "add", GW], None);
	assert!(ok, "{out}");
	let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().trim().to_owned();
	let addr = s.listeners.iter().find(|(k, a)| k == "component" && a.is_ipv4()).unwrap().1;
	Client::component(addr, GW, &secret).expect("handshake")
}

fn component_ping(gw: &mut Client) {
	gw.send(&format!("<iq type='get' id='sync' from='{GW}' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>"));
	gw.wait_for(|e| e.name() == "iq" && e.attr("id") == Some("sync"));
}

#[test]
fn pending_subscription_requests_are_capped_and_replayed_in_bounded_memory() {
	let s = server_with_users(&["victim"], &["component_port=0"]);
	let mut gw = component(&s);
	let victim = Server::jid("victim");
	// A presence past max_presence_bytes (16 KiB) is refused outright.
	gw.send(&format!("<presence type='subscribe' from='big@{GW}' to='{victim}'><status>{}</status></presence>", "s".repeat(100_000)));
	let e = gw.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("error"));
	assert!(e.children().any(|c| c.child("policy-violation", STANZAS).is_some()), "{}", e.to_xml("jabber:component:accept"));
	// Under it, each request is kept with its status cut, up to the cap.
	let status = "s".repeat(14_000);
	let n = 300;
	for i in 0..n {
		gw.send(&format!("<presence type='subscribe' from='u{i}@{GW}' to='{victim}'><status>{status}</status></presence>"));
		if i % 50 == 49 {
			component_ping(&mut gw);
		}
	}
	component_ping(&mut gw);
	std::thread::sleep(Duration::from_millis(500));
	let before = rss_kib(s.pid());
	let mut v = s.login("victim");
	v.send("<presence/>");
	let replayed = v
		.drain(Duration::from_secs(3))
		.into_iter()
		.filter(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"))
		.collect::<Vec<_>>();
	let grew = rss_kib(s.pid()).saturating_sub(before);
	eprintln!("{} pending requests replayed at login: RSS {before} KiB + {grew} KiB", replayed.len());
	assert!(grew < 8 * 1024, "RSS grew by {grew} KiB replaying subscription requests");

	// The default cap: 100 kept; the others were refused to the sender.
	assert_eq!(replayed.len(), 100);
	let refused = gw
		.drain(Duration::from_millis(500))
		.into_iter()
		.filter(|e| e.name() == "presence" && e.attr("type") == Some("error"))
		.collect::<Vec<_>>();
	assert_eq!(refused.len(), n - 100);
	let error = refused[0].children().find(|c| c.name() == "error").unwrap();
	assert_eq!(error.attr("type"), Some("wait"));
	assert!(error.child("resource-constraint", STANZAS).is_some(), "{}", refused[0].to_xml("jabber:component:accept"));
	assert_eq!(refused[0].attr("from"), Some(victim.as_str()));
	// Each kept status is cut to max_subscription_status_bytes.
	for p in &replayed {
		let st = p.child("status", "jabber:client").map(Element::text).unwrap_or_default();
		assert!(!st.is_empty() && st.len() <= 1024, "status of {} bytes", st.len());
	}

	// Answering requests makes room for new ones; a live one is cut too.
	let first = replayed[0].attr("from").unwrap().to_owned();
	v.send(&format!("<presence type='unsubscribed' to='{first}'/>"));
	ping(&mut v);
	gw.send(&format!("<presence type='subscribe' from='new@{GW}' to='{victim}'><status>{status}</status></presence>"));
	let live = v.wait_for(|e| e.name() == "presence" && e.attr("from") == Some(&format!("new@{GW}")));
	assert!(live.child("status", "jabber:client").unwrap().text().len() <= 1024);
	component_ping(&mut gw);
	assert!(gw.drain(Duration::from_millis(300)).iter().all(|e| e.attr("type") != Some("error")));
}

// ---- low free space ----------------------------------------------------------

#[test]
fn low_free_space_is_reported_in_the_log_and_in_status() {
	// Any disk is "low" against a threshold of 1 PiB.
	let s = Server::start(&["disk_free_warning_bytes=1125899906842624"]);
	let (ok, status) = s.cli(&["status"], None);
	assert!(ok, "{status}");
	let line = status.lines().find(|l| l.starts_with("disk:")).unwrap_or_else(|| panic!("{status}"));
	assert!(line.contains("free") && line.contains("low"), "{line}");
	assert!(s.log_text().contains("free space"), "{}", s.log_text());
	// Below the threshold nothing is said.
	let s = Server::start(&["disk_free_warning_bytes=1"]);
	let (_, status) = s.cli(&["status"], None);
	let line = status.lines().find(|l| l.starts_with("disk:")).unwrap_or_else(|| panic!("{status}"));
	assert!(!line.contains("low"), "{line}");
	assert!(!s.log_text().contains("free space"));
}

// ---- permissions -------------------------------------------------------------

/// Every directory under `dir` (itself included) is 0700 and every file 0600 at most.
fn assert_private(dir: &Path) {
	let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
	assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
	for entry in std::fs::read_dir(dir).unwrap() {
		let path = entry.unwrap().path();
		let meta = std::fs::symlink_metadata(&path).unwrap();
		if meta.is_dir() {
			assert_private(&path);
		} else {
			let mode = meta.permissions().mode() & 0o777;
			assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
		}
	}
}

#[test]
fn a_data_directory_xerra_makes_is_private() {
	let parent = scratch_dir("perm");
	std::fs::create_dir_all(&parent).unwrap();
	// Made by the command line, with the server stopped ...
	let dir = parent.join("by-cli");
	let (ok, out) = common::cli(&dir, &["config", "set", "domain", DOMAIN], None);
	assert!(ok, "{out}");
	assert_private(&dir);
	assert_eq!(std::fs::metadata(dir.join("xerra.redb")).unwrap().permissions().mode() & 0o777, 0o600);
	// ... and by the server, with everything it writes (database, CA, keys, control socket).
	let s = Server::start_in(parent.join("by-server"), Vec::new());
	s.add_user("alice");
	let _a = s.online("alice");
	assert_private(&s.dir);
	drop(s);
	let _ = std::fs::remove_dir_all(&parent);
}
