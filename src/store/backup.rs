//! Whole-database operations for backups: copy every table of one read
//! transaction into a fresh file, read such a file back, and a canonical
//! dump for comparing two databases table by table.

use std::path::Path;

use redb::{
	Database, Key, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle, Value,
	WriteTransaction,
};

use super::tables::*;
use super::{SCHEMA_VERSION, Snapshot, StoreError};

/// Page cache for a copy or a check: the write buffer is half of it, so a
/// large copy costs this much memory, not the database's size.
const COPY_CACHE: usize = 2 << 20;

/// Calls `$m!(TABLE, ...)` with every table; `every_table_is_listed` keeps it complete.
macro_rules! all_tables {
	($m:ident, $($arg:expr),*) => {
		$m!($($arg),*;
			META, SETTINGS, BACKUP_STATE, ACCOUNTS, ROSTER, ROSTER_VERSION, OFFLINE, OFFLINE_BYTES, GROUPS, PRIVATE, LAST, VCARD,
			PEP_NODES, PEP_ITEMS, PEP_BYTES, PEP_SUBS, PEP_SUB_COUNT, BLOCKLIST, MAM, MAM_ID, MAM_COUNT, MAM_BYTES,
			MAM_PREFS, MUC_ROOMS, UPLOADS, UPLOAD_USAGE, INVITES, COMPONENTS, PUSH, RESETS, NOTICES, STATS_POINTS, ACTIVE_DAY,
			SHA1_ONLY)
	};
}

/// Rows per table name.
pub type RowCounts = Vec<(String, u64)>;

fn copy_table<K: Key + 'static, V: Value + 'static>(
	src: &ReadTransaction,
	dst: &WriteTransaction,
	def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
	let from = src.open_table(def)?;
	let mut to = dst.open_table(def)?;
	let mut n = 0;
	for row in from.iter()? {
		let (k, v) = row?;
		to.insert(k.value(), v.value())?;
		n += 1;
	}
	Ok(n)
}

fn count_table<K: Key + 'static, V: Value + 'static>(src: &ReadTransaction, def: TableDefinition<K, V>) -> Result<u64, StoreError> {
	// Every row is read, so a damaged page is found, not only the length.
	let t = src.open_table(def)?;
	let mut n = 0;
	for row in t.iter()? {
		let (k, v) = row?;
		std::hint::black_box((K::as_bytes(&k.value()).as_ref().len(), V::as_bytes(&v.value()).as_ref().len()));
		n += 1;
	}
	debug_assert_eq!(n, t.len()?);
	Ok(n)
}

fn dump_table<K: Key + 'static, V: Value + 'static>(
	src: &ReadTransaction,
	def: TableDefinition<K, V>,
	out: &mut String,
) -> Result<(), StoreError> {
	use std::fmt::Write as _;
	let t = src.open_table(def)?;
	let _ = writeln!(out, "table {} ({} rows)", def.name(), t.len()?);
	for row in t.iter()? {
		let (k, v) = row?;
		let _ = writeln!(out, "  {} = {}", hex(K::as_bytes(&k.value()).as_ref()), hex(V::as_bytes(&v.value()).as_ref()));
	}
	Ok(())
}

fn hex(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

macro_rules! copy_all {
	($src:expr, $dst:expr; $($t:ident),*) => {{
		let counts: RowCounts = vec![$(($t.name().to_owned(), copy_table($src, $dst, $t)?)),*];
		counts
	}};
}

macro_rules! count_all {
	($src:expr; $($t:ident),*) => {{
		let counts: RowCounts = vec![$(($t.name().to_owned(), count_table($src, $t)?)),*];
		counts
	}};
}

macro_rules! dump_all {
	($src:expr, $out:expr; $($t:ident),*) => {{
		$( dump_table($src, $t, $out)?; )*
	}};
}

macro_rules! names {
	(;$($t:ident),*) => { vec![$($t.name().to_owned()),*] };
}

impl Snapshot {
	/// Copies every table into a new database file at `path` (which must not
	/// exist), committed and fsynced. Returns the rows per table.
	pub fn copy_to(&self, path: &Path) -> Result<RowCounts, StoreError> {
		use std::os::unix::fs::OpenOptionsExt as _;
		let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(path)?;
		let db = Database::builder().set_cache_size(COPY_CACHE).create_with_backend(redb::backends::FileBackend::new(file)?)?;
		let wtx = db.begin_write()?;
		let counts = all_tables!(copy_all, &self.tx, &wtx);
		wtx.commit()?;
		Ok(counts)
	}

	/// Every table's rows as hex, in key order: equal dumps, equal databases.
	pub fn dump(&self) -> Result<String, StoreError> {
		let mut out = String::new();
		all_tables!(dump_all, &self.tx, &mut out);
		Ok(out)
	}
}

/// What a database file copied by [`Snapshot::copy_to`] holds.
pub struct CopyInfo {
	pub schema: u64,
	pub rows: RowCounts,
	pub domain: Option<String>,
}

/// Opens a copied database file, checks every page's checksum and reads
/// every row; refuses a schema newer than this binary's.
pub fn check_copy(path: &Path) -> Result<CopyInfo, StoreError> {
	let mut db = Database::builder().set_cache_size(COPY_CACHE).open(path)?;
	if !db.check_integrity().map_err(redb::Error::from)? {
		return Err(StoreError::Corrupt("database snapshot (repaired pages)"));
	}
	let rtx = db.begin_read()?;
	let schema = rtx.open_table(META)?.get("schema_version")?.map(|g| g.value()).ok_or(StoreError::Corrupt("meta: no schema version"))?;
	if schema > SCHEMA_VERSION {
		return Err(StoreError::Corrupt("meta: database written by a newer xerra"));
	}
	let domain = rtx.open_table(SETTINGS)?.get("domain")?.map(|g| g.value().to_owned());
	let rows = all_tables!(count_all, &rtx);
	Ok(CopyInfo { schema, rows, domain })
}

/// The canonical dump of a stopped data directory's database (tests, `xerra backup dump`).
pub fn dump_file(path: &Path) -> Result<String, StoreError> {
	let db = Database::builder().set_cache_size(COPY_CACHE).open_read_only(path)?;
	let rtx = db.begin_read()?;
	let mut out = String::new();
	all_tables!(dump_all, &rtx, &mut out);
	Ok(out)
}

/// The schema this binary writes (a backup records it).
pub fn schema_version() -> u64 {
	SCHEMA_VERSION
}

/// The names of the tables a backup copies.
pub fn table_names() -> Vec<String> {
	all_tables!(names,)
}

#[cfg(test)]
mod tests {
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
