//! XEP-0402 §5.3 compatibility over real sockets: old-style bookmarks in
//! private storage and the PEP node urn:xmpp:bookmarks:1 mirror each other.

mod common;

use common::{Client, DOMAIN, Server, server_with_users};

const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const NODE: &str = "urn:xmpp:bookmarks:1";

fn pep_ids(c: &mut Client) -> Vec<String> {
	let r = c.iq(&format!("<iq type='get'><pubsub xmlns='{PUBSUB}'><items node='{NODE}'/></pubsub></iq>"));
	let items = r.child("pubsub", PUBSUB).and_then(|p| p.child("items", PUBSUB)).unwrap_or_else(|| panic!("{}", r.to_xml("jabber:client")));
	let mut ids: Vec<String> = items.children().map(|i| i.attr("id").unwrap().to_owned()).collect();
	ids.sort();
	ids
}

fn legacy(c: &mut Client) -> String {
	c.iq("<iq type='get'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>").to_xml("jabber:client")
}

#[test]
fn old_and_new_bookmarks_mirror_each_other() {
	let s = server_with_users(&["alice"], &[]);
	let mut alice = s.login("alice");
	let info =
		alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", Server::jid("alice")));
	assert!(info.to_xml("jabber:client").contains("urn:xmpp:bookmarks:1#compat"));
	let room = |n: &str| format!("{n}@rooms.{DOMAIN}");

	// An old client saves two rooms and a link.
	let r = alice.iq(&format!(
		"<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>\
		 <conference jid='{}' name='Sales' autojoin='true'><nick>al</nick></conference>\
		 <conference jid='{}' name='Lunch'/><url name='Wiki' url='https://wiki.example'/></storage></query></iq>",
		room("sales"),
		room("lunch")
	));
	assert_eq!(r.attr("type"), Some("result"));
	assert_eq!(pep_ids(&mut alice), [room("lunch"), room("sales")]);
	let items = alice.iq(&format!("<iq type='get'><pubsub xmlns='{PUBSUB}'><items node='{NODE}'/></pubsub></iq>")).to_xml("jabber:client");
	assert!(items.contains("name='Sales'") && items.contains("autojoin='true'") && items.contains("<nick>al</nick>"), "{items}");

	// A new client adds one and removes one: the old storage follows, the link stays.
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='{NODE}'><item id='{}'><conference xmlns='{NODE}' name='Board'/></item></publish></pubsub></iq>",
		room("board")
	));
	assert_eq!(r.attr("type"), Some("result"));
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><retract node='{NODE}'><item id='{}'/></retract></pubsub></iq>",
		room("lunch")
	));
	assert_eq!(r.attr("type"), Some("result"));
	let old = legacy(&mut alice);
	assert!(old.contains(&room("board")) && old.contains(&room("sales")) && !old.contains(&room("lunch")), "{old}");
	assert!(old.contains("https://wiki.example") && old.contains("<nick>al</nick>"), "{old}");
	// Removing everything the old way empties the node.
	alice.iq("<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>");
	assert!(pep_ids(&mut alice).is_empty());
}

/// XEP-0411: bookmarks kept the XEP-0048 way in PEP join the other two.
#[test]
fn xep_0048_bookmarks_in_pep_join_in() {
	let s = server_with_users(&["alice"], &[]);
	let mut alice = s.login("alice");
	let info =
		alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", Server::jid("alice")));
	assert!(info.to_xml("jabber:client").contains("urn:xmpp:bookmarks-conversion:0"));
	let room = format!("team@rooms.{DOMAIN}");
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='storage:bookmarks'><item id='current'><storage xmlns='storage:bookmarks'>\
		 <conference jid='{room}' name='Team' autojoin='true'/></storage></item></publish>\
		 <publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>\
		 <field var='pubsub#access_model'><value>whitelist</value></field></x></publish-options></pubsub></iq>"
	));
	assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml("jabber:client"));
	assert_eq!(pep_ids(&mut alice), vec![room.clone()]);
	assert!(legacy(&mut alice).contains(&room));
	// And the other way: an XEP-0402 change shows in the XEP-0048 PEP item.
	let other = format!("other@rooms.{DOMAIN}");
	alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='{NODE}'><item id='{other}'><conference xmlns='{NODE}' name='Other'/></item></publish></pubsub></iq>"
	));
	let old = alice
		.iq(&format!("<iq type='get'><pubsub xmlns='{PUBSUB}'><items node='storage:bookmarks'/></pubsub></iq>"))
		.to_xml("jabber:client");
	assert!(old.contains(&other) && old.contains(&room), "{old}");
}
