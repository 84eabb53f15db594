//! Prosody's data files (`migrate::lua`, `migrate::prosody`, read by
//! `xerra import --prosody`): any bytes give a value or a typed error within
//! the tree budget, never a panic; a `.list` reads as the same entries as
//! each `item(...)` alone; every mapping of a value to the model gives data
//! or an error, and the XML it makes parses back.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use xerra::migrate::lua::{self, Value};
use xerra::migrate::model::AccountData;
use xerra::migrate::prosody;
use xerra::xmpp::reader::{XmlLimits, parse_stored};

const BUDGET: usize = 64 * 1024;

fn parses(xml: &str, ns: &str) {
	assert!(parse_stored(xml, ns, XmlLimits::unlimited()).is_some(), "made XML that does not parse: {xml}");
}

fn map(v: &Value) {
	let _ = prosody::account("x", v, &mut AccountData::default());
	if let Ok(r) = prosody::roster(v) {
		assert!(r.iter().all(|i| i.in_roster || i.pending_in.is_some()));
	}
	if let Ok(p) = prosody::private(v) {
		p.iter().for_each(|p| parses(&p.xml, ""));
	}
	if let Ok(m) = prosody::archived(v) {
		parses(&m.xml, "jabber:client");
	}
	if let Ok(m) = prosody::offline(v, "example.org") {
		parses(&m, "jabber:client");
	}
	if let Ok(i) = prosody::pep_item(v) {
		parses(&i.xml, "http://jabber.org/protocol/pubsub");
	}
	if let Some(t) = v.as_table() {
		let _ = prosody::node_config(t);
		if let Ok(el) = prosody::element(t, "jabber:client") {
			common::round_trip(&el);
			if let Some(x) = prosody::vcard_temp_from_vcard4(&el) {
				parses(&x, "vcard-temp");
			}
		}
	}
	if let Ok(Some(m)) = prosody::room_archived(v, "groups.example.org", "rooms.example.org") {
		parses(&m.xml, "jabber:client");
	}
	let _ = prosody::room("r", v);
}

fuzz_target!(|data: &[u8]| {
	match lua::parse_dat(data, BUDGET) {
		Ok(v) => map(&v),
		Err(lua::LuaError::TooLarge { limit }) => assert_eq!(limit, BUDGET),
		Err(_) => {}
	}
	let items: Vec<_> = lua::parse_list(data, BUDGET).collect();
	// After an error the reader stops.
	assert!(items.iter().rev().skip(1).all(Result::is_ok));
	for v in items.iter().flatten() {
		map(v);
	}
	let _ = prosody::decode(&String::from_utf8_lossy(data));
});
