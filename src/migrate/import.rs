//! Writes [`AccountData`] into the store: one write transaction per
//! account, so an account is imported whole or not at all.

use super::model::{AccountData, HostData, ImportReport, Skipped};
use crate::config::Config;
use crate::proto::sasl::scram::ScramCredentials;
use crate::proto::subscription::SubState;
use crate::store::{Account, ArchiveQuota, OfflineQuota, PepLimits, Published, Pushed, RosterEntry, Store, StoreError, Tx};

/// The account limits an import is checked against (the server's own:
/// an account past one is refused whole, naming the setting).
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
	pub offline: OfflineQuota,
	pub archive: ArchiveQuota,
	pub pep: PepLimits,
	pub max_private_bytes: usize,
	pub max_vcard_bytes: usize,
	pub max_roster_items: usize,
	pub scram_iterations: u32,
}

impl ImportLimits {
	pub fn from_config(c: &Config) -> ImportLimits {
		let l = &c.limits;
		ImportLimits {
			offline: OfflineQuota { messages: l.max_offline_messages, bytes: l.max_offline_bytes },
			archive: ArchiveQuota { messages: l.max_archive_messages, bytes: l.max_archive_bytes },
			pep: PepLimits { max_nodes: l.max_pep_nodes, max_items: l.max_pep_items, max_bytes: l.max_pep_bytes },
			max_private_bytes: l.max_private_bytes,
			max_vcard_bytes: l.max_vcard_bytes,
			max_roster_items: l.max_roster_items,
			scram_iterations: c.scram_iterations,
		}
	}
}

/// Imports each account in its own write transaction. An account that
/// exists already is skipped (never merged); one past a limit or that fails
/// to store is not written at all; `Err` items (accounts the reader could
/// not read) are reported as skipped. Blocking: run it off the executor.
pub fn import_accounts<I>(store: &Store, limits: &ImportLimits, accounts: I) -> ImportReport
where
	I: IntoIterator<Item = Result<AccountData, Skipped>>,
{
	let mut report = ImportReport::default();
	for item in accounts {
		match item {
			Ok(a) => import_one(store, limits, a, &mut report),
			Err(s) => report.skipped.push(s),
		}
	}
	report
}

fn import_one(store: &Store, limits: &ImportLimits, mut a: AccountData, report: &mut ImportReport) {
	let name = match crate::xmpp::jid::prep_localpart(&a.name) {
		Ok(n) => n,
		Err(e) => return report.skipped.push(Skipped { name: a.name.clone(), why: format!("invalid user name: {e}") }),
	};
	a.name = name.clone();
	if let Err(why) = check_limits(&a, limits).and_then(|()| check_xml(&a)) {
		return report.skipped.push(Skipped { name, why });
	}
	let account = match credentials(&a, limits) {
		Ok((account, note)) => {
			report.notes.extend(note);
			account
		}
		Err(why) => return report.skipped.push(Skipped { name, why }),
	};
	let limits = *limits;
	// An error returned from the job rolls its transaction back: nothing of the account stays.
	match store.write_blocking(move |tx| write_account(tx, &a, &account, &limits)) {
		Ok(true) => report.imported.push(name),
		Ok(false) => report.skipped.push(Skipped { name, why: "an account with this name exists already (not merged)".into() }),
		Err(e) => report.skipped.push(Skipped { name, why: format!("not stored: {e}") }),
	}
}

/// The server's account limits, checked before anything is written.
pub fn check_limits(a: &AccountData, l: &ImportLimits) -> Result<(), String> {
	let items = a.roster.iter().filter(|r| r.in_roster).count();
	if items > l.max_roster_items {
		return Err(format!("{items} roster items, more than max_roster_items ({})", l.max_roster_items));
	}
	if let Some(v) = a.vcard.as_ref().filter(|v| v.len() > l.max_vcard_bytes) {
		return Err(format!("a vCard of {} bytes, more than max_vcard_bytes ({})", v.len(), l.max_vcard_bytes));
	}
	let private: usize = a.private.iter().map(|p| p.xml.len()).sum();
	if private > l.max_private_bytes {
		return Err(format!("{private} bytes of private XML, more than max_private_bytes ({})", l.max_private_bytes));
	}
	let offline: u64 = a.offline.iter().map(|m| m.len() as u64).sum();
	if a.offline.len() > l.offline.messages || offline > l.offline.bytes {
		return Err(format!(
			"{} offline messages ({offline} bytes), more than max_offline_messages ({}) or max_offline_bytes ({})",
			a.offline.len(),
			l.offline.messages,
			l.offline.bytes
		));
	}
	if a.pep.len() > l.pep.max_nodes {
		return Err(format!("{} PEP nodes, more than max_pep_nodes ({})", a.pep.len(), l.pep.max_nodes));
	}
	let (count, bytes) = (a.archive.len() as u64, a.archive.iter().map(|m| m.xml.len() as u64).sum::<u64>());
	if count > l.archive.messages || bytes > l.archive.bytes {
		return Err(format!(
			"an archive of {count} messages ({bytes} bytes), more than max_archive_messages ({}) or max_archive_bytes ({})",
			l.archive.messages, l.archive.bytes
		));
	}
	Ok(())
}

/// Every XML text parses (in the namespace its field implies when it has no xmlns).
pub fn check_xml(a: &AccountData) -> Result<(), String> {
	use crate::xmpp::ns;
	let ok = |xml: &str, default_ns: &str, what: &str| {
		crate::xmpp::reader::parse_stored(xml, default_ns, crate::xmpp::reader::XmlLimits::unlimited())
			.map(|_| ())
			.ok_or_else(|| format!("{what} is not well-formed XML"))
	};
	if let Some(v) = &a.vcard {
		ok(v, ns::VCARD, "the vCard")?;
	}
	for p in &a.private {
		ok(&p.xml, ns::PRIVATE, "private XML")?;
	}
	for (i, m) in a.offline.iter().enumerate() {
		ok(m, ns::CLIENT, &format!("offline message {}", i + 1))?;
	}
	for n in &a.pep {
		for i in &n.items {
			ok(&i.xml, ns::PUBSUB, &format!("PEP item {} of {}", i.id, n.node))?;
		}
	}
	for m in &a.archive {
		ok(&m.xml, ns::CLIENT, &format!("archived message {}", m.id))?;
	}
	Ok(())
}

/// The stored key sets: both from the file, or derived from a plaintext
/// password. One missing set is stored empty (no login with that mechanism
/// until a new password is set), and said in the report.
fn credentials(a: &AccountData, limits: &ImportLimits) -> Result<(Account, Option<String>), String> {
	let created = if a.created == 0 {
		std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
	} else {
		a.created
	};
	match (&a.sha1, &a.sha256, &a.password) {
		(Some(s1), Some(s256), _) => Ok((Account { created, sha1: s1.clone(), sha256: s256.clone() }, None)),
		(_, _, Some(pw)) => {
			let rng = ring::rand::SystemRandom::new();
			let mut random = |b: &mut [u8]| ring::rand::SecureRandom::fill(&rng, b).expect("system random number generator failed");
			let mut account = crate::proto::sasl::derive_account(pw, limits.scram_iterations, created, &mut random)
				.ok_or("the password has characters that are not allowed")?;
			account.created = created;
			Ok((account, None))
		}
		(Some(s1), None, None) => Ok((
			Account { created, sha1: s1.clone(), sha256: no_keys() },
			Some(format!("{}: only SCRAM-SHA-1 keys: clients that choose SCRAM-SHA-256 cannot log in until a new password is set", a.name)),
		)),
		(None, Some(s256), None) => Ok((
			Account { created, sha1: no_keys(), sha256: s256.clone() },
			Some(format!("{}: only SCRAM-SHA-256 keys: clients limited to SCRAM-SHA-1 cannot log in until a new password is set", a.name)),
		)),
		(None, None, None) => Err("no credentials (no SCRAM keys, no password)".into()),
	}
}

/// Writes one account; false (nothing written) if it exists already.
/// A key set nobody can log in with (the source had none for this hash):
/// the exchange runs and fails at the proof; export leaves it out.
pub fn no_keys() -> ScramCredentials {
	let mut salt = vec![0u8; 16];
	ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt).expect("system random number generator failed");
	ScramCredentials { salt, iterations: 4096, stored_key: Vec::new(), server_key: Vec::new() }
}

fn write_account(tx: &Tx<'_>, a: &AccountData, account: &Account, l: &ImportLimits) -> Result<bool, StoreError> {
	let user = a.name.as_str();
	if !tx.create_account(user, account)? {
		return Ok(false);
	}
	if a.admin {
		tx.set_admin(user, true)?;
	}
	if a.locked {
		tx.set_locked(user, true)?;
	}
	for r in &a.roster {
		let entry = RosterEntry {
			in_roster: r.in_roster,
			name: r.name.clone(),
			groups: r.groups.clone(),
			state: SubState { sub: r.subscription, pending_out: r.ask, pending_in: r.pending_in.is_some(), approved: r.approved },
			request_status: r.pending_in.clone().flatten(),
		};
		tx.put_roster_entry(user, &r.jid, &entry)?;
	}
	if let Some(v) = &a.vcard {
		tx.put_vcard(user, v)?;
	}
	// Past a limit here (checked before, so only a file that lies): the whole account is rolled back.
	let over = |what: &str| StoreError::Db(format!("{what} over this server's limit").into());
	for p in &a.private {
		if !tx.put_private(user, &format!("{} {}", p.ns, p.name), &p.xml, l.max_private_bytes)? {
			return Err(over("private XML"));
		}
	}
	for m in &a.offline {
		if tx.push_offline(user, m.as_bytes(), l.offline)? != Pushed::Stored {
			return Err(over("offline messages"));
		}
	}
	for n in &a.pep {
		if !tx.pep_create(user, &n.node, n.config, l.pep.max_nodes)? {
			return Err(over("PEP nodes"));
		}
		for item in &n.items {
			if !matches!(tx.pep_publish(user, &n.node, n.config, &item.id, &item.xml, l.pep)?, Published::Ok(_)) {
				return Err(over("PEP items"));
			}
		}
	}
	for m in &a.archive {
		tx.archive(user, &m.id, m.micros, &m.with, &m.xml, l.archive)?;
	}
	Ok(true)
}

/// Imports rooms with their archives and departments (each in its own
/// transaction; one that exists already is skipped, never merged). A room's
/// archive keeps this server's quota: past it, its oldest messages go.
pub fn import_host(store: &Store, limits: &ImportLimits, host: HostData, report: &mut ImportReport) {
	let quota = limits.archive;
	for data in host.rooms {
		let name = data.name.clone();
		let r = store.write_blocking(move |tx| {
			if tx.muc_room_exists(&data.name)? {
				return Ok(false);
			}
			tx.put_muc_room(&data.name, &data.room)?;
			let key = format!("muc:{}", data.name);
			for m in &data.archive {
				tx.archive(&key, &m.id, m.micros, &m.with, &m.xml, quota)?;
			}
			Ok(true)
		});
		match r {
			Ok(true) => report.rooms.push(name),
			Ok(false) => report.skipped.push(Skipped { name: format!("room {name}"), why: "a room with this name exists already".into() }),
			Err(e) => report.skipped.push(Skipped { name: format!("room {name}"), why: format!("not stored: {e}") }),
		}
	}
	for d in host.departments {
		let dept = d.clone();
		let r = store.write_blocking(move |tx| {
			if tx.group_members()?.iter().any(|(g, _)| *g == dept.name) {
				return Ok(false);
			}
			tx.add_group_member(&dept.name, "")?;
			for m in &dept.members {
				tx.add_group_member(&dept.name, m)?;
			}
			Ok(true)
		});
		match r {
			Ok(true) => report.departments.push(d.name),
			Ok(false) => report
				.skipped
				.push(Skipped { name: format!("department {}", d.name), why: "a department with this name exists already".into() }),
			Err(e) => report.skipped.push(Skipped { name: format!("department {}", d.name), why: format!("not stored: {e}") }),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::migrate::model::{AccountData, RosterItem};
	use crate::store::test_support::{temp_store, test_account};

	fn limits() -> ImportLimits {
		ImportLimits::from_config(&Config::new(std::env::temp_dir()))
	}

	/// An account whose transaction fails after some of it was written
	/// leaves nothing behind (the store rolls the whole job back).
	#[test]
	fn an_account_failing_midway_leaves_nothing() {
		let t = temp_store();
		let a = AccountData {
			name: "alice".into(),
			roster: vec![RosterItem { jid: "bob@x".into(), in_roster: true, ..RosterItem::default() }],
			vcard: Some("<vCard/>".into()),
			offline: vec!["<message/>".into()],
			..AccountData::default()
		};
		let l = limits();
		let r = t.store.write_blocking(move |tx| {
			assert!(write_account(tx, &a, &test_account(), &l)?);
			Err::<(), _>(StoreError::Db("the disk went away".into()))
		});
		assert!(r.is_err());
		let s = t.store.snapshot().unwrap();
		assert!(s.account("alice").unwrap().is_none() && s.roster("alice").unwrap().is_empty() && s.vcard("alice").unwrap().is_none());
		assert!(s.offline_all("alice").unwrap().is_empty());
	}

	#[test]
	fn one_key_set_is_enough_and_none_is_refused() {
		let t = temp_store();
		let sha1 = test_account().sha1;
		let one = AccountData { name: "Alice".into(), sha1: Some(sha1.clone()), ..AccountData::default() };
		let none = AccountData { name: "bob".into(), ..AccountData::default() };
		let bad = AccountData { name: "a@b".into(), sha1: Some(sha1), ..AccountData::default() };
		let r = import_accounts(&t.store, &limits(), [Ok(one), Ok(none), Ok(bad)]);
		assert_eq!(r.imported, ["alice"]);
		assert!(r.notes[0].contains("only SCRAM-SHA-1 keys"), "{:?}", r.notes);
		assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
		let stored = t.store.snapshot().unwrap().account("alice").unwrap().unwrap();
		assert!(stored.sha256.stored_key.is_empty(), "no SHA-256 login until a new password");
	}
}
