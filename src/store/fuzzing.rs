//! For the fuzz target `store` (fuzz/): every decoder of stored rows, on
//! any bytes. A corrupt row must be an error, never a panic, and a row that
//! decodes must write back to one that reads the same.

use super::codec::Writer;
use super::*;
use crate::proto::sasl::scram::ScramCredentials;
use crate::proto::subscription::{Sub, SubState};

/// Reads `row` with every decoder; panics if a decoded record does not
/// survive being written and read again. Returns the stored XML texts it
/// found (archived messages, PEP items, room vCards), which the caller may
/// parse as the features would.
pub fn decode_all(row: &[u8]) -> Vec<String> {
	let mut xml = Vec::new();
	// A record from before roles is an ordinary user's.
	let account = |b: &[u8]| accounts::Account::decode_with_role(b).map(|(a, admin)| (a, admin.unwrap_or(false)));
	same(row, account, |(a, admin)| a.encode(*admin));
	same(row, invites::Invite::decode, invites::Invite::encode);
	same(row, mam::MamPrefs::decode, mam::MamPrefs::encode);
	same(row, roster::RosterEntry::decode, roster::RosterEntry::encode);
	same(row, upload::Upload::decode, upload::Upload::encode);
	same(row, pep::PepNode::decode, pep::PepNode::encode);
	if let Some(room) = same(row, muc::StoredRoom::decode, muc::StoredRoom::encode) {
		xml.extend(room.vcard);
	}
	if let Some(a) = same(row, |b| mam::decode_item(7, b), |a| mam::encode_item(&a.id, &a.with, &a.xml)) {
		xml.push(a.xml);
	}
	if let Some(item) = same(row, |b| pep::decode_item("id", b), |i| pep::encode_item(i.seq, &i.xml)) {
		xml.push(item.xml);
	}
	same(row, last::decode, |(secs, status)| Writer::new(1).u64(*secs).opt_str(status.as_deref()).finish());
	xml
}

fn same<T: PartialEq + std::fmt::Debug>(
	row: &[u8],
	decode: impl Fn(&[u8]) -> Result<T, StoreError>,
	encode: impl Fn(&T) -> Vec<u8>,
) -> Option<T> {
	let value = decode(row).ok()?;
	let again = decode(&encode(&value)).expect("a record written back reads back");
	assert_eq!(again, value, "a record written back reads the same");
	Some(value)
}

/// Rows as Xerra writes them, one of each kind (the seed corpus).
pub fn sample_rows() -> Vec<Vec<u8>> {
	let creds = |n: u8| ScramCredentials { salt: vec![n; 16], iterations: 4096, stored_key: vec![n; 32], server_key: vec![n + 1; 32] };
	let room = muc::StoredRoom {
		config: RoomConfig { title: "Lunch".into(), password: Some("pw".into()), ..RoomConfig::new(200) },
		subject: Some(("Today: soup".into(), "alice".into())),
		affiliations: vec![("alice@example.org".into(), "owner".into()), ("bob@example.org".into(), "member".into())],
		nicks: vec![("bob@example.org".into(), "bobby".into())],
		vcard: Some("<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0K</BINVAL></PHOTO></vCard>".into()),
		salt: vec![9; 16],
	};
	let roster = roster::RosterEntry {
		in_roster: true,
		name: Some("Bob".into()),
		groups: vec!["Friends".into(), "Office".into()],
		state: SubState { sub: Sub::Both, pending_out: false, pending_in: true, approved: false },
		request_status: Some("Hi, it's Bob".into()),
	};
	let node = pep::PepNode {
		config: NodeConfig { access: AccessModel::Presence, persist_items: true, max_items: 1, send_last: true, notify_retract: false },
		next_seq: 42,
	};
	vec![
		accounts::Account { created: 1_700_000_000, sha1: creds(1), sha256: creds(3) }.encode(true),
		invites::Invite { inviter: Some("alice".into()), expires: 1_700_086_400, registers: false, ..Default::default() }.encode(),
		mam::MamPrefs { default: MamDefault::Roster, always: vec!["bob@example.org".into()], never: vec!["spam@example.net".into()] }
			.encode(),
		roster.encode(),
		upload::Upload {
			user: "alice".into(),
			filename: "report 2024.pdf".into(),
			size: 123_456,
			content_type: "application/pdf".into(),
			created: 1_700_000_000,
		}
		.encode(),
		node.encode(),
		room.encode(),
		mam::encode_item(
			"A1b2C3",
			"bob@example.org/phone",
			"<message from='bob@example.org/phone' to='alice@example.org' type='chat' id='m1'><body>lunch?</body></message>",
		),
		pep::encode_item(3, "<geoloc xmlns='http://jabber.org/protocol/geoloc'><lat>52.5</lat><lon>13.4</lon></geoloc>"),
		Writer::new(1).u64(1_700_000_000).opt_str(Some("gone home")).finish(),
	]
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sample_rows_read_back_and_corrupt_rows_are_errors() {
		let rows = sample_rows();
		let xml: Vec<String> = rows.iter().flat_map(|r| decode_all(r)).collect();
		assert!(xml.iter().any(|x| x.starts_with("<vCard")) && xml.iter().any(|x| x.starts_with("<message")), "{xml:?}");
		for row in &rows {
			for cut in 0..row.len() {
				decode_all(&row[..cut]);
			}
		}
	}
}
