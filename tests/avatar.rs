//! XEP-0398 over real sockets: an XEP-0084 avatar becomes the vCard photo
//! and the presence hash; a vCard photo becomes the XEP-0084 avatar.

mod common;

use base64::Engine as _;
use common::{Server, server_with_users};

const PUBSUB: &str = "http://jabber.org/protocol/pubsub";

fn sha1_hex(b: &[u8]) -> String {
	ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b).as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn one_avatar_for_pep_and_vcard_clients() {
	let s = server_with_users(&["alice", "bob"], &[]);
	assert!(s.cli(&["group", "add", "Team"], None).0);
	for n in ["alice", "bob"] {
		assert!(s.cli(&["group", "add-member", "Team", n], None).0);
	}
	let mut alice = s.online("alice");
	let info =
		alice.iq(&format!("<iq type='get' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", Server::jid("alice")));
	assert!(info.to_xml("jabber:client").contains("urn:xmpp:pep-vcard-conversion:0"));

	// alice publishes an XEP-0084 avatar: data, then metadata.
	let png: Vec<u8> = (0..300u32).map(|i| (i % 256) as u8).collect();
	let (b64, id) = (base64::engine::general_purpose::STANDARD.encode(&png), sha1_hex(&png));
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='urn:xmpp:avatar:data'><item id='{id}'><data xmlns='urn:xmpp:avatar:data'>{b64}</data></item></publish></pubsub></iq>"
	));
	assert_eq!(r.attr("type"), Some("result"));
	let r = alice.iq(&format!(
		"<iq type='set'><pubsub xmlns='{PUBSUB}'><publish node='urn:xmpp:avatar:metadata'><item id='{id}'><metadata xmlns='urn:xmpp:avatar:metadata'><info id='{id}' type='image/png' bytes='{}'/></metadata></item></publish></pubsub></iq>",
		png.len()
	));
	assert_eq!(r.attr("type"), Some("result"));
	// vCard-only clients see it in the vCard ...
	let mut bob = s.online("bob");
	let card = bob.iq(&format!("<iq type='get' to='{}'><vCard xmlns='vcard-temp'/></iq>", Server::jid("alice"))).to_xml("jabber:client");
	assert!(card.contains(&b64) && card.contains("<TYPE>image/png</TYPE>"), "{card}");
	// ... and its hash in alice's presence.
	alice.send("<presence><show>chat</show></presence>");
	let p = bob.wait_for(|e| {
		e.name() == "presence" && e.attr("from").is_some_and(|f| f.starts_with("alice@")) && e.child("show", "jabber:client").is_some()
	});
	let photo = p.child("x", "vcard-temp:x:update").and_then(|x| x.child("photo", "vcard-temp:x:update")).map(|p| p.text());
	assert_eq!(photo.as_deref(), Some(id.as_str()));

	// bob sets a vCard photo: PEP clients find it as an XEP-0084 avatar.
	let jpg: Vec<u8> = (0..500u32).map(|i| (i * 3 % 256) as u8).collect();
	let (jb64, jid) = (base64::engine::general_purpose::STANDARD.encode(&jpg), sha1_hex(&jpg));
	let r = bob.iq(&format!(
		"<iq type='set'><vCard xmlns='vcard-temp'><FN>Bob</FN><PHOTO><TYPE>image/jpeg</TYPE><BINVAL>{jb64}</BINVAL></PHOTO></vCard></iq>"
	));
	assert_eq!(r.attr("type"), Some("result"));
	let meta = alice.iq(&format!(
		"<iq type='get' to='{}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:avatar:metadata'/></pubsub></iq>",
		Server::jid("bob")
	));
	let meta = meta.to_xml("jabber:client");
	assert!(meta.contains(&format!("id='{jid}'")) && meta.contains("type='image/jpeg'") && meta.contains("bytes='500'"), "{meta}");
	let data = alice.iq(&format!(
		"<iq type='get' to='{}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:avatar:data'><item id='{jid}'/></items></pubsub></iq>",
		Server::jid("bob")
	));
	assert!(data.to_xml("jabber:client").contains(&jb64));
}
