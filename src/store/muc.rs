//! XEP-0045 persistent rooms: configuration, subject and affiliations, one
//! record per room. Room messages are archived in the MAM tables under the
//! key `muc:ROOM` (a colon cannot appear in an account name, RFC 7622 §3.3.1).

use super::typed::{OpenRead as _, OpenWrite as _, Readable};

use super::codec::{Reader, Writer};
use super::tables::MUC_ROOMS;
use super::{Snapshot, StoreError, Tx};

/// A room's configuration (XEP-0045 §10.2, muc#roomconfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomConfig {
	pub title: String,
	pub description: String,
	pub persistent: bool,
	pub members_only: bool,
	pub moderated: bool,
	pub hidden: bool,
	pub password: Option<String>,
	/// Real JIDs shown to everyone (non-anonymous), not only to moderators.
	pub whois_anyone: bool,
	pub max_users: u32,
	pub allow_invites: bool,
	pub change_subject: bool,
}

impl RoomConfig {
	/// A new room: temporary, public, open, unmoderated, semi-anonymous.
	pub fn new(max_users: u32) -> RoomConfig {
		RoomConfig {
			title: String::new(),
			description: String::new(),
			persistent: false,
			members_only: false,
			moderated: false,
			hidden: false,
			password: None,
			whois_anyone: false,
			max_users,
			allow_invites: false,
			change_subject: false,
		}
	}
}

/// What is kept of a persistent room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
	pub config: RoomConfig,
	/// (text, nick that set it).
	pub subject: Option<(String, String)>,
	/// (bare JID, affiliation name) for owner, admin, member, outcast.
	pub affiliations: Vec<(String, String)>,
	/// (bare JID, nick) reserved by registering with the room (XEP-0045 §7.10).
	pub nicks: Vec<(String, String)>,
	/// The room's vCard as XML (its avatar, XEP-0486), if an owner set one.
	pub vcard: Option<String>,
	/// The room's secret for occupant ids (XEP-0421); empty in records from
	/// before them (the room then makes a new one).
	pub salt: Vec<u8>,
}

impl StoredRoom {
	pub(super) fn encode(&self) -> Vec<u8> {
		let c = &self.config;
		let mut w = Writer::new(3);
		w.str(&c.title).str(&c.description);
		w.bool(c.members_only).bool(c.moderated).bool(c.hidden).opt_str(c.password.as_deref());
		w.bool(c.whois_anyone).u64(u64::from(c.max_users)).bool(c.allow_invites).bool(c.change_subject);
		w.bool(self.subject.is_some());
		if let Some((text, by)) = &self.subject {
			w.str(text).str(by);
		}
		w.u64(self.affiliations.len() as u64);
		for (jid, aff) in &self.affiliations {
			w.str(jid).str(aff);
		}
		w.u64(self.nicks.len() as u64);
		for (jid, nick) in &self.nicks {
			w.str(jid).str(nick);
		}
		w.opt_str(self.vcard.as_deref()).bytes(&self.salt);
		w.finish()
	}

	pub(super) fn decode(buf: &[u8]) -> Result<StoredRoom, StoreError> {
		let c = |_| StoreError::Corrupt("muc room");
		let (mut r, version) = Reader::new(buf).map_err(c)?;
		let config = RoomConfig {
			title: r.string().map_err(c)?,
			description: r.string().map_err(c)?,
			persistent: true,
			members_only: r.bool().map_err(c)?,
			moderated: r.bool().map_err(c)?,
			hidden: r.bool().map_err(c)?,
			password: r.opt_string().map_err(c)?,
			whois_anyone: r.bool().map_err(c)?,
			max_users: r.u32().map_err(c)?,
			allow_invites: r.bool().map_err(c)?,
			change_subject: r.bool().map_err(c)?,
		};
		let mut room = StoredRoom { config, subject: None, affiliations: Vec::new(), nicks: Vec::new(), vcard: None, salt: Vec::new() };
		if r.bool().map_err(c)? {
			room.subject = Some((r.string().map_err(c)?, r.string().map_err(c)?));
		}
		for _ in 0..r.u64().map_err(c)? {
			room.affiliations.push((r.string().map_err(c)?, r.string().map_err(c)?));
		}
		// Version 1 records (before registration) have no reserved nicks.
		if version >= 2 {
			for _ in 0..r.u64().map_err(c)? {
				room.nicks.push((r.string().map_err(c)?, r.string().map_err(c)?));
			}
		}
		// Version 2 records have no vCard and no occupant-id salt.
		if version >= 3 {
			room.vcard = r.opt_string().map_err(c)?;
			room.salt = r.bytes().map_err(c)?.to_vec();
		}
		Ok(room)
	}
}

impl Snapshot {
	/// Every persistent room, loaded at start.
	pub fn muc_rooms(&self) -> Result<Vec<(String, StoredRoom)>, StoreError> {
		let t = self.tx.open(MUC_ROOMS)?;
		let mut out = Vec::new();
		for row in t.iter()? {
			let (k, v) = row?;
			out.push((k.value().to_owned(), StoredRoom::decode(v.value())?));
		}
		Ok(out)
	}
}

impl Tx<'_> {
	pub fn put_muc_room(&self, name: &str, room: &StoredRoom) -> Result<(), StoreError> {
		self.tx.open(MUC_ROOMS)?.insert(name, room.encode().as_slice())?;
		Ok(())
	}

	pub fn muc_room_exists(&self, name: &str) -> Result<bool, StoreError> {
		Ok(self.tx.open(MUC_ROOMS)?.get(name)?.is_some())
	}

	/// Forgets a room and its archive.
	pub fn delete_muc_room(&self, name: &str) -> Result<(), StoreError> {
		self.tx.open(MUC_ROOMS)?.remove(name)?;
		self.clear_mam(&format!("muc:{name}"))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn round_trip() {
		let config =
			RoomConfig { title: "Sales".into(), persistent: true, members_only: true, password: Some("pw".into()), ..RoomConfig::new(50) };
		let r = StoredRoom {
			config,
			subject: Some(("Q4".into(), "anna".into())),
			affiliations: vec![("anna@x".into(), "owner".into())],
			nicks: vec![("anna@x".into(), "Anna".into())],
			vcard: Some("<vCard xmlns='vcard-temp'/>".into()),
			salt: vec![7; 16],
		};
		assert_eq!(StoredRoom::decode(&r.encode()).unwrap(), r);
	}

	#[test]
	fn version_2_records_load_without_a_picture_or_salt() {
		let r = StoredRoom {
			config: RoomConfig { persistent: true, ..RoomConfig::new(10) },
			subject: None,
			affiliations: vec![("anna@x".into(), "owner".into())],
			nicks: Vec::new(),
			vcard: None,
			salt: Vec::new(),
		};
		let mut v3 = r.encode();
		// The same record as version 2 wrote it: no trailing vCard and salt.
		v3.truncate(v3.len() - 2);
		v3[0] = 2;
		assert_eq!(StoredRoom::decode(&v3).unwrap(), r);
	}
}
