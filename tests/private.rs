//! XEP-0049 Private XML Storage over real sockets: round trip, the empty
//! answer, every error of §3, the per-account limit, restart, deletion.

mod common;

use common::client::error_condition;
use common::{PASSWORD, Server, server_with_users};

fn get(c: &mut common::Client, child: &str) -> String {
	let r = c.iq(&format!("<iq type='get'><query xmlns='jabber:iq:private'>{child}</query></iq>"));
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	r.to_xml("jabber:client")
}

fn set(c: &mut common::Client, child: &str) -> xerra::xmpp::element::Element {
	c.iq(&format!("<iq type='set'><query xmlns='jabber:iq:private'>{child}</query></iq>"))
}

#[test]
fn private_storage_round_trip_errors_and_limit() {
	let s = server_with_users(&["alice", "bob"], &["max_private_bytes=400"]);
	let mut alice = s.login("alice");
	// Nothing stored yet: the empty element comes back.
	let empty = get(&mut alice, "<prefs xmlns='x:prefs'/>");
	assert!(empty.contains("<prefs xmlns='x:prefs'/>") || empty.contains("<prefs xmlns=\"x:prefs\"/>"), "{empty}");
	let data = "<prefs xmlns='x:prefs'><colour theme='dark &amp; &apos;quiet&apos;'>blue &lt;3</colour><n/></prefs>";
	assert_eq!(set(&mut alice, data).attr("type"), Some("result"));
	let back = get(&mut alice, "<prefs xmlns='x:prefs'/>");
	assert!(back.contains("blue &lt;3") && back.contains("theme=") && back.contains("quiet"), "{back}");
	// Another namespace is another slot.
	assert!(!get(&mut alice, "<prefs xmlns='y:prefs'/>").contains("colour"));
	// §3 errors.
	let r = alice
		.iq(&format!("<iq type='get' to='{}'><query xmlns='jabber:iq:private'><prefs xmlns='x:prefs'/></query></iq>", Server::jid("bob")));
	assert_eq!(error_condition(&r), "forbidden");
	assert_eq!(error_condition(&set(&mut alice, "<message xmlns='jabber:client'/>")), "not-acceptable");
	assert_eq!(error_condition(&set(&mut alice, "<a xmlns='x:a'/><b xmlns='x:b'/>")), "not-acceptable");
	assert_eq!(error_condition(&set(&mut alice, "")), "not-acceptable");
	// max_private_bytes counts every slot of the account; replacing a slot counts once.
	let big = format!("<big xmlns='x:big'>{}</big>", "z".repeat(350));
	let r = set(&mut alice, &big);
	assert_eq!(error_condition(&r), "resource-constraint");
	assert_eq!(set(&mut alice, "<prefs xmlns='x:prefs'>small</prefs>").attr("type"), Some("result"));
	assert_eq!(set(&mut alice, &format!("<big xmlns='x:big'>{}</big>", "z".repeat(300))).attr("type"), Some("result"));
	// Bob's storage is his own.
	let mut bob = s.login("bob");
	assert!(!get(&mut bob, "<prefs xmlns='x:prefs'/>").contains("small"));
	// Survives a restart; goes with the account.
	drop((alice, bob));
	let s = s.restart();
	let mut alice = s.login("alice");
	assert!(get(&mut alice, "<prefs xmlns='x:prefs'/>").contains("small"));
	drop(alice);
	s.cli(&["user", "del", "alice"], None);
	s.add_user("alice");
	let mut alice = common::Client::login(s.port, "alice", PASSWORD);
	assert!(!get(&mut alice, "<prefs xmlns='x:prefs'/>").contains("small"));
}
