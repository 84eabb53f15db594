//! The writer thread: jobs in arrival order, one transaction per batch
//! (group commit), and what happens when the disk refuses.
//!
//! After one I/O error redb refuses every later operation, reads included,
//! until the database is closed and opened again. So when a batch fails with
//! an I/O error (a full disk, a failing card) the writer closes the database
//! and opens it again at once (reads go on), then refuses writes without
//! trying them ([`StoreError::Unavailable`], `resource-constraint` on the
//! wire) for a backoff that doubles from 100 ms to 5 s. The first batch after
//! the backoff is tried for real, and at once if free space has come back;
//! the first one that commits ends it. No restart is needed.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures_lite::FutureExt as _;
use redb::Database;

use super::disk::{Disk, mib};
use super::{Completion, Job, MAX_BATCH, StoreError, Tx};

/// Opens (or creates) the database file; called again after a failure.
pub(super) type Opener = Box<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

/// What the writer and the readers share.
pub(super) struct Shared {
	/// `None` between closing a failed database and opening it again.
	pub db: RwLock<Option<Database>>,
	pub open: Opener,
	pub dir: PathBuf,
	pub disk: Disk,
}

impl Shared {
	/// Closes the database and opens it again; on failure the slot stays
	/// empty (reads fail with `Unavailable`) until the next try.
	fn reopen(&self) -> bool {
		let old = self.db.write().unwrap_or_else(PoisonError::into_inner).take();
		// Dropping closes the file and releases its lock, so it can be opened again.
		drop(old);
		match (self.open)() {
			Ok(db) => {
				*self.db.write().unwrap_or_else(PoisonError::into_inner) = Some(db);
				true
			}
			Err(e) => {
				log::warn!("storage: cannot open the database again yet: {e}");
				false
			}
		}
	}
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often free space is measured when all is well, and while writes fail.
const DISK_CHECK: Duration = Duration::from_secs(30);
const DISK_CHECK_FAILING: Duration = Duration::from_secs(1);
/// Free space regained since a failure that is worth trying again before the backoff ends.
const REGAINED: u64 = 1 << 20;

struct Failing {
	why: Arc<str>,
	retry_at: Instant,
	backoff: Duration,
	free_then: Option<u64>,
	refused: usize,
}

struct Writer {
	shared: Arc<Shared>,
	failing: Option<Failing>,
	next_check: Instant,
}

pub(super) fn run(shared: Arc<Shared>, rx: &async_channel::Receiver<Job>) {
	let mut w = Writer { shared, failing: None, next_check: Instant::now() + DISK_CHECK };
	loop {
		let wake = w.wake_at();
		let got = futures_lite::future::block_on(async { Some(rx.recv().await) }.or(async {
			async_io::Timer::at(wake).await;
			None
		}));
		w.tick();
		match got {
			None => {}
			// Closed, and every queued job done.
			Some(Err(_)) => return,
			Some(Ok(first)) => {
				let mut batch = vec![first];
				while batch.len() < MAX_BATCH {
					match rx.try_recv() {
						Ok(job) => batch.push(job),
						Err(_) => break,
					}
				}
				w.batch(batch);
			}
		}
	}
}

impl Writer {
	fn wake_at(&self) -> Instant {
		match &self.failing {
			Some(f) => self.next_check.min(f.retry_at),
			None => self.next_check,
		}
	}

	/// Measures free space when due; while failing, tries again early if
	/// space came back, and reopens a database that could not be opened.
	fn tick(&mut self) {
		let now = Instant::now();
		if now >= self.next_check {
			let free = self.shared.disk.check(&self.shared.dir);
			if let Some(f) = &mut self.failing
				&& let (Some(then), Some(free)) = (f.free_then, free)
				&& free >= then.saturating_add(REGAINED)
			{
				f.retry_at = now;
				f.free_then = Some(free);
			}
			self.next_check = now + if self.failing.is_some() { DISK_CHECK_FAILING } else { DISK_CHECK };
		}
		let closed = self.shared.db.read().unwrap_or_else(PoisonError::into_inner).is_none();
		if closed && self.failing.as_ref().is_some_and(|f| now >= f.retry_at) && !self.shared.reopen() {
			self.backoff();
		}
	}

	fn batch(&mut self, batch: Vec<Job>) {
		if let Some(f) = &mut self.failing
			&& Instant::now() < f.retry_at
		{
			f.refused += batch.len();
			refuse(batch, &StoreError::Unavailable(f.why.clone()));
			return;
		}
		let n = batch.len();
		let result = {
			let db = self.shared.db.read().unwrap_or_else(PoisonError::into_inner);
			match db.as_ref() {
				Some(db) => run_batch(db, batch),
				None => Err(Failed {
					error: StoreError::Unavailable("the database is closed after an I/O error".into()),
					ran: Vec::new(),
					not_run: batch,
				}),
			}
		};
		match result {
			Ok(committed) => {
				// Recovered before anyone hears of it, so status agrees with them.
				if let Some(f) = self.failing.take() {
					log::info!("storage: writes work again ({} refused while they did not)", f.refused);
					self.shared.disk.set_failing(None);
					self.next_check = Instant::now();
				}
				for c in committed {
					c(Ok(()));
				}
			}
			Err(failed) => {
				// The database is open again before the callers hear of it,
				// so what they do next can read.
				if let StoreError::Unavailable(why) = &failed.error {
					self.failed(why.clone(), n);
				}
				failed.tell();
			}
		}
	}

	/// A batch failed with an I/O error: the database refuses everything
	/// now, so it is opened again, and writes wait for the backoff.
	fn failed(&mut self, why: Arc<str>, refused: usize) {
		let free = self.shared.disk.check(&self.shared.dir);
		if self.failing.is_none() {
			let free = free.map_or_else(|| "unknown".to_owned(), mib);
			log::error!("storage: cannot write ({why}; {free} free): writes are refused until it can, and tried again by themselves");
			self.shared.disk.set_failing(Some(why.to_string()));
		}
		self.shared.reopen();
		let failing =
			self.failing.get_or_insert(Failing { why, retry_at: Instant::now(), backoff: Duration::ZERO, free_then: free, refused: 0 });
		failing.free_then = free;
		failing.refused += refused;
		self.backoff();
		self.next_check = Instant::now() + DISK_CHECK_FAILING;
	}

	fn backoff(&mut self) {
		if let Some(f) = &mut self.failing {
			f.backoff = (f.backoff * 2).clamp(MIN_BACKOFF, MAX_BACKOFF);
			f.retry_at = Instant::now() + f.backoff;
		}
	}
}

/// Tells each job's caller that it did not run.
fn refuse(jobs: impl IntoIterator<Item = Job>, e: &StoreError) {
	for job in jobs {
		job(Err(e)).0(Err(e));
	}
}

/// A batch that failed: its jobs, to be told once the writer has dealt with it.
struct Failed {
	error: StoreError,
	ran: Vec<Completion>,
	not_run: Vec<Job>,
}

impl Failed {
	fn tell(self) {
		for c in self.ran {
			c(Err(&self.error));
		}
		refuse(self.not_run, &self.error);
	}
}

/// Runs a batch in one transaction and commits it (fsync). No job learns
/// its result here: the caller tells them (the completions, or [`Failed`]).
fn run_batch(db: &Database, batch: Vec<Job>) -> Result<Vec<Completion>, Failed> {
	let wtx = match db.begin_write() {
		Ok(t) => t,
		Err(e) => {
			let error = StoreError::from(e);
			log::error!("storage: cannot begin a write: {error}");
			return Err(Failed { error, ran: Vec::new(), not_run: batch });
		}
	};
	let mut completions = Vec::with_capacity(batch.len());
	let tx = Tx { tx: &wtx };
	let mut jobs = batch.into_iter();
	for job in jobs.by_ref() {
		let (c, outcome) = job(Ok(&tx));
		completions.push(c);
		if let Err(error) = outcome {
			log::error!("storage: write failed, batch rolled back: {error}");
			let _ = wtx.abort();
			return Err(Failed { error, ran: completions, not_run: jobs.collect() });
		}
	}
	if let Err(e) = wtx.commit() {
		let error = StoreError::from(e);
		log::error!("storage: commit failed: {error}");
		return Err(Failed { error, ran: completions, not_run: Vec::new() });
	}
	Ok(completions)
}
