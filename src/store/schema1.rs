//! Schema 1 (until issue 13): each table had its own redb key and value
//! types. Moved once, at open, into the byte tables of `typed`.

use redb::{ReadableTable as _, TableDefinition, WriteTransaction};

use super::StoreError;
use super::tables;
use super::typed::OpenWrite as _;

type Raw<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

/// Calls `$m` with each schema 1 table and its key and value types.
macro_rules! schema1 {
	($m:ident) => {
		$m! {
			META: &'static str => u64,
			SETTINGS: &'static str => &'static str,
			ACCOUNTS: &'static str => &'static [u8],
			ROSTER: (&'static str, &'static str) => &'static [u8],
			ROSTER_VERSION: &'static str => u64,
			OFFLINE: (&'static str, u64) => &'static [u8],
			OFFLINE_BYTES: &'static str => u64,
			GROUPS: (&'static str, &'static str) => (),
			PRIVATE: (&'static str, &'static str) => &'static [u8],
			LAST: &'static str => &'static [u8],
			VCARD: &'static str => &'static [u8],
			PEP_NODES: (&'static str, &'static str) => &'static [u8],
			PEP_ITEMS: (&'static str, &'static str, &'static str) => &'static [u8],
			PEP_BYTES: &'static str => u64,
			BLOCKLIST: (&'static str, &'static str) => (),
			MAM: (&'static str, u64) => &'static [u8],
			MAM_ID: (&'static str, &'static str) => u64,
			MAM_COUNT: &'static str => u64,
			MAM_BYTES: &'static str => u64,
			MAM_PREFS: &'static str => &'static [u8],
			MUC_ROOMS: &'static str => &'static [u8],
			UPLOADS: &'static str => &'static [u8],
			UPLOAD_USAGE: &'static str => u64,
			INVITES: &'static str => &'static [u8],
			COMPONENTS: &'static str => &'static str,
			PUSH: (&'static str, &'static str, &'static str) => &'static str,
			PEP_SUBS: (&'static str, &'static str, &'static str, &'static str) => (),
			PEP_SUB_COUNT: &'static str => u64,
			STATS_POINTS: (u8, u16) => &'static [u8],
			ACTIVE_DAY: &'static str => u32,
			RESETS: &'static str => &'static [u8],
			NOTICES: &'static str => &'static str,
			// In files written by main's binary between issue 14 and schema 2 only.
			SHA1_ONLY: &'static str => (),
			BACKUP_STATE: &'static str => &'static str,
		}
	};
}

/// Copies each schema 1 table into its byte table of the same name (the old
/// one renamed aside first, then deleted), all in the caller's transaction.
pub(super) fn migrate(wtx: &WriteTransaction) -> Result<(), StoreError> {
	let have: Vec<String> = wtx.list_tables()?.map(|h| redb::TableHandle::name(&h).to_owned()).collect();
	macro_rules! copy {
		($($name:ident: $k:ty => $v:ty,)*) => {$(
			let name = tables::$name.name();
			if have.iter().any(|h| h == name) {
				let aside = format!("{name}.v1");
				wtx.rename_table(Raw::new(name), Raw::new(&aside))?;
				{
					let old = wtx.open_table(TableDefinition::<$k, $v>::new(&aside))?;
					let mut new = wtx.open(tables::$name)?;
					for row in old.iter()? {
						let (k, v) = row?;
						new.insert(k.value(), v.value())?;
					}
				}
				wtx.delete_table(Raw::new(&aside))?;
			}
		)*};
	}
	schema1!(copy);
	Ok(())
}

#[cfg(test)]
mod tests {
	use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition, TableHandle as _};

	use super::Raw;
	use crate::store::tables;
	use crate::store::test_support::{temp_store, test_account};
	use crate::store::typed::{Key, Val};
	use crate::store::*;

	type Dump = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

	/// Every table's rows, as bytes.
	fn dump(path: &std::path::Path) -> Dump {
		let db = redb::Database::open(path).unwrap();
		let rtx = db.begin_read().unwrap();
		let mut names: Vec<String> = rtx.list_tables().unwrap().map(|h| h.name().to_owned()).collect();
		names.sort();
		names
			.into_iter()
			.map(|n| {
				let t = rtx.open_table(Raw::new(&n)).unwrap();
				let rows = t.iter().unwrap().map(|r| r.unwrap()).map(|(k, v)| (k.value().to_vec(), v.value().to_vec())).collect();
				(n, rows)
			})
			.collect()
	}

	/// Writes the file back as schema 1 wrote it: each table with its own types.
	fn to_schema1(path: &std::path::Path) {
		let db = redb::Database::open(path).unwrap();
		let wtx = db.begin_write().unwrap();
		macro_rules! down {
			($($name:ident: $k:ty => $v:ty,)*) => {$(
				let name = tables::$name.name();
				let rows: Vec<(Vec<u8>, Vec<u8>)> = {
					let t = wtx.open_table(Raw::new(name)).unwrap();
					t.iter().unwrap().map(|r| r.unwrap()).map(|(k, v)| (k.value().to_vec(), v.value().to_vec())).collect()
				};
				assert!(wtx.delete_table(Raw::new(name)).unwrap());
				let mut old = wtx.open_table(TableDefinition::<$k, $v>::new(name)).unwrap();
				for (k, v) in &rows {
					let k = <$k as Key>::decode(k);
					old.insert(<$k as Key>::borrow(&k), <$v as Val>::decode(v)).unwrap();
				}
				drop(old);
			)*};
		}
		schema1!(down);
		drop(wtx.open_table(TableDefinition::<&str, u64>::new("meta")).unwrap().insert("schema_version", 1).unwrap());
		wtx.commit().unwrap();
	}

	/// Some of everything a server stores.
	fn fill(tx: &Tx<'_>) -> Result<(), StoreError> {
		tx.set_setting("domain", "example.org")?;
		tx.create_account("alice", &test_account())?;
		tx.create_account("bob", &test_account())?;
		tx.set_admin("alice", true)?;
		let entry = RosterEntry { in_roster: true, name: Some("Bob".into()), groups: vec!["Work".into()], ..Default::default() };
		tx.put_roster_entry("alice", "bob@example.org", &entry)?;
		tx.put_roster_entry("alice", "carol@example.org", &entry)?;
		tx.put_roster_entry("alicia", "bob@example.org", &entry)?;
		let quota = OfflineQuota { messages: 100, bytes: 1 << 20 };
		tx.push_offline("bob", b"<message>1</message>", quota)?;
		tx.push_offline("bob", b"<message>2</message>", quota)?;
		let aq = ArchiveQuota { messages: 100, bytes: 1 << 20 };
		for (i, t) in [5_000_000u64, 6_000_000, 7_000_000].into_iter().enumerate() {
			tx.archive("alice", &format!("id{i}"), t, "bob@example.org/phone", &format!("<message>{i}</message>"), aq)?;
			tx.archive("alice2", &format!("x{i}"), t, "bob@example.org", "<message/>", aq)?;
		}
		tx.put_mam_prefs("alice", &MamPrefs { default: MamDefault::Roster, always: vec!["bob@example.org".into()], never: vec![] })?;
		tx.pep_create("alice", "urn:xmpp:avatar:data", NodeConfig::default(), 100)?;
		tx.pep_create("alice", "urn:xmpp:avatar:metadata", NodeConfig::default(), 100)?;
		let limits = PepLimits { max_nodes: 10, max_items: 10, max_bytes: 1 << 16 };
		tx.pep_publish("alice", "urn:xmpp:avatar:metadata", NodeConfig::default(), "h1", "<metadata/>", limits)?;
		tx.create_invite("inv1", &Invite { expires: 2_000_000_000, ..Default::default() })?;
		tx.add_group_member("Office", "alice")?;
		tx.add_group_member("Office", "bob")?;
		tx.block("alice", &["spam@example.com".into()], 100)?;
		tx.add_component("bridge.example.org", "secret")?;
		tx.set_motd(Some("Hello"))?;
		tx.put_vcard("alice", "<vCard xmlns='vcard-temp'/>")?;
		tx.put_private("alice", "storage storage:bookmarks", "<storage xmlns='storage:bookmarks'/>", 1 << 16)?;
		let up = Upload { user: "bob".into(), filename: "a.png".into(), size: 3, content_type: "image/png".into(), created: 1 };
		tx.put_upload("slot1", &up)?;
		let push = PushRegistration { jid: "push.example.net".into(), node: "n1".into(), options: String::new() };
		tx.put_push("bob", &push, 10)?;
		tx.pep_subscribe("alice", "urn:xmpp:avatar:metadata", &PepSubscriber { user: "bob".into(), resource: String::new() }, 10)?;
		tx.create_reset("tok", "bob", 2_000_000_000, 1, 10)?;
		tx.set_last_activity("bob", 1_700_000_000, Some("away"))?;
		tx.mark_active(&["alice".into(), "bob".into()], 20_000)?;
		tx.put_stat_points(&[(0, 3, 42, vec![1.5, 2.5]), (1, 513, 43, vec![f32::NAN])])?;
		let mut sha1_only = test_account();
		sha1_only.sha256.stored_key.clear();
		tx.create_account("imported", &sha1_only)?;
		tx.put_backup_state(&BackupState { ok_at: Some(5), ok_file: Some("/b/x.age".into()), ..Default::default() })?;
		// Enough archive that a copy left behind would show in the file's size.
		let big = ArchiveQuota { messages: 10_000, bytes: 1 << 30 };
		for i in 0..2000u64 {
			tx.archive("bulk", &format!("b{i}"), i, "bob@example.org", &"x".repeat(1000), big)?;
		}
		Ok(())
	}

	#[test]
	fn a_schema_1_file_is_moved_to_byte_tables_keeping_every_row() {
		let t = temp_store();
		t.store.write_blocking(fill).unwrap();
		t.store.shutdown();
		let path = t.dir.join(FILE);
		let before = dump(&path);
		assert!(before.iter().all(|(n, _)| !n.ends_with(".v1")));
		assert_eq!(before.iter().find(|(n, _)| n == "mam").unwrap().1.len(), 2006);
		let new_bytes = std::fs::metadata(&path).unwrap().len();
		to_schema1(&path);
		// A schema 1 table cannot be read as bytes, so the file really is schema 1 now.
		let rtx = redb::Database::open(&path).unwrap().begin_read().unwrap();
		for name in ["roster", "scram_sha1_only", "backup_state"] {
			assert!(rtx.open_table(Raw::new(name)).is_err(), "{name}");
		}
		drop(rtx);

		let store = Store::open(&t.dir, 1 << 20).unwrap();
		let snap = store.snapshot().unwrap();
		assert!(snap.account("alice").unwrap().is_some());
		assert!(snap.is_admin("alice").unwrap());
		assert_eq!(
			snap.roster("alice").unwrap().iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
			["bob@example.org", "carol@example.org"]
		);
		let q = MamQuery { start: Some(5_500_000), end: Some(7_000_000), max: 10, ..Default::default() };
		let page = store.write_blocking(move |tx| tx.mam_page("alice", &q)).unwrap().unwrap();
		assert_eq!(page.items.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["id1", "id2"]);
		assert_eq!(snap.pep_nodes("alice").unwrap().len(), 2);
		assert_eq!(snap.group_members().unwrap().len(), 2);
		assert_eq!(snap.setting("domain").unwrap().as_deref(), Some("example.org"));
		assert_eq!(snap.component_secret("bridge.example.org").unwrap().as_deref(), Some("secret"));
		assert_eq!(snap.motd().unwrap().as_deref(), Some("Hello"));
		assert_eq!(snap.stat_points().unwrap().len(), 2);
		assert_eq!(snap.sha1_only_count().unwrap(), 1);
		assert_eq!(snap.backup_state().unwrap().ok_file.as_deref(), Some("/b/x.age"));
		drop(snap);
		let offline = store.write_blocking(|tx| tx.offline_batch("bob", 10, usize::MAX)).unwrap();
		assert_eq!(offline.iter().map(|(_, m)| m.as_slice()).collect::<Vec<_>>(), [&b"<message>1</message>"[..], b"<message>2</message>"]);
		store.shutdown();
		// The old tables' pages are given back (compaction), not left as free space.
		let bytes = std::fs::metadata(&path).unwrap().len();
		assert!(bytes < new_bytes * 5 / 4, "{bytes} bytes after the move, {new_bytes} when written as schema 2");
		// Byte for byte what the same data is in a new file, and a second open changes nothing.
		let mut after = dump(&path);
		assert_eq!(after, before);
		Store::open(&t.dir, 1 << 20).unwrap().shutdown();
		after = dump(&path);
		assert_eq!(after, before);
	}
}
