//! JID parsing and preparation (`xmpp::jid`, RFC 7622 with the PRECIS
//! profiles): a prepared JID parses back as itself, its parts rebuild it,
//! each part is at most 1023 bytes, and preparing a prepared part changes
//! nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::xmpp::jid::{BareJid, FullJid, Jid, prep_localpart, prep_password, prep_resource};

fuzz_target!(|data: &[u8]| {
	let Ok(s) = std::str::from_utf8(data) else { return };
	if let Ok(j) = Jid::parse(s) {
		assert_eq!(Jid::parse(j.as_str()).as_ref(), Ok(&j), "a prepared JID prepares to something else");
		assert_eq!(Jid::from_parts(j.node(), j.domain(), j.resource()).as_ref(), Ok(&j));
		for part in [j.node(), Some(j.domain()), j.resource()].into_iter().flatten() {
			assert!(!part.is_empty() && part.len() <= 1023, "part {part:?}");
		}
		let bare = j.to_bare();
		assert!(bare.as_jid().is_bare());
		assert_eq!(BareJid::parse(bare.as_str()).as_ref(), Ok(&bare));
		match j.clone().try_into_full() {
			Ok(full) => assert_eq!(FullJid::parse(full.as_str()).as_ref(), Ok(&full)),
			Err(b) => assert!(b.is_bare() && FullJid::parse(b.as_str()).is_err()),
		}
	}
	if let Ok(p) = prep_localpart(s) {
		assert_eq!(prep_localpart(&p).as_deref(), Ok(p.as_str()));
		assert!(Jid::from_parts(Some(&p), "example.org", None).is_ok());
	}
	if let Ok(p) = prep_resource(s) {
		assert_eq!(prep_resource(&p).as_deref(), Ok(p.as_str()));
		assert!(FullJid::parse(&format!("a@example.org/{p}")).is_ok_and(|f| f.resource() == p));
	}
	let _ = prep_password(s);
});
