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
mod blocking;
mod codec;
mod components;
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
mod settings;
mod tables;
mod upload;

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

pub use accounts::Account;
pub use codec::Corrupt;
pub use invites::Invite;
pub use mam::{Archived, MamDefault, MamPrefs, MamQuery, Page, UnknownId};
pub use muc::{RoomConfig, StoredRoom};
pub use offline::Pushed;
pub use pep::{AccessModel, NodeConfig, PepItem, PepLimits, PepNode, Published};
pub use pep_subs::{PepSubscriber, Subscribed};
pub use push::PushRegistration;
pub use roster::RosterEntry;
pub use upload::Upload;

/// Current schema; `migrate` upgrades older files to it.
const SCHEMA_VERSION: u64 = 1;
/// Most jobs in one transaction; bounds commit latency under load.
const MAX_BATCH: usize = 256;
/// Jobs waiting for the writer; senders wait (asynchronously) when it is full.
const QUEUE_LEN: usize = 1024;

/// A storage failure. Mapped to `internal-server-error` on the wire.
#[derive(Debug)]
pub enum StoreError {
	Db(redb::Error),
	Corrupt(&'static str),
	/// The writer thread is gone (shutdown or a panic).
	Closed,
	/// Another Xerra process has the data directory open.
	Locked,
}

impl std::fmt::Display for StoreError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Db(e) => write!(f, "database error: {e}"),
			Self::Corrupt(what) => write!(f, "corrupt record in {what}"),
			Self::Closed => f.write_str("storage is shut down"),
			Self::Locked => f.write_str("the database is in use by another xerra process"),
		}
	}
}

impl std::error::Error for StoreError {}

macro_rules! from_redb {
	($($t:ty),*) => {$(
		impl From<$t> for StoreError {
			fn from(e: $t) -> StoreError {
				StoreError::Db(e.into())
			}
		}
	)*};
}
from_redb!(redb::Error, redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

impl From<Corrupt> for StoreError {
	fn from(_: Corrupt) -> StoreError {
		StoreError::Corrupt("record")
	}
}

type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Tx<'_>) -> Result<Completion, StoreError> + Send>;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
	db: Arc<Database>,
	jobs: async_channel::Sender<Job>,
	writer: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Store {
	/// Opens (or creates) `dir/xerra.redb` with a page cache of `cache_bytes`.
	pub fn open(dir: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
		std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(e.into()))?;
		let db = Database::builder().set_cache_size(cache_bytes).create(dir.join("xerra.redb")).map_err(|e| match e {
			redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked,
			e => StoreError::Db(e.into()),
		})?;
		migrate(&db)?;
		let db = Arc::new(db);
		let (jobs, rx) = async_channel::bounded::<Job>(QUEUE_LEN);
		let writer_db = db.clone();
		let handle = std::thread::Builder::new()
			.name("xerra-store".into())
			.spawn(move || writer_loop(&writer_db, &rx))
			.map_err(|e| StoreError::Db(e.into()))?;
		Ok(Store { db, jobs, writer: Arc::new(std::sync::Mutex::new(Some(handle))) })
	}

	/// Runs `f` in the next batch and returns its value once the batch is on disk.
	pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
	where
		T: Send + 'static,
		F: FnOnce(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
	{
		let (done, result) = async_channel::bounded::<Result<T, StoreError>>(1);
		let job: Job = Box::new(move |tx| {
			let value = f(tx)?;
			Ok(Box::new(move |committed: Result<(), &StoreError>| {
				let _ = done.try_send(match committed {
					Ok(()) => Ok(value),
					Err(_) => Err(StoreError::Closed),
				});
			}))
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
		let job: Job = Box::new(move |tx| {
			f(tx)?;
			Ok(Box::new(|_: Result<(), &StoreError>| {}))
		});
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
		Ok(Snapshot { tx: self.db.begin_read()? })
	}

	/// Stops accepting jobs, lets the writer finish the queued ones, and waits
	/// for it. Later writes fail with [`StoreError::Closed`].
	pub fn shutdown(&self) {
		self.jobs.close();
		let handle = self.writer.lock().ok().and_then(|mut h| h.take());
		if let Some(h) = handle {
			let _ = h.join();
		}
	}

	/// Bytes in the database file (for `xerra status` and benchmarks).
	pub fn file_bytes(dir: &Path) -> u64 {
		std::fs::metadata(dir.join("xerra.redb")).map(|m| m.len()).unwrap_or(0)
	}
}

fn writer_loop(db: &Database, rx: &async_channel::Receiver<Job>) {
	while let Ok(first) = rx.recv_blocking() {
		let mut batch = vec![first];
		while batch.len() < MAX_BATCH {
			match rx.try_recv() {
				Ok(job) => batch.push(job),
				Err(_) => break,
			}
		}
		run_batch(db, batch);
	}
}

fn run_batch(db: &Database, batch: Vec<Job>) {
	let wtx = match db.begin_write() {
		Ok(t) => t,
		Err(e) => {
			log::error!("storage: cannot begin a write: {e}");
			return; // dropping the jobs fails their callers with Closed
		}
	};
	let mut completions = Vec::with_capacity(batch.len());
	let tx = Tx { tx: &wtx };
	for job in batch {
		match job(&tx) {
			Ok(c) => completions.push(c),
			Err(e) => {
				log::error!("storage: write failed, batch rolled back: {e}");
				let _ = wtx.abort();
				for c in completions {
					c(Err(&e));
				}
				return;
			}
		}
	}
	let committed = wtx.commit().map_err(StoreError::from);
	if let Err(e) = &committed {
		log::error!("storage: commit failed: {e}");
	}
	for c in completions {
		c(committed.as_ref().map(|_| ()));
	}
}

fn migrate(db: &Database) -> Result<(), StoreError> {
	let wtx = db.begin_write()?;
	let version = {
		let mut meta = wtx.open_table(tables::META)?;
		let v = meta.get("schema_version")?.map(|g| g.value());
		match v {
			Some(v) => v,
			None => {
				meta.insert("schema_version", SCHEMA_VERSION)?;
				SCHEMA_VERSION
			}
		}
	};
	if version > SCHEMA_VERSION {
		return Err(StoreError::Corrupt("meta: database written by a newer xerra"));
	}
	tables::create_all(&wtx)?;
	wtx.commit()?;
	Ok(())
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

	#[test]
	fn second_open_is_refused() {
		let t = temp_store();
		assert!(matches!(super::Store::open(&t.dir, 1 << 20), Err(super::StoreError::Locked)));
	}
}
