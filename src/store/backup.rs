//! Whole-database operations for backups: copy every table of one read
//! transaction into a fresh file, read such a file back, and a canonical
//! dump for comparing two databases table by table.

use std::path::Path;

use redb::{
	Database, ReadTransaction, ReadableDatabase, ReadableTable as _, ReadableTableMetadata as _, TableDefinition, WriteTransaction,
};

use super::tables::*;
use super::typed::{OpenRead as _, Readable as _};
use super::{SCHEMA_VERSION, Snapshot, StoreError};

/// Page cache for a copy or a check: the write buffer is half of it, so a
/// large copy costs this much memory, not the database's size.
const COPY_CACHE: usize = 2 << 20;

/// Every table by name; `every_table_is_listed` keeps it complete. Since
/// schema 2 every table is bytes to bytes (`typed`), so they are copied,
/// counted and dumped as bytes.
const ALL: [&str; 35] = [
	META.name(),
	SETTINGS.name(),
	BACKUP_STATE.name(),
	ACCOUNTS.name(),
	ROSTER.name(),
	ROSTER_VERSION.name(),
	OFFLINE.name(),
	OFFLINE_BYTES.name(),
	GROUPS.name(),
	PRIVATE.name(),
	LAST.name(),
	VCARD.name(),
	PEP_NODES.name(),
	PEP_ITEMS.name(),
	PEP_BYTES.name(),
	PEP_SUBS.name(),
	PEP_SUB_COUNT.name(),
	BLOCKLIST.name(),
	MAM.name(),
	MAM_ID.name(),
	MAM_COUNT.name(),
	MAM_BYTES.name(),
	MAM_PREFS.name(),
	MUC_ROOMS.name(),
	UPLOADS.name(),
	UPLOAD_USAGE.name(),
	INVITES.name(),
	COMPONENTS.name(),
	PUSH.name(),
	RESETS.name(),
	NOTICES.name(),
	STATS_POINTS.name(),
	ACTIVE_DAY.name(),
	SHA1_ONLY.name(),
	DEVICES.name(),
];

type Raw<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

/// Rows per table name.
pub type RowCounts = Vec<(String, u64)>;

fn copy_table(src: &ReadTransaction, dst: &WriteTransaction, name: &str) -> Result<u64, StoreError> {
	let from = src.open_table(Raw::new(name))?;
	let mut to = dst.open_table(Raw::new(name))?;
	let mut n = 0;
	for row in from.iter()? {
		let (k, v) = row?;
		to.insert(k.value(), v.value())?;
		n += 1;
	}
	Ok(n)
}

fn count_table(src: &ReadTransaction, name: &str) -> Result<u64, StoreError> {
	// Every row is read, so a damaged page is found, not only the length.
	let t = src.open_table(Raw::new(name))?;
	let mut n = 0;
	for row in t.iter()? {
		let (k, v) = row?;
		std::hint::black_box((k.value().len(), v.value().len()));
		n += 1;
	}
	debug_assert_eq!(n, t.len()?);
	Ok(n)
}

fn dump_table(src: &ReadTransaction, name: &str, out: &mut String) -> Result<(), StoreError> {
	use std::fmt::Write as _;
	let t = src.open_table(Raw::new(name))?;
	let _ = writeln!(out, "table {name} ({} rows)", t.len()?);
	for row in t.iter()? {
		let (k, v) = row?;
		let _ = writeln!(out, "  {} = {}", hex(k.value()), hex(v.value()));
	}
	Ok(())
}

fn hex(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

fn dump_all(src: &ReadTransaction) -> Result<String, StoreError> {
	let mut out = String::new();
	for name in ALL {
		dump_table(src, name, &mut out)?;
	}
	Ok(out)
}

impl Snapshot {
	/// Copies every table into a new database file at `path` (which must not
	/// exist), committed and fsynced. Returns the rows per table.
	pub fn copy_to(&self, path: &Path) -> Result<RowCounts, StoreError> {
		use std::os::unix::fs::OpenOptionsExt as _;
		let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(path)?;
		let db = Database::builder().set_cache_size(COPY_CACHE).create_with_backend(redb::backends::FileBackend::new(file)?)?;
		let wtx = db.begin_write()?;
		let mut counts = RowCounts::new();
		for name in ALL {
			counts.push((name.to_owned(), copy_table(&self.tx, &wtx, name)?));
		}
		wtx.commit()?;
		Ok(counts)
	}

	/// Every table's rows as hex, in key order: equal dumps, equal databases.
	pub fn dump(&self) -> Result<String, StoreError> {
		dump_all(&self.tx)
	}
}

/// What a database file copied by [`Snapshot::copy_to`] holds.
pub struct CopyInfo {
	/// The schema it was written with (1: moved to this one by [`check_copy`]).
	pub schema: u64,
	pub rows: RowCounts,
	pub domain: Option<String>,
}

/// Opens a copied database file, checks every page's checksum and reads
/// every row; refuses a schema newer than this binary's. A schema 1 copy
/// (a backup made before schema 2) is moved to this schema in place, as
/// [`super::Store::open`] would, so restore puts a file this binary opens
/// as it is, and verify proves that the move works on it.
pub fn check_copy(path: &Path) -> Result<CopyInfo, StoreError> {
	let mut db = Database::builder().set_cache_size(COPY_CACHE).open(path)?;
	if !db.check_integrity().map_err(redb::Error::from)? {
		return Err(StoreError::Corrupt("database snapshot (repaired pages)"));
	}
	let v1 = matches!(db.begin_read()?.open(META), Err(redb::TableError::TableTypeMismatch { .. }));
	if v1 {
		// Schema 1's meta holds 1 (checked by the move, which refuses a mix).
		super::migrate(&db)?;
		if let Err(e) = db.compact() {
			log::warn!("backup: compacting the database moved from schema 1 failed: {e}");
		}
	}
	let rtx = db.begin_read()?;
	let schema = rtx.open(META)?.get("schema_version")?.map(|g| g.value()).ok_or(StoreError::Corrupt("meta: no schema version"))?;
	if schema > SCHEMA_VERSION {
		return Err(StoreError::Corrupt("meta: database written by a newer xerra"));
	}
	let domain = rtx.open(SETTINGS)?.get("domain")?.map(|g| g.value().to_owned());
	let mut rows = RowCounts::new();
	for name in ALL {
		rows.push((name.to_owned(), count_table(&rtx, name)?));
	}
	Ok(CopyInfo { schema: if v1 { 1 } else { schema }, rows, domain })
}

/// The canonical dump of a stopped data directory's database (tests, `xerra backup dump`).
pub fn dump_file(path: &Path) -> Result<String, StoreError> {
	let db = Database::builder().set_cache_size(COPY_CACHE).open_read_only(path)?;
	let rtx = db.begin_read()?;
	dump_all(&rtx)
}

/// The schema this binary writes (a backup records it).
pub fn schema_version() -> u64 {
	SCHEMA_VERSION
}

/// The names of the tables a backup copies.
pub fn table_names() -> Vec<String> {
	ALL.iter().map(|n| (*n).to_owned()).collect()
}

#[cfg(test)]
mod tests {
	use redb::TableHandle as _;

	use super::*;
	use crate::store::test_support::{temp_store, test_account};

	#[test]
	fn every_table_is_listed() {
		let t = temp_store();
		let snap = t.store.snapshot().unwrap();
		let mut in_file: Vec<String> = snap.tx.list_tables().unwrap().map(|h| h.name().to_owned()).collect();
		in_file.sort();
		let mut listed = table_names();
		listed.sort();
		assert_eq!(in_file, listed);
	}

	#[test]
	fn a_copy_has_the_same_dump_and_is_checked() {
		let t = temp_store();
		t.store.write_blocking(|tx| tx.create_account("alice", &test_account())).unwrap();
		t.store.write_blocking(|tx| tx.set_setting("domain", "example.org")).unwrap();
		let copy = t.dir.join("copy.redb");
		let snap = t.store.snapshot().unwrap();
		// Later writes are not in the copy of an earlier snapshot.
		t.store.write_blocking(|tx| tx.create_account("bob", &test_account())).unwrap();
		let rows = snap.copy_to(&copy).unwrap();
		assert!(rows.contains(&("accounts".to_owned(), 1)));
		assert!(snap.copy_to(&copy).is_err(), "an existing file is never overwritten");
		let info = check_copy(&copy).unwrap();
		assert_eq!((info.schema, info.domain.as_deref()), (SCHEMA_VERSION, Some("example.org")));
		assert_eq!(info.rows, rows);
		assert_eq!(dump_file(&copy).unwrap(), snap.dump().unwrap());
		assert!(snap.dump().unwrap().contains("table accounts (1 rows)"));
	}
}
