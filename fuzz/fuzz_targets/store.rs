//! Rows read back from the database (`store`): every record decoder on any
//! bytes must answer with a record or an error, never panic, and a decoded
//! record must write back to a row that reads the same. The XML kept in
//! rows (archived messages, PEP items, room vCards) is parsed as the
//! features parse it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::xmpp::ns;
use xerra::xmpp::reader::{XmlLimits, parse_stored};

fuzz_target!(|data: &[u8]| {
	for xml in xerra::store::fuzzing::decode_all(data) {
		let _ = parse_stored(&xml, ns::CLIENT, XmlLimits::unlimited());
	}
});
