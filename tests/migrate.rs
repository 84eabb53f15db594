//! XEP-0227 export and import (`xerra export`, `xerra import`): a round trip
//! through a fresh server keeps everything and the old passwords; a broken
//! file or account imports nothing of that account and the rest; and moving
//! to and from real ejabberd 23.01 (when it is installed: tests/setup).

mod common;

use std::path::{Path, PathBuf};

use common::{Client, DOMAIN, PASSWORD, Server, cli, server_with_users};
use xerra::xmpp::element::Element;

const MUC: &str = "http://jabber.org/protocol/muc";
const MAM: &str = "urn:xmpp:mam:2";

fn temp_dir(name: &str) -> PathBuf {
	let d = std::env::temp_dir().join(format!("xerra-migrate-{}-{name}", std::process::id()));
	let _ = std::fs::remove_dir_all(&d);
	std::fs::create_dir_all(&d).unwrap();
	d
}

fn jid(n: &str) -> String {
	Server::jid(n)
}

fn room(name: &str) -> String {
	format!("{name}@rooms.{DOMAIN}")
}

fn body(e: &Element) -> Option<String> {
	e.child("body", "jabber:client").map(Element::text)
}

/// Bodies of `c`'s archive (or a room's, with `to`), oldest first.
fn archive(c: &mut Client, to: Option<&str>) -> Vec<String> {
	let id = c.id();
	let to = to.map(|t| format!(" to='{t}'")).unwrap_or_default();
	c.send(&format!("<iq type='set' id='{id}'{to}><query xmlns='{MAM}' queryid='q'/></iq>"));
	let mut out = Vec::new();
	loop {
		let e = c.wait_for(|e| e.attr("id") == Some(id.as_str()) || e.child("result", MAM).is_some());
		if e.name() == "iq" {
			assert_eq!(e.attr("type"), Some("result"), "{}", e.to_xml("jabber:client"));
			return out;
		}
		let m = e
			.child("result", MAM)
			.and_then(|r| r.child("forwarded", "urn:xmpp:forward:0"))
			.and_then(|f| f.child("message", "jabber:client"));
		out.extend(m.and_then(body));
	}
}

/// A fresh data directory for `DOMAIN`, not running.
fn empty_box(name: &str) -> PathBuf {
	let d = temp_dir(name);
	let (ok, out) = cli(&d, &["config", "set", "domain", DOMAIN], None);
	assert!(ok, "{out}");
	d
}

fn export(dir: &Path, file: &Path) -> String {
	let (ok, out) = cli(dir, &["export", file.to_str().unwrap()], None);
	assert!(ok, "export: {out}");
	std::fs::read_to_string(file).unwrap()
}

/// A server with every kind of data: rosters with a pending request each
/// way, a vCard, private XML, a PEP item, one-to-one and offline messages,
/// a persistent room with its history, a department.
fn populated() -> Server {
	let s = server_with_users(&["alice", "bob", "carol"], &[]);
	let mut alice = s.online("alice");
	let r = alice.iq(&format!(
		"<iq type='set'><query xmlns='jabber:iq:roster'><item jid='{}' name='Bob B.'><group>Team</group></item></query></iq>",
		jid("bob")
	));
	assert_eq!(r.attr("type"), Some("result"));
	alice.send(&format!("<presence to='{}' type='subscribe'/>", jid("bob")));
	let mut bob = s.online("bob");
	bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	bob.send(&format!("<presence to='{}' type='subscribed'/>", jid("alice")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribed"));
	// carol asks alice, who does not answer; alice asks carol, who does not either.
	let mut carol = s.online("carol");
	carol.send(&format!("<presence to='{}' type='subscribe'><status>It is Carol</status></presence>", jid("alice")));
	alice.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	alice.send(&format!("<presence to='{}' type='subscribe'/>", jid("carol")));
	carol.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe"));
	let card = "<vCard xmlns='vcard-temp'><FN>Alice &amp; Co</FN><NICKNAME>al</NICKNAME></vCard>";
	assert_eq!(alice.iq(&format!("<iq type='set'>{card}</iq>")).attr("type"), Some("result"));
	let private = "<iq type='set'><query xmlns='jabber:iq:private'><prefs xmlns='x:prefs'><color>blue</color></prefs></query></iq>";
	assert_eq!(alice.iq(private).attr("type"), Some("result"));
	let publish = "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:x:status'>\
		<item id='now'><status xmlns='urn:x:status'>At the desk</status></item></publish></pubsub></iq>";
	assert_eq!(alice.iq(publish).attr("type"), Some("result"));
	alice.send(&format!("<message to='{}' type='chat'><body>hello bob</body></message>", jid("bob")));
	bob.wait_for(|e| body(e).as_deref() == Some("hello bob"));
	// A persistent room with something said in it.
	alice.send(&format!("<presence to='{}/al'><x xmlns='{MUC}'/></presence>", room("lobby")));
	alice.wait_for(|e| e.name() == "message" && e.child("subject", "jabber:client").is_some());
	let form = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
		<field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_roomname'><value>The Lobby</value></field></x>";
	let r =
		alice.iq(&format!("<iq type='set' to='{}'><query xmlns='http://jabber.org/protocol/muc#owner'>{form}</query></iq>", room("lobby")));
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	alice.send(&format!("<message to='{}' type='groupchat'><body>hi room</body></message>", room("lobby")));
	alice.wait_for(|e| body(e).as_deref() == Some("hi room"));
	drop(alice);
	// alice is away: this waits for her.
	bob.send(&format!("<message to='{}' type='chat'><body>while you were away</body></message>", jid("alice")));
	let mut carol2 = s.login("carol");
	let _ = carol2.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	for args in [&["group", "add", "Sales"][..], &["group", "add-member", "Sales", "bob"], &["group", "add", "Empty"]] {
		let (ok, out) = s.cli(args, None);
		assert!(ok, "{out}");
	}
	// The offline message is stored before the export (bob's stream is in order).
	let _ = bob.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	s
}

#[test]
fn round_trip_keeps_everything_and_the_old_passwords() {
	let mut a = populated();
	let running = temp_dir("running").join("x.xml");
	let (ok, out) = a.cli(&["export", running.to_str().unwrap()], None);
	assert!(!ok && out.contains("the server is running"), "{out}");
	let _ = std::fs::remove_dir_all(running.parent().unwrap());
	assert!(a.stop());
	// The test server had its domain on the command line; a box has it stored.
	let (ok, out) = a.cli(&["config", "set", "domain", DOMAIN], None);
	assert!(ok, "{out}");
	let dir = temp_dir("files");
	let first = export(&a.dir, &dir.join("first.xml"));
	for part in [
		"<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>",
		"mechanism='SCRAM-SHA-256'",
		"<item jid='bob@example.test' subscription='to' name='Bob B.'><group>Team</group></item>",
		"<item jid='carol@example.test' subscription='none' ask='subscribe'/>",
		"<presence xmlns='jabber:client' from='carol@example.test' to='alice@example.test' type='subscribe'><status>It is Carol</status>",
		"<vCard xmlns='vcard-temp'><FN>Alice &amp; Co</FN>",
		"<query xmlns='jabber:iq:private'><prefs xmlns='x:prefs'><color>blue</color>",
		"<offline-messages><message xmlns='jabber:client'",
		"<configure node='urn:x:status'><x xmlns='jabber:x:data' type='submit'>",
		"<items node='urn:x:status'><item id='now'><status xmlns='urn:x:status'>At the desk</status>",
		"<archive xmlns='urn:xmpp:pie:0#mam'><result xmlns='urn:xmpp:mam:2' id=",
		"<room name='lobby' title='The Lobby'",
		"<department name='Empty'/><department name='Sales'><member name='bob'/></department>",
	] {
		assert!(first.contains(part), "{part} missing from {first}");
	}
	let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.join("first.xml")).unwrap().permissions());
	assert_eq!(mode & 0o077, 0, "an export holds keys: the owner's only");

	let b = empty_box("fresh");
	let (ok, out) = cli(&b, &["import", dir.join("first.xml").to_str().unwrap()], None);
	assert!(ok && out.contains("imported 3 accounts, 1 rooms, 2 departments"), "{out}");
	let second = export(&b, &dir.join("second.xml"));
	assert_eq!(first, second, "export, import, export again: the same file");
	// Importing again merges nothing.
	let (ok, out) = cli(&b, &["import", dir.join("first.xml").to_str().unwrap()], None);
	assert!(!ok && out.contains("imported 0 accounts") && out.contains("skipped alice: an account with this name exists already"), "{out}");
	assert_eq!(export(&b, &dir.join("third.xml")), first);

	// On the new server, with the old password, by either SCRAM.
	let s = Server::start_in(b, Vec::new());
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	c.scram("bob", PASSWORD, "SCRAM-SHA-1").expect("SCRAM-SHA-1 with the old password");
	let mut alice = s.login("alice");
	let roster = alice.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>").to_xml("jabber:client");
	assert!(roster.contains("name='Bob B.'") && roster.contains("<group>Team</group>") && roster.contains("subscription='to'"), "{roster}");
	alice.send("<presence/>");
	let got = alice.drain(std::time::Duration::from_secs(2));
	assert!(got.iter().any(|e| body(e).as_deref() == Some("while you were away")), "the offline message");
	assert!(got.iter().any(|e| e.attr("type") == Some("subscribe") && e.attr("from") == Some(jid("carol").as_str())), "carol's request");
	let card = alice.iq("<iq type='get'><vCard xmlns='vcard-temp'/></iq>").to_xml("jabber:client");
	assert!(card.contains("<FN>Alice &amp; Co</FN>"), "{card}");
	let p = alice.iq("<iq type='get'><query xmlns='jabber:iq:private'><prefs xmlns='x:prefs'/></query></iq>").to_xml("jabber:client");
	assert!(p.contains("<color>blue</color>"), "{p}");
	let items = alice.iq("<iq type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:x:status'/></pubsub></iq>");
	assert!(items.to_xml("jabber:client").contains("At the desk"), "{}", items.to_xml("jabber:client"));
	let history = archive(&mut alice, None);
	assert!(history.contains(&"hello bob".to_owned()) && history.contains(&"while you were away".to_owned()), "{history:?}");
	assert_eq!(archive(&mut alice, Some(&room("lobby"))), ["hi room"]);
	alice.send(&format!("<presence to='{}/al'><x xmlns='{MUC}'/></presence>", room("lobby")));
	alice.wait_for(|e| body(e).as_deref() == Some("hi room"));
	let (ok, out) = s.cli(&["group", "list"], None);
	assert!(ok && out.contains("Sales") && out.contains("bob") && out.contains("Empty"), "{out}");
	let _ = std::fs::remove_dir_all(&dir);
}

/// `file` with `from` replaced by `to` (once; it must be there).
fn edited(file: &str, from: &str, to: &str) -> String {
	assert!(file.contains(from), "{from} not in the file");
	file.replacen(from, to, 1)
}

fn import(dir: &Path, text: &str, name: &str) -> (bool, String) {
	let f = dir.join(name);
	std::fs::write(&f, text).unwrap();
	cli(dir, &["import", f.to_str().unwrap()], None)
}

fn users(dir: &Path) -> String {
	let (ok, out) = cli(dir, &["user", "list"], None);
	assert!(ok, "{out}");
	out
}

#[test]
fn a_broken_account_or_file_imports_nothing_of_that_account_and_the_rest() {
	let mut s = server_with_users(&["alice", "bob", "carol", "dave"], &[]);
	let mut alice = s.login("alice");
	let photo = "A".repeat(70_000);
	let r = alice.iq(&format!("<iq type='set'><vCard xmlns='vcard-temp'><PHOTO><BINVAL>{photo}</BINVAL></PHOTO></vCard></iq>"));
	assert_eq!(r.attr("type"), Some("result"));
	alice.send(&format!("<message to='{}' type='chat'><body>for bob</body></message>", jid("bob")));
	let _ = alice.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert!(s.stop());
	assert!(s.cli(&["config", "set", "domain", DOMAIN], None).0);
	let work = temp_dir("broken");
	let file = export(&s.dir, &work.join("all.xml"));

	// Past import_max_account_bytes: that account is skipped, the others come.
	let b = empty_box("too-big");
	assert!(cli(&b, &["config", "set", "import_max_account_bytes", "65536"], None).0);
	let (ok, out) = import(&b, &file, "f.xml");
	assert!(
		!ok && out.contains("imported 3 accounts") && out.contains("skipped alice: larger than import_max_account_bytes (65536)"),
		"{out}"
	);
	assert_eq!(users(&b).lines().collect::<Vec<_>>(), [jid("bob"), jid("carol"), jid("dave")]);

	let _ = std::fs::remove_dir_all(&b);
	// A key that is not base64, and an account past a limit of this server.
	let b = empty_box("bad-account");
	assert!(cli(&b, &["config", "set", "max_offline_messages", "0"], None).0);
	let carol = file.find("<user name='carol'>").unwrap();
	let key = file[carol..].find("<stored-key>").unwrap() + carol + "<stored-key>".len();
	let broken = format!("{}!!{}", &file[..key], &file[key..]);
	let (ok, out) = import(&b, &broken, "f.xml");
	assert!(!ok && out.contains("imported 2 accounts"), "{out}");
	assert!(out.contains("skipped carol: scram-credentials: <stored-key/> is not base64"), "{out}");
	assert!(out.contains("skipped bob: 1 offline messages") && out.contains("max_offline_messages (0)"), "{out}");
	assert_eq!(users(&b).lines().collect::<Vec<_>>(), [jid("alice"), jid("dave")]);
	// Nothing of bob was written: imported later (limit raised), he is whole.
	assert!(cli(&b, &["config", "unset", "max_offline_messages"], None).0);
	let (_, out) = import(&b, &file, "f.xml");
	assert!(out.contains("imported 2 accounts") && out.contains("skipped alice: an account with this name exists"), "{out}");
	let again = export(&b, &work.join("again.xml"));
	assert_eq!(again, file, "bob and carol whole after all");

	let _ = std::fs::remove_dir_all(&b);
	// A file cut off inside carol: alice and bob are in, carol and dave are not.
	let b = empty_box("cut");
	let cut = &file[..file.find("<user name='carol'>").unwrap() + 200];
	let (ok, out) = import(&b, cut, "f.xml");
	assert!(!ok && out.contains("imported 2 accounts") && out.contains("nothing after this point was imported"), "{out}");
	assert_eq!(users(&b).lines().collect::<Vec<_>>(), [jid("alice"), jid("bob")]);
	let _ = std::fs::remove_dir_all(&b);
	// Not XML at all after bob.
	let b = empty_box("garbage");
	let (ok, out) = import(&b, &edited(&file, "<user name='carol'>", "<user name='carol'><<<"), "f.xml");
	assert!(!ok && out.contains("not well-formed") && out.contains("imported 2 accounts"), "{out}");
	let _ = std::fs::remove_dir_all(&b);
	let _ = std::fs::remove_dir_all(&work);
}

/// A private ejabberd 23.01 (tests/clients/ejabberd_peer.sh), stopped and
/// removed when dropped.
struct Ejabberd {
	work: PathBuf,
	port: u16,
}

const EJABBERD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/ejabberd_peer.sh");

impl Ejabberd {
	fn start(name: &str, format: &str) -> Ejabberd {
		assert!(Path::new("/usr/sbin/ejabberdctl").exists(), "ejabberd is not installed: run tests/setup");
		let work = temp_dir(&format!("ejabberd-{name}"));
		// Its c2s port and the Erlang distribution port after it, both free.
		let port = loop {
			let p = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
			if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
				break p;
			}
		};
		let out = std::process::Command::new(EJABBERD)
			.args(["start", work.to_str().unwrap(), &port.to_string(), DOMAIN, format])
			.output()
			.unwrap();
		let e = Ejabberd { work, port };
		assert!(out.status.success(), "ejabberd did not start: {}{}", String::from_utf8_lossy(&out.stderr), e.logs());
		e
	}

	fn ctl(&self, args: &[&str]) -> (bool, String) {
		let out = std::process::Command::new(EJABBERD).arg("ctl").arg(&self.work).args(args).output().unwrap();
		(out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
	}

	fn logs(&self) -> String {
		std::fs::read_to_string(self.work.join("logs/ejabberd.log")).unwrap_or_default()
	}

	/// STARTTLS and SCRAM-SHA-1 (all it offers with SCRAM storage), bound.
	fn login(&self, user: &str, password: &str) -> Result<Client, String> {
		let mut c = Client::connect(self.port);
		c.open();
		c.starttls();
		c.open();
		c.scram(user, password, "SCRAM-SHA-1")?;
		c.open();
		c.bind(None)?;
		Ok(c)
	}

	/// A directory ejabberd (running as its own user) may read and write.
	fn io(&self) -> PathBuf {
		self.work.join("io")
	}
}

impl Drop for Ejabberd {
	fn drop(&mut self) {
		let _ = std::process::Command::new(EJABBERD).arg("stop").arg(&self.work).status();
		if std::thread::panicking() {
			eprintln!("--- ejabberd log ---\n{}", self.logs());
		}
		let _ = std::fs::remove_dir_all(&self.work);
	}
}

/// The main file of an `export_piefxis DIR` (it includes the host file).
fn piefxis_main(dir: &Path) -> PathBuf {
	let mut found = Vec::new();
	for e in std::fs::read_dir(dir).unwrap() {
		let p = e.unwrap().path();
		let text = std::fs::read_to_string(&p).unwrap_or_default();
		if text.contains("<server-data") {
			found.push(p);
		}
	}
	assert_eq!(found.len(), 1, "one main file in {dir:?}: {found:?}");
	found.pop().unwrap()
}

#[test]
fn ejabberd_export_piefxis_moves_in_with_the_old_passwords() {
	let ej = Ejabberd::start("out", "scram");
	for u in ["alice", "bob"] {
		let (ok, out) = ej.ctl(&["register", u, DOMAIN, PASSWORD]);
		assert!(ok, "{out}");
	}
	let mut alice = ej.login("alice", PASSWORD).unwrap();
	let r = alice.iq(&format!(
		"<iq type='set'><query xmlns='jabber:iq:roster'><item jid='{}' name='Bob B.'><group>Team</group></item></query></iq>",
		jid("bob")
	));
	assert_eq!(r.attr("type"), Some("result"));
	alice.send(&format!("<presence to='{}' type='subscribe'/>", jid("bob")));
	assert_eq!(alice.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice from ejabberd</FN></vCard></iq>").attr("type"), Some("result"));
	let private = "<iq type='set'><query xmlns='jabber:iq:private'><prefs xmlns='x:prefs'><color>green</color></prefs></query></iq>";
	assert_eq!(alice.iq(private).attr("type"), Some("result"));
	drop(alice);
	let mut bob = ej.login("bob", PASSWORD).unwrap();
	bob.send(&format!("<message to='{}' type='chat'><body>waiting at ejabberd</body></message>", jid("alice")));
	let _ = bob.iq("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
	drop(bob);
	let (ok, out) = ej.ctl(&["export_piefxis", ej.io().to_str().unwrap()]);
	assert!(ok, "{out}");
	let main = piefxis_main(&ej.io());

	let b = empty_box("from-ejabberd");
	let (ok, out) = cli(&b, &["import", main.to_str().unwrap()], None);
	assert!(ok && out.contains("imported 2 accounts"), "{out}");
	// ejabberd keeps one SCRAM hash (SHA-1 here): said, not hidden.
	assert!(out.contains("alice: only SCRAM-SHA-1 keys"), "{out}");
	let s = Server::start_in(b, Vec::new());
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	// Clients take the strongest offered: SCRAM-SHA-256 would fail them.
	let mechs = c.mechanisms();
	assert!(mechs.contains(&"SCRAM-SHA-1".to_owned()) && !mechs.iter().any(|m| m.starts_with("SCRAM-SHA-256")), "{mechs:?}");
	assert!(s.log_text().contains("have SCRAM-SHA-1 keys only"), "said in the log");
	c.scram("alice", PASSWORD, "SCRAM-SHA-1").expect("the old password");
	c.open();
	c.bind(None).unwrap();
	let roster = c.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>").to_xml("jabber:client");
	assert!(roster.contains("name='Bob B.'") && roster.contains("<group>Team</group>") && roster.contains("ask='subscribe'"), "{roster}");
	let card = c.iq("<iq type='get'><vCard xmlns='vcard-temp'/></iq>").to_xml("jabber:client");
	assert!(card.contains("Alice from ejabberd"), "{card}");
	let p = c.iq("<iq type='get'><query xmlns='jabber:iq:private'><prefs xmlns='x:prefs'/></query></iq>").to_xml("jabber:client");
	assert!(p.contains("<color>green</color>"), "{p}");
	c.send("<presence/>");
	c.wait_for(|e| body(e).as_deref() == Some("waiting at ejabberd"));
	// bob has alice's request waiting.
	let mut bob = Client::connect(s.port);
	bob.open();
	bob.starttls();
	bob.open();
	// PLAIN checks the SHA-1 keys of such an account.
	bob.plain("bob", PASSWORD).expect("the old password by PLAIN");
	bob.open();
	bob.bind(None).unwrap();
	bob.send("<presence/>");
	bob.wait_for(|e| e.name() == "presence" && e.attr("type") == Some("subscribe") && e.attr("from") == Some(jid("alice").as_str()));
}

#[test]
fn xerra_export_moves_into_ejabberd_with_the_old_passwords() {
	let s = server_with_users(&["alice", "bob"], &[]);
	let mut alice = s.login("alice");
	let r = alice.iq(&format!(
		"<iq type='set'><query xmlns='jabber:iq:roster'><item jid='{}' name='Bob B.'><group>Team</group></item></query></iq>",
		jid("bob")
	));
	assert_eq!(r.attr("type"), Some("result"));
	assert_eq!(alice.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice from Xerra</FN></vCard></iq>").attr("type"), Some("result"));
	drop(alice);
	let mut s = s;
	assert!(s.stop());
	assert!(s.cli(&["config", "set", "domain", DOMAIN], None).0);
	let ej = Ejabberd::start("in", "scram");
	let file = ej.io().join("xerra.xml");
	let (ok, out) = s.cli(&["export", "--ejabberd", file.to_str().unwrap()], None);
	assert!(ok, "{out}");
	// ejabberd runs as its own user: it must read the file.
	let _ = std::process::Command::new("chmod").arg("644").arg(&file).status();
	let (ok, out) = ej.ctl(&["import_piefxis", file.to_str().unwrap()]);
	assert!(ok, "import_piefxis: {out}");
	let (_, users) = ej.ctl(&["registered_users", DOMAIN]);
	assert_eq!(users.split_whitespace().collect::<Vec<_>>(), ["alice", "bob"], "{users}");
	for u in ["alice", "bob"] {
		ej.login(u, PASSWORD).unwrap_or_else(|e| panic!("{u} cannot log in to ejabberd with the old password: {e}"));
	}
	assert!(ej.login("alice", "wrong").is_err(), "a wrong password is refused");
	let mut alice = ej.login("alice", PASSWORD).unwrap();
	let roster = alice.iq("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>").to_xml("jabber:client");
	assert!(roster.contains("Bob B.") && roster.contains("Team"), "{roster}");
	let card = alice.iq("<iq type='get'><vCard xmlns='vcard-temp'/></iq>").to_xml("jabber:client");
	assert!(card.contains("Alice from Xerra"), "{card}");
}

/// ejabberd's default password storage is plain: both SCRAM key sets are
/// made from the password, so any client's mechanism works.
#[test]
fn ejabberd_plain_passwords_give_both_key_sets() {
	let ej = Ejabberd::start("plain", "plain");
	let (ok, out) = ej.ctl(&["register", "alice", DOMAIN, PASSWORD]);
	assert!(ok, "{out}");
	let (ok, out) = ej.ctl(&["export_piefxis", ej.io().to_str().unwrap()]);
	assert!(ok, "{out}");
	let b = empty_box("from-ejabberd-plain");
	let (ok, out) = cli(&b, &["import", piefxis_main(&ej.io()).to_str().unwrap()], None);
	assert!(ok && out.contains("imported 1 accounts") && !out.contains("only SCRAM"), "{out}");
	let s = Server::start_in(b, Vec::new());
	drop(s.login("alice"));
	let mut c = Client::connect(s.port);
	c.open();
	c.starttls();
	c.open();
	c.scram("alice", PASSWORD, "SCRAM-SHA-1").expect("SCRAM-SHA-1 too");
}

/// `xerra import FILE` on `dir`; returns its output and its peak RSS in
/// bytes (the child's own, from wait4).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its peak RSS
fn import_measured(dir: &Path, file: &Path) -> (bool, String, u64) {
	use std::os::unix::process::ExitStatusExt as _;
	let child = std::process::Command::new(common::bin())
		.arg("--data-dir")
		.arg(dir)
		.arg("import")
		.arg(file)
		.stdout(std::process::Stdio::null())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.unwrap();
	let mut status = 0;
	// SAFETY: rusage is plain data filled by the kernel.
	let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
	let pid = child.id() as libc::pid_t;
	// The child writes little to stderr (the report), well under a pipe's buffer.
	let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
	assert_eq!(rc, pid);
	let mut err = String::new();
	std::io::Read::read_to_string(&mut child.stderr.unwrap(), &mut err).unwrap();
	(std::process::ExitStatus::from_raw(status).success(), err, usage.ru_maxrss as u64 * 1024)
}

/// One account with a long archive: the import holds it at about one and a
/// half times its XML, not seven (each archived message is mapped as it is
/// read instead of kept as a tree; debug build: 7.4 MB of XML peaked 55 MB
/// over the importer's own 14 MB before, 11 MB now).
#[test]
fn a_long_archive_imports_in_little_more_than_its_size() {
	let d = empty_box("long-archive");
	let mut xml =
		format!("<?xml version='1.0'?><server-data xmlns='urn:xmpp:pie:0'><host jid='{DOMAIN}'><user name='alice' password='secret1'>");
	xml.push_str("<archive xmlns='urn:xmpp:pie:0#mam'>");
	let n = 20_000;
	for i in 0..n {
		let (from, to) = if i % 2 == 0 {
			(format!("alice@{DOMAIN}/a"), format!("bob@{DOMAIN}"))
		} else {
			(format!("bob@{DOMAIN}/b"), format!("alice@{DOMAIN}"))
		};
		xml.push_str(&format!(
			"<result xmlns='urn:xmpp:mam:2' id='id{i:08}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' \
			 stamp='2026-01-01T{:02}:{:02}:{:02}.{:06}Z'/><message xmlns='jabber:client' from='{from}' to='{to}' type='chat' id='m{i}'>\
			 <body>message {i}, with the sort of text people write to each other at work</body></message></forwarded></result>",
			i / 3600,
			i / 60 % 60,
			i % 60,
			i
		));
	}
	xml.push_str("</archive></user></host></server-data>");
	// Beside it, the cost of starting the importer at all.
	let tiny = d.join("tiny.xml");
	std::fs::write(
		&tiny,
		format!("<server-data xmlns='urn:xmpp:pie:0'><host jid='{DOMAIN}'><user name='bob' password='secret1'/></host></server-data>"),
	)
	.unwrap();
	let (fine, out, base) = import_measured(&d, &tiny);
	assert!(fine, "{out}");
	let file = d.join("long.xml");
	std::fs::write(&file, &xml).unwrap();
	let (fine, out, peak) = import_measured(&d, &file);
	assert!(fine, "{out}");
	let size = xml.len() as u64;
	assert!(peak < base + 3 * size, "importing {size} bytes of XML peaked at {peak} bytes (the importer alone: {base})");
	// All of it is there: the last page of alice's archive ends with the last message.
	let s = Server::start_in(d.clone(), Vec::new());
	let mut alice = Client::login(s.port, "alice", "secret1");
	let id = alice.id();
	alice.send(&format!(
		"<iq type='set' id='{id}'><query xmlns='{MAM}'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set></query></iq>"
	));
	let last = alice.wait_for(|e| e.child("result", MAM).is_some());
	let text = last.to_xml("jabber:client");
	assert!(text.contains(&format!("message {}, with", n - 1)), "{text}");
	let fin = alice.wait_for(|e| e.attr("id") == Some(id.as_str()));
	assert!(fin.to_xml("jabber:client").contains(&format!("<last>id{:08}</last>", n - 1)), "{}", fin.to_xml("jabber:client"));
}

/// Archived messages are mapped while the file is read: a broken one still
/// skips its whole account (named in the report), and the importer's own
/// namespace for what it mapped cannot come from a file.
#[test]
fn a_broken_archived_message_or_the_importers_namespace_imports_nothing_of_it() {
	let d = empty_box("archive-errors");
	let result = |id: &str, stamp: &str| {
		format!(
			"<result xmlns='urn:xmpp:mam:2' id='{id}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='{stamp}'/>\
			 <message xmlns='jabber:client' from='bob@{DOMAIN}/b' to='alice@{DOMAIN}' type='chat'><body>hi</body></message></forwarded></result>"
		)
	};
	let user = |name: &str, results: &str| {
		format!("<user name='{name}' password='secret1'><archive xmlns='urn:xmpp:pie:0#mam'>{results}</archive></user>")
	};
	let good = result("a1", "2026-01-01T10:00:00.000001Z");
	let file = format!(
		"<server-data xmlns='urn:xmpp:pie:0'><host jid='{DOMAIN}'>{}{}</host></server-data>",
		user("alice", &format!("{good}{}{good}", result("a2", "yesterday"))),
		user("bob", &good)
	);
	let (ok, out) = import(&d, &file, "f.xml");
	assert!(!ok && out.contains("imported 1 accounts") && out.contains("skipped alice: archived message a2: bad time"), "{out}");
	assert_eq!(users(&d).lines().collect::<Vec<_>>(), [jid("bob")]);
	let sneaky = format!(
		"<server-data xmlns='urn:xmpp:pie:0'><host jid='{DOMAIN}'>{}</host></server-data>",
		user("carol", &format!("{good}<m xmlns='urn:xerra:import:compact'>&lt;message/&gt;</m>"))
	);
	let (ok, out) = import(&d, &sneaky, "g.xml");
	assert!(!ok && out.contains("urn:xerra:import:compact is the importer's own"), "{out}");
	assert_eq!(users(&d).lines().collect::<Vec<_>>(), [jid("bob")]);
	let _ = std::fs::remove_dir_all(&d);
}
