//! The only code that names redb. Features see typed functions on [`Snapshot`]
//! (reads) and [`Tx`] (writes), never tables or bytes.
//!
//! # Invariants
//! * Every write goes through the writer thread ([`Store::write`]). Jobs run
//!   in arrival order inside one write transaction per batch (group commit);
//!   the batch is committed with `Durability::Immediate` (fsync) before any
//!   job in it learns its result. So a result in hand means the data is on
//!   disk, and the executor thread never waits for an fsync.
//! * Read-modify-write logic runs inside the job, so it sees every earlier
//!   job's writes; reads on the executor ([`Store::snapshot`]) may lag by the
//!   batch in flight and are used only where that is harmless.
//! * A job returns `Err` only for storage failures; the whole batch is then
//!   rolled back and every job in it fails.

mod accounts;
mod admin;
mod backup;
mod backup_state;
mod blocking;
mod codec;
mod components;
mod devices;
mod disk;
mod export;
#[doc(hidden)]
pub mod fuzzing;
mod groups;
mod invites;
mod last;
mod mam;
mod muc;
mod offline;
mod pep;
mod pep_subs;
mod private;
mod push;
mod roster;
mod schema1;
mod settings;
mod stats;
mod tables;
mod typed;
mod upload;
mod writer;

use std::path::Path;
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use typed::{OpenWrite as _, Readable as _};

pub use accounts::Account;
pub use backup::{CopyInfo, RowCounts, check_copy, dump_file, schema_version, table_names};
pub use backup_state::BackupState;
pub use codec::Corrupt;
pub use devices::{Device, FastSlot};
pub use disk::{DiskStatus, mib};
pub use invites::Invite;
pub use mam::{ArchiveQuota, Archived, MamDefault, MamPrefs, MamQuery, Page, UnknownId};
pub use muc::{RoomConfig, StoredRoom};
pub use offline::{OfflineQuota, Pushed};
pub use pep::{AccessModel, NodeConfig, PepItem, PepLimits, PepNode, Published};
pub use pep_subs::{PepSubscriber, Subscribed};
pub use push::PushRegistration;
pub use roster::RosterEntry;
pub use stats::StatRecord;
pub use upload::Upload;

/// Current schema; `migrate` upgrades older files to it. 2: every table
/// holds bytes (`typed`); 1: each table had its own redb types (`schema1`).
/// Backups name it too: bump it whenever stored data changes shape.
pub const SCHEMA_VERSION: u64 = 2;
/// Most jobs in one transaction; bounds commit latency under load.
const MAX_BATCH: usize = 256;
/// Jobs waiting for the writer; senders wait (asynchronously) when it is full.
const QUEUE_LEN: usize = 1024;
/// The database file in the data directory.
const FILE: &str = "xerra.redb";

/// A storage failure. On the wire (`xmpp::error`): `Unavailable` is
/// `resource-constraint` (wait: try again later), the rest `internal-server-error`.
#[derive(Debug, Clone)]
pub enum StoreError {
	/// The disk refuses writes (it is full, or failing): nothing was
	/// written. The writer tries again by itself (see `writer`).
	Unavailable(Arc<str>),
	Db(Arc<str>),
	Corrupt(&'static str),
	/// The writer thread is gone (shutdown or a panic).
	Closed,
	/// Another Xerra process has the data directory open.
	Locked,
}

impl std::fmt::Display for StoreError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Unavailable(why) => write!(f, "storage cannot write now: {why}"),
			Self::Db(e) => write!(f, "database error: {e}"),
			Self::Corrupt(what) => write!(f, "corrupt record in {what}"),
			Self::Closed => f.write_str("storage is shut down"),
			Self::Locked => f.write_str("the database is in use by another xerra process"),
		}
	}
}

impl std::error::Error for StoreError {}

impl From<redb::Error> for StoreError {
	fn from(e: redb::Error) -> StoreError {
		match e {
			// What the disk said; after it redb refuses everything until reopened.
			redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed => StoreError::Unavailable(e.to_string().into()),
			redb::Error::DatabaseAlreadyOpen => StoreError::Locked,
			e => StoreError::Db(e.to_string().into()),
		}
	}
}

impl From<std::io::Error> for StoreError {
	fn from(e: std::io::Error) -> StoreError {
		StoreError::Unavailable(e.to_string().into())
	}
}

macro_rules! from_redb {
	($($t:ty),*) => {$(
		impl From<$t> for StoreError {
			fn from(e: $t) -> StoreError {
				redb::Error::from(e).into()
			}
		}
	)*};
}
from_redb!(redb::DatabaseError, redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

impl From<Corrupt> for StoreError {
	fn from(_: Corrupt) -> StoreError {
		StoreError::Corrupt("record")
	}
}

/// Told the batch's outcome once it is committed (or not).
type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// Runs in the batch's transaction (given `Err` instead when it will not
/// run: an earlier job failed, or writes are refused). Returns how to tell
/// its caller the outcome, and `Err` if the batch must be rolled back.
type Job = Box<dyn FnOnce(Result<&Tx<'_>, &StoreError>) -> (Completion, Result<(), StoreError>) + Send>;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
	shared: Arc<writer::Shared>,
	jobs: async_channel::Sender<Job>,
	writer: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Store {
	/// Opens (or creates) `dir/xerra.redb` with a page cache of `cache_bytes`.
	/// A directory it makes is 0700 and the file 0600: it holds secrets.
	pub fn open(dir: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
		let path = dir.join(FILE);
		Store::open_with(
			dir,
			Box::new(move || {
				let file = open_private(&path)?;
				Database::builder().set_cache_size(cache_bytes).create_with_backend(redb::backends::FileBackend::new(file)?)
			}),
		)
	}

	fn open_with(dir: &Path, open: writer::Opener) -> Result<Store, StoreError> {
		use std::os::unix::fs::DirBuilderExt as _;
		std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
		let mut db = open()?;
		if migrate(&db)? {
			// The moved tables' old pages are free now: give them back.
			if let Err(e) = db.compact() {
				log::warn!("storage: compacting after the move to schema {SCHEMA_VERSION} failed: {e}");
			}
		}
		let shared =
			Arc::new(writer::Shared { db: std::sync::RwLock::new(Some(db)), open, dir: dir.to_owned(), disk: disk::Disk::default() });
		shared.disk.check(dir);
		let (jobs, rx) = async_channel::bounded::<Job>(QUEUE_LEN);
		let writer_shared = shared.clone();
		let handle = std::thread::Builder::new().name("xerra-store".into()).spawn(move || writer::run(writer_shared, &rx))?;
		Ok(Store { shared, jobs, writer: Arc::new(std::sync::Mutex::new(Some(handle))) })
	}

	/// Runs `f` in the next batch and returns its value once the batch is on disk.
	pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
	where
		T: Send + 'static,
		F: FnOnce(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
	{
		let (done, result) = async_channel::bounded::<Result<T, StoreError>>(1);
		let job: Job = Box::new(move |tx| match tx.map_err(Clone::clone).and_then(f) {
			Ok(value) => (
				Box::new(move |committed: Result<(), &StoreError>| {
					let _ = done.try_send(committed.map(|()| value).map_err(Clone::clone));
				}),
				Ok(()),
			),
			// Its own error rolls the batch back, and is what the batch reports.
			Err(e) => (
				Box::new(move |batch: Result<(), &StoreError>| {
					let _ = done.try_send(Err(batch.err().map_or(StoreError::Closed, Clone::clone)));
				}),
				Err(e),
			),
		});
		self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
		result.recv().await.map_err(|_| StoreError::Closed)?
	}

	/// Queues `f` without waiting for it, for bookkeeping nobody waits on
	/// (e.g. a logout time). Dropped with a warning if the queue is full.
	pub fn write_detached<F>(&self, f: F)
	where
		F: FnOnce(&Tx<'_>) -> Result<(), StoreError> + Send + 'static,
	{
		let job: Job = Box::new(move |tx| (Box::new(|_: Result<(), &StoreError>| {}), tx.map_err(Clone::clone).and_then(f)));
		if self.jobs.try_send(job).is_err() {
			log::warn!("storage queue full: a bookkeeping write was dropped");
		}
	}

	/// Blocking form of [`Store::write`] for the command line (no executor).
	pub fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
	where
		T: Send + 'static,
		F: FnOnce(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
	{
		futures_lite::future::block_on(self.write(f))
	}

	/// A consistent read view as of the last commit.
	pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
		// Held only while the writer swaps a failed database for a new one.
		let db = self.shared.db.read().unwrap_or_else(PoisonError::into_inner);
		let db = db.as_ref().ok_or_else(|| {
			StoreError::Unavailable("the database is not open (shut down, or being opened again after an I/O error)".into())
		})?;
		Ok(Snapshot { tx: db.begin_read()? })
	}

	/// Stops accepting jobs, lets the writer finish the queued ones, and waits
	/// for it, and closes the database. Later writes fail with [`StoreError::Closed`].
	pub fn shutdown(&self) {
		self.jobs.close();
		let handle = self.writer.lock().ok().and_then(|mut h| h.take());
		if let Some(h) = handle {
			let _ = h.join();
		}
		// Closed now, not when the last handle goes: the file may be opened again.
		drop(self.shared.db.write().unwrap_or_else(PoisonError::into_inner).take());
	}

	/// Bytes in the database file (for `xerra status` and benchmarks).
	pub fn file_bytes(dir: &Path) -> u64 {
		std::fs::metadata(dir.join(FILE)).map(|m| m.len()).unwrap_or(0)
	}

	/// Free space on the data directory's file system, as last measured
	/// (at open, then by the writer), and whether writes fail.
	pub fn disk(&self) -> DiskStatus {
		self.shared.disk.status()
	}

	/// Free space below `bytes` is logged as a warning and shown by `xerra status`.
	pub fn warn_below_free(&self, bytes: u64) {
		self.shared.disk.set_threshold(bytes, &self.shared.dir);
	}
}

/// Opens the database file, made 0600 (an older one found readable by
/// others is made so too).
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
	use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
	let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)?;
	let mode = file.metadata()?.permissions().mode();
	if mode & 0o077 != 0 {
		log::warn!("{} was readable by others (mode {:o}): made 0600", path.display(), mode & 0o777);
		file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
	}
	Ok(file)
}

/// Returns true if it moved the data from an older schema.
fn migrate(db: &Database) -> Result<bool, StoreError> {
	let wtx = db.begin_write()?;
	// Schema 1's meta table has other types; its tables are moved in this
	// same transaction, so a crash part way leaves schema 1 as it was.
	let v1 = matches!(wtx.open(tables::META), Err(redb::TableError::TableTypeMismatch { .. }));
	if v1 {
		schema1::migrate(&wtx)?;
	}
	let version = {
		let mut meta = wtx.open(tables::META)?;
		let v = meta.get("schema_version")?.map(|g| g.value());
		match v {
			Some(v) if v > SCHEMA_VERSION => return Err(StoreError::Corrupt("meta: database written by a newer xerra")),
			Some(v) => v,
			None => {
				// A new database has no account from before roles.
				meta.insert(accounts::ROLES_DONE, 1)?;
				0
			}
		}
	};
	if version == 1 && !v1 {
		return Err(StoreError::Corrupt("meta: schema 1 with schema 2 tables"));
	}
	if version != SCHEMA_VERSION {
		wtx.open(tables::META)?.insert("schema_version", SCHEMA_VERSION)?;
	}
	tables::create_all(&wtx)?;
	wtx.commit()?;
	if v1 {
		log::info!("storage: moved the database from schema 1 to schema {SCHEMA_VERSION}");
	}
	Ok(v1)
}

/// A read view; typed getters live in the per-area files.
pub struct Snapshot {
	tx: ReadTransaction,
}

/// The write transaction a job runs in; typed setters live in the per-area files.
pub struct Tx<'a> {
	tx: &'a WriteTransaction,
}

#[cfg(test)]
pub(crate) mod test_support {
	use super::*;

	/// A store in a fresh temporary directory (removed when dropped).
	pub struct TempStore {
		pub store: Store,
		pub dir: std::path::PathBuf,
	}

	impl Drop for TempStore {
		fn drop(&mut self) {
			self.store.shutdown();
			let _ = std::fs::remove_dir_all(&self.dir);
		}
	}

	/// An account record whose password nobody knows.
	pub fn test_account() -> crate::store::Account {
		use crate::proto::sasl::scram::{ScramCredentials, ScramHash};
		let creds = |h| ScramCredentials::derive(h, "test", b"salt", 1);
		crate::store::Account { created: 0, sha1: creds(ScramHash::Sha1), sha256: creds(ScramHash::Sha256) }
	}

	pub fn temp_store() -> TempStore {
		use std::sync::atomic::{AtomicU32, Ordering};
		static N: AtomicU32 = AtomicU32::new(0);
		let dir = std::env::temp_dir().join(format!("xerra-store-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
		let _ = std::fs::remove_dir_all(&dir);
		TempStore { store: Store::open(&dir, 1 << 20).unwrap(), dir }
	}
}

#[cfg(test)]
mod tests {
	use std::ops::Bound;
	use std::sync::Arc;
	use std::sync::atomic::{AtomicBool, Ordering};

	use super::StoreError;
	use super::test_support::temp_store;

	#[test]
	fn writes_are_visible_after_they_return_and_after_reopen() {
		let t = temp_store();
		let dir = t.dir.clone();
		t.store.write_blocking(|tx| tx.set_setting("domain", "example.org")).unwrap();
		assert_eq!(t.store.snapshot().unwrap().setting("domain").unwrap().as_deref(), Some("example.org"));
		// A copy of the file after shutdown is what a restart would open.
		t.store.shutdown();
		let again_dir = dir.join("copy");
		std::fs::create_dir_all(&again_dir).unwrap();
		std::fs::copy(dir.join("xerra.redb"), again_dir.join("xerra.redb")).unwrap();
		let again = super::Store::open(&again_dir, 1 << 20).unwrap();
		assert_eq!(again.snapshot().unwrap().setting("domain").unwrap().as_deref(), Some("example.org"));
		again.shutdown();
	}

	#[test]
	fn concurrent_jobs_share_batches_and_all_complete() {
		let t = temp_store();
		let store = t.store.clone();
		let results = futures_lite::future::block_on(async move {
			let mut futs = Vec::new();
			for i in 0..50 {
				let s = store.clone();
				futs.push(async move { s.write(move |tx| tx.set_setting(&format!("k{i}"), "v")).await });
			}
			let mut out = Vec::new();
			for f in futs {
				out.push(f.await);
			}
			out
		});
		assert!(results.iter().all(Result::is_ok));
		assert_eq!(t.store.snapshot().unwrap().setting("k49").unwrap().as_deref(), Some("v"));
	}

	/// A file whose writes and syncs fail with EIO while `broken` is set.
	#[derive(Debug)]
	struct Flaky {
		file: redb::backends::FileBackend,
		broken: Arc<AtomicBool>,
	}

	impl Flaky {
		fn check(&self) -> std::io::Result<()> {
			if self.broken.load(Ordering::Relaxed) { Err(std::io::Error::from_raw_os_error(libc::EIO)) } else { Ok(()) }
		}
	}

	impl redb::StorageBackend for Flaky {
		fn len(&self) -> std::io::Result<u64> {
			self.file.len()
		}
		fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
			self.file.read(offset, out)
		}
		fn set_len(&self, len: u64) -> std::io::Result<()> {
			self.check()?;
			self.file.set_len(len)
		}
		fn sync_data(&self) -> std::io::Result<()> {
			self.check()?;
			self.file.sync_data()
		}
		fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
			self.check()?;
			self.file.write(offset, data)
		}
		fn close(&self) -> std::io::Result<()> {
			self.file.close()
		}
		fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, redb::BackendError> {
			self.file.try_lock_range(start, end)
		}
		fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, redb::BackendError> {
			self.file.try_lock_shared_range(start, end)
		}
		fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
			self.file.lock_range(start, end)
		}
		fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
			self.file.lock_shared_range(start, end)
		}
		fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
			self.file.unlock_range(start, end)
		}
		fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, redb::BackendError> {
			self.file.query_lock_range(start, end)
		}
	}

	#[test]
	fn an_io_error_refuses_writes_as_unavailable_until_they_work_again() {
		let t = temp_store();
		t.store.shutdown();
		let broken = Arc::new(AtomicBool::new(false));
		let (b, path) = (broken.clone(), t.dir.join(super::FILE));
		let open: super::writer::Opener = Box::new(move || {
			let file = redb::backends::FileBackend::new(super::open_private(&path)?)?;
			redb::Database::builder().create_with_backend(Flaky { file, broken: b.clone() })
		});
		let store = super::Store::open_with(&t.dir, open).unwrap();
		store.write_blocking(|tx| tx.set_setting("before", "1")).unwrap();
		broken.store(true, Ordering::Relaxed);
		let unavailable = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Unavailable(_)));
		assert!(unavailable(store.write_blocking(|tx| tx.set_setting("during", "1"))));
		// Refused at once while it waits to try again. Reads go on if the
		// database could be opened again (here no write works, not even
		// the one opening makes): otherwise they are unavailable too.
		assert!(unavailable(store.write_blocking(|tx| tx.set_setting("during", "2"))));
		assert!(store.disk().failing.is_some());
		match store.snapshot() {
			Ok(snap) => assert_eq!(snap.setting("before").unwrap().as_deref(), Some("1")),
			Err(e) => assert!(matches!(e, StoreError::Unavailable(_)), "{e}"),
		}
		broken.store(false, Ordering::Relaxed);
		let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
		loop {
			match store.write_blocking(|tx| tx.set_setting("after", "1")) {
				Ok(()) => break,
				Err(StoreError::Unavailable(_)) => std::thread::sleep(std::time::Duration::from_millis(50)),
				Err(e) => panic!("{e}"),
			}
			assert!(std::time::Instant::now() < deadline, "writes did not resume");
		}
		assert_eq!(store.disk().failing, None);
		let snap = store.snapshot().unwrap();
		assert_eq!(snap.setting("after").unwrap().as_deref(), Some("1"));
		assert_eq!(snap.setting("during").unwrap(), None, "a refused write left nothing");
		drop(snap);
		store.shutdown();
	}

	#[test]
	fn a_failing_job_reports_its_own_error_and_writes_nothing() {
		let t = temp_store();
		let r = t.store.write_blocking(|tx| {
			tx.set_setting("half", "done")?;
			Err::<(), _>(StoreError::Corrupt("test"))
		});
		assert!(matches!(r, Err(StoreError::Corrupt("test"))), "{r:?}");
		assert_eq!(t.store.snapshot().unwrap().setting("half").unwrap(), None);
		assert!(t.store.write_blocking(|tx| tx.set_setting("next", "ok")).is_ok());
	}

	#[test]
	fn a_made_directory_and_file_are_private() {
		use std::os::unix::fs::PermissionsExt as _;
		let t = temp_store();
		assert_eq!(std::fs::metadata(&t.dir).unwrap().permissions().mode() & 0o777, 0o700);
		assert_eq!(std::fs::metadata(t.dir.join(super::FILE)).unwrap().permissions().mode() & 0o777, 0o600);
		// An older file readable by others is made private when opened.
		t.store.shutdown();
		std::fs::set_permissions(t.dir.join(super::FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
		let again = super::Store::open(&t.dir, 1 << 20).unwrap();
		assert_eq!(std::fs::metadata(t.dir.join(super::FILE)).unwrap().permissions().mode() & 0o777, 0o600);
		again.shutdown();
	}

	#[test]
	fn second_open_is_refused() {
		let t = temp_store();
		assert!(matches!(super::Store::open(&t.dir, 1 << 20), Err(super::StoreError::Locked)));
	}
}
