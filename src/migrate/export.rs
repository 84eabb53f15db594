//! The store's data as the model (what `xerra export` and the console's
//! "Download my data" write out).

use super::model::{AccountData, ArchivedMessage, Department, HostData, PepItemData, PepNodeData, PrivateXml, RoomData, RosterItem};
use crate::store::{Snapshot, StoreError};

/// One account and everything it owns; `None` if there is no such account.
pub fn account_data(snap: &Snapshot, user: &str) -> Result<Option<AccountData>, StoreError> {
	let Some(account) = snap.account(user)? else { return Ok(None) };
	let keys = |c: crate::proto::sasl::scram::ScramCredentials| (!c.stored_key.is_empty()).then_some(c);
	let mut a = AccountData {
		name: user.to_owned(),
		created: account.created,
		sha1: keys(account.sha1),
		sha256: keys(account.sha256),
		admin: snap.is_admin(user)?,
		locked: snap.is_locked(user)?,
		vcard: snap.vcard(user)?,
		..AccountData::default()
	};
	for (jid, e) in snap.roster(user)? {
		a.roster.push(RosterItem {
			jid,
			in_roster: e.in_roster,
			name: e.name,
			groups: e.groups,
			subscription: e.state.sub,
			ask: e.state.pending_out,
			pending_in: e.state.pending_in.then_some(e.request_status),
			approved: e.state.approved,
		});
	}
	for (key, xml) in snap.private_all(user)? {
		let (ns, name) = key.rsplit_once(' ').unwrap_or((key.as_str(), ""));
		a.private.push(PrivateXml { ns: ns.to_owned(), name: name.to_owned(), xml });
	}
	a.offline = snap.offline_all(user)?.into_iter().map(|m| String::from_utf8_lossy(&m).into_owned()).collect();
	for (node, n) in snap.pep_nodes(user)? {
		let mut items = snap.pep_items(user, &node)?;
		items.sort_by_key(|i| i.seq);
		let items = items.into_iter().map(|i| PepItemData { id: i.id, xml: i.xml }).collect();
		a.pep.push(PepNodeData { node, config: n.config, items });
	}
	a.archive = archive(snap, user)?;
	Ok(Some(a))
}

fn archive(snap: &Snapshot, key: &str) -> Result<Vec<ArchivedMessage>, StoreError> {
	Ok(snap.archive_all(key)?.into_iter().map(|m| ArchivedMessage { id: m.id, micros: m.micros, with: m.with, xml: m.xml }).collect())
}

/// The persistent rooms (with their archives) and the departments.
pub fn host_data(snap: &Snapshot) -> Result<HostData, StoreError> {
	let mut rooms = Vec::new();
	for (name, room) in snap.muc_rooms()? {
		let archive = archive(snap, &format!("muc:{name}"))?;
		rooms.push(RoomData { name, room, archive });
	}
	let mut departments: Vec<Department> = Vec::new();
	for (group, member) in snap.group_members()? {
		if departments.last().is_none_or(|d| d.name != group) {
			departments.push(Department { name: group.clone(), members: Vec::new() });
		}
		// The empty name only marks a group without members.
		if !member.is_empty() {
			departments.last_mut().expect("pushed above").members.push(member);
		}
	}
	Ok(HostData { rooms, departments })
}
