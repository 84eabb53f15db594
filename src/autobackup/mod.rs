//! Scheduled backups: the server makes one daily at `backup_time` into
//! `backup_dir`, encrypted to the box's recovery key (`crate::backup`, made
//! on a thread of its own, never on the executor), keeps `backup_keep` of
//! them, and records what happened in the database (`store::BackupState`)
//! for the console and `xerra status`. The console's "Make a backup now"
//! runs the same [`make`]. `plan` decides (pure); this file is the shell.
//!
//! Without a recovery key no backup is made (a backup holds the CA's key and
//! everyone's password keys, so it is never written unencrypted): each due
//! time records that failure, and the console and `xerra status` say so.

pub mod plan;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use crate::backup::{BackupInfo, CreateOptions, EXTENSION, RECIPIENT_SETTING, Recipient};
use crate::server::Server;
use crate::store::BackupState;

/// The schedule is looked at again at least this often (a change of the
/// clock or of summer time is noticed within it).
const RECHECK: Duration = Duration::from_secs(300);

/// What the running server knows besides the stored state.
#[derive(Default)]
pub struct Runner {
	/// A backup is being made (the schedule's or the console's): one at a time.
	running: Cell<bool>,
	/// When the schedule makes the next one (unix seconds), as the schedule last computed it.
	next_due: Cell<Option<i64>>,
}

impl Runner {
	pub fn running(&self) -> bool {
		self.running.get()
	}

	pub fn next_due(&self) -> Option<i64> {
		self.next_due.get()
	}
}

struct Busy<'a>(&'a Cell<bool>);

impl Drop for Busy<'_> {
	fn drop(&mut self) {
		self.0.set(false);
	}
}

fn unix_now() -> i64 {
	i64::try_from(crate::stats::sampler::unix_now()).unwrap_or(i64::MAX)
}

/// Seconds east of UTC of local time at `unix` (blocking: the zone's file
/// is read on first use; call on the blocking pool).
pub fn local_offset(unix: i64) -> i32 {
	let t: libc::time_t = unix as libc::time_t;
	// SAFETY: localtime_r writes only into `tm`, which we own.
	let mut tm: libc::tm = unsafe { std::mem::zeroed() };
	let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
	if ok { i32::try_from(tm.tm_gmtoff).unwrap_or(0) } else { 0 }
}

/// Why a backup was not made, as shown to the admin.
pub const NO_KEY: &str = "no recovery key: create one on the console's Backups page (backups are always encrypted)";

/// Makes one backup now into `backup_dir`, then deletes our oldest beyond
/// `backup_keep`, and stores what happened. `Err` says why (also stored).
pub async fn make(server: &Server) -> Result<BackupInfo, String> {
	if server.backups.running.replace(true) {
		return Err("a backup is being made already".into());
	}
	let _busy = Busy(&server.backups.running);
	let now = unix_now();
	let snap = server.store.snapshot().map_err(|e| e.to_string())?;
	let mut state = snap.backup_state().map_err(|e| e.to_string())?;
	let recipient = snap.setting(RECIPIENT_SETTING).map_err(|e| e.to_string())?.filter(|r| !r.trim().is_empty());
	drop(snap);
	let config = &server.config;
	let result = match recipient {
		None => Err(NO_KEY.to_owned()),
		Some(recipient) => {
			let dir = config.backups();
			let d = dir.clone();
			match blocking::unblock(move || free_name(&d, now)).await {
				Err(e) => Err(format!("backup folder {}: {e}", dir.display())),
				Ok(dest) => {
					let opts = CreateOptions { dest, to: Recipient::Key(recipient), reserve_bytes: config.limits.backup_reserve_bytes };
					crate::backup::create_off_thread(server.store.clone(), config.data_dir.clone(), opts).await.map_err(|e| e.to_string())
				}
			}
		}
	};
	state.last_attempt = Some(now);
	match &result {
		Ok(info) => {
			log::info!("backup made: {} ({} bytes)", info.path.display(), info.bytes);
			state.ok_at = Some(now);
			state.ok_file = Some(info.path.display().to_string());
			state.ok_bytes = Some(info.bytes);
			state.failed_at = None;
			state.failure = None;
			let (dir, keep) = (config.backups(), config.backup_keep);
			for (name, err) in blocking::unblock(move || prune(&dir, keep)).await {
				log::warn!("old backup {name} not deleted: {err}");
			}
		}
		Err(why) => {
			log::warn!("backup failed: {why}");
			state.failed_at = Some(now);
			state.failure = Some(why.clone());
		}
	}
	if let Err(e) = server.store.write(move |tx| tx.put_backup_state(&state)).await {
		log::warn!("backup state not stored: {e}");
	}
	result
}

/// The folder (made if missing, private) and a file name in it that is not
/// taken: two backups within a second get the next second's name.
fn free_name(dir: &Path, now: i64) -> std::io::Result<PathBuf> {
	use std::os::unix::fs::DirBuilderExt as _;
	std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
	let mut at = now;
	loop {
		let path = dir.join(plan::file_name(at, EXTENSION));
		if !path.try_exists()? {
			return Ok(path);
		}
		at += 1;
	}
}

/// Deletes our backups beyond the newest `keep` (blocking); what failed.
fn prune(dir: &Path, keep: usize) -> Vec<(String, String)> {
	let names: Vec<String> = match std::fs::read_dir(dir) {
		Ok(d) => d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect(),
		Err(e) => return vec![(dir.display().to_string(), e.to_string())],
	};
	let mut failed = Vec::new();
	for name in plan::to_delete(&names, EXTENSION, keep) {
		match std::fs::remove_file(dir.join(&name)) {
			Ok(()) => log::info!("old backup deleted: {name} (backup_keep = {keep})"),
			Err(e) => failed.push((name, e.to_string())),
		}
	}
	failed
}

/// The schedule, for the server's life: sleeps until the next due time
/// (waking at least every [`RECHECK`]) and makes the backup.
pub async fn run(server: Rc<Server>) {
	let Some(at) = server.config.backup_time else {
		log::info!("scheduled backups: off (backup_time = off)");
		return;
	};
	log::info!("scheduled backups: daily at {:02}:{:02} local time into {}", at.0, at.1, server.config.backups().display());
	loop {
		let now = unix_now();
		let offset = blocking::unblock(move || local_offset(now)).await;
		let state = match server.store.snapshot().and_then(|s| s.backup_state()) {
			Ok(s) => s,
			Err(e) => {
				log::warn!("scheduled backups: {e}");
				async_io::Timer::after(RECHECK).await;
				continue;
			}
		};
		let since = match state.since {
			Some(s) => s,
			None => {
				let first = BackupState { since: Some(now), ..state.clone() };
				if let Err(e) = server.store.write(move |tx| tx.put_backup_state(&first)).await {
					log::warn!("scheduled backups: {e}");
				}
				now
			}
		};
		if plan::is_due(now, state.last_attempt, since, offset, at) {
			let _ = make(&server).await;
			continue;
		}
		let due = plan::next_due(state.last_attempt.unwrap_or(since), offset, at);
		server.backups.next_due.set(Some(due));
		let wait = u64::try_from(due - now).unwrap_or(1).max(1);
		async_io::Timer::after(Duration::from_secs(wait).min(RECHECK)).await;
	}
}

/// Whether `name` is a backup of ours in `backup_dir` (what the console may
/// hand out: nothing else in that folder, no path).
pub fn is_ours(name: &str) -> bool {
	plan::is_ours(name, EXTENSION)
}

/// What the console and `xerra status` show about backups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
	pub state: BackupState,
	/// The daily time, `None` when off.
	pub time: Option<(u8, u8)>,
	pub dir: String,
	pub keep: usize,
	/// A recovery key is set (backups can be made).
	pub has_key: bool,
	pub overdue: bool,
	pub running: bool,
	pub next_due: Option<i64>,
	/// Whether `dir` is on a disk of its own; `None` until [`View::placed`] looked.
	pub placement: Option<Placement>,
}

impl View {
	/// Reads the state (a database read; no file I/O); `runner` is the
	/// running server's, if one runs here.
	pub fn read(
		store: &crate::store::Store,
		config: &crate::config::Config,
		runner: Option<&Runner>,
	) -> Result<View, crate::store::StoreError> {
		let snap = store.snapshot()?;
		let state = snap.backup_state()?;
		let has_key = snap.setting(RECIPIENT_SETTING)?.is_some_and(|r| !r.trim().is_empty());
		let now = unix_now();
		let overdue = config.backup_time.is_some() && plan::is_overdue(now, state.ok_at, state.since.unwrap_or(now));
		Ok(View {
			state,
			time: config.backup_time,
			dir: config.backups().display().to_string(),
			keep: config.backup_keep,
			has_key,
			overdue,
			running: runner.is_some_and(Runner::running),
			next_due: config.backup_time.and(runner.and_then(Runner::next_due)),
			placement: None,
		})
	}

	/// The view with [`placement`] looked up (two stats, on the blocking
	/// pool: a USB stick may be slow or just pulled out).
	pub async fn placed(mut self, config: &crate::config::Config) -> View {
		let (data, backups) = (config.data_dir.clone(), config.backups());
		self.placement = Some(blocking::unblock(move || placement(&data, &backups)).await);
		self
	}

	/// The warnings to show, if any.
	pub fn warnings(&self) -> Vec<String> {
		let mut out = Vec::new();
		if !self.has_key && self.time.is_some() {
			out.push("No recovery key: no scheduled backup can be made. Create one on the Backups page and keep it safe.".to_owned());
		}
		if let Some(why) = &self.state.failure {
			out.push(format!("The last backup failed: {why}"));
		}
		if self.overdue {
			out.push("Backups are overdue: none succeeded in the last 26 hours.".to_owned());
		}
		out
	}
}

/// Where backups land, seen from the data: a dead SD card takes the backups
/// on it along with the data, so the admin is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
	/// `backup_dir` is on another file system than the data directory (a USB stick, say).
	Separate,
	/// The same file system as the data directory.
	SameDisk,
	/// Could not tell (why).
	Unknown(String),
}

/// Compares the file systems (`st_dev`) of the data directory and of
/// `backups`, or of its nearest existing parent when it is not made yet (it
/// will be made there). Blocking.
pub fn placement(data_dir: &Path, backups: &Path) -> Placement {
	use std::os::unix::fs::MetadataExt as _;
	let data = match std::fs::metadata(data_dir) {
		Ok(m) => m.dev(),
		Err(e) => return Placement::Unknown(format!("{}: {e}", data_dir.display())),
	};
	for dir in backups.ancestors() {
		match std::fs::metadata(dir) {
			Ok(m) => return if m.dev() == data { Placement::SameDisk } else { Placement::Separate },
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
			Err(e) => return Placement::Unknown(format!("{}: {e}", dir.display())),
		}
	}
	Placement::Unknown(format!("{}: not found", backups.display()))
}

impl std::fmt::Display for Placement {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Placement::Separate => f.write_str("on a disk of its own, not the data's"),
			Placement::SameDisk => f.write_str(
				"on the same disk as the data: a dead card loses both; plug in a USB stick labelled XERRABACKUP \
				 (the appliance mounts it there) or set backup_dir to another disk",
			),
			Placement::Unknown(why) => write!(f, "unknown ({why})"),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn placement_compares_file_systems() {
		let data = std::env::temp_dir().join(format!("xerra-placement-{}", std::process::id()));
		std::fs::create_dir_all(data.join("backups")).unwrap();
		assert_eq!(placement(&data, &data.join("backups")), Placement::SameDisk);
		// Not made yet: it will be made on the data's file system.
		assert_eq!(placement(&data, &data.join("later/backups")), Placement::SameDisk);
		// /proc is never the file system of a temporary directory.
		assert_eq!(placement(&data, Path::new("/proc/self")), Placement::Separate);
		assert!(matches!(placement(&data.join("gone"), &data), Placement::Unknown(_)));
		std::fs::remove_dir_all(&data).unwrap();
		assert!(Placement::SameDisk.to_string().contains("XERRABACKUP"));
	}
}
