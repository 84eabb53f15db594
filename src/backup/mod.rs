//! Backups (issue 14): one file holding a consistent snapshot of the box,
//! compressed and encrypted with age, and an all-or-nothing restore.
//!
//! The file is an age file (passphrase: scrypt; or the box's recovery key:
//! an X25519 identity whose public half, `backup_recipient`, is all the box
//! keeps). Inside, a gzip-compressed tar (so `age -d | tar tz` lists it):
//! * `XERRA-BACKUP` first: [`Header`] (format and schema version, Xerra's
//!   version, domain, creation time, counts), so a newer backup is refused
//!   before anything is unpacked;
//! * `xerra.redb`: every table copied from one read transaction;
//! * `tls/...`: the box CA and its keys, the served certificate;
//! * `uploads/ID`: the files of the snapshot's upload records;
//! * `SHA256SUMS` last: one `sha256sum` line per entry (ring's SHA-256).
//!
//! Threads: [`create`], [`verify`] and [`restore`] block (file I/O, fsync,
//! scrypt); a running server calls [`create_off_thread`], which runs
//! `create` on a thread of its own ("xerra-backup"), never on the executor.

mod archive;
mod manifest;
mod restore;

use std::path::{Path, PathBuf};

pub use manifest::{Counts, FORMAT_VERSION, Header, Manifest};
pub use restore::{Staged, recover, stage};

use crate::store::{Store, StoreError};

/// The setting holding the recovery key's public half (`age1...`).
pub const RECIPIENT_SETTING: &str = "backup_recipient";
/// What a backup file's name ends with when `create` is given a directory.
pub const EXTENSION: &str = "xerra-backup";

/// Who can open a backup being made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
	/// Anyone with this passphrase (age scrypt recipient).
	Passphrase(String),
	/// The holder of the recovery key whose public half this is (`age1...`).
	Key(String),
}

/// What opens a backup: a passphrase or the recovery key.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
	Passphrase(String),
	/// `AGE-SECRET-KEY-1...`
	Key(String),
}

impl Secret {
	/// Text as typed or read from a file: the recovery key if it looks like
	/// one (surrounding white space and `#` comment lines ignored), else a passphrase.
	pub fn parse(text: &str) -> Secret {
		todo!("{text}")
	}
}

/// A recovery key just made: `secret` is shown once and never stored on the box.
pub struct RecoveryKey {
	/// `AGE-SECRET-KEY-1...`
	pub secret: String,
	/// `age1...`, stored as `backup_recipient`.
	pub recipient: String,
}

/// Makes a new recovery key (an age X25519 identity).
pub fn generate_key() -> RecoveryKey {
	todo!()
}

/// What `create` needs besides the store.
#[derive(Debug, Clone)]
pub struct CreateOptions {
	/// A file to write, or an existing directory to write
	/// `xerra-DOMAIN-YYYYMMDD-HHMMSS.xerra-backup` into.
	pub dest: PathBuf,
	pub to: Recipient,
	/// Free space that must remain on `dest`'s file system after the backup
	/// (setting `backup_reserve_bytes`); less: [`BackupError::DiskFull`].
	pub reserve_bytes: u64,
}

/// A backup written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
	pub path: PathBuf,
	/// The file's size.
	pub bytes: u64,
	/// Unix seconds.
	pub created: u64,
	pub domain: String,
	pub counts: Counts,
}

/// Why a backup could not be made, checked or restored; one text per case.
#[derive(Debug, Clone)]
pub enum BackupError {
	/// The passphrase or key does not open this file.
	WrongKey,
	/// Not an age file at all.
	NotABackup,
	/// The file ends early.
	Truncated,
	/// Decrypts but something inside is wrong (a hash, a missing entry...).
	Corrupt(String),
	/// Made by a newer Xerra: format, schema and the version that made it.
	Newer { format: u32, schema: u64, version: String },
	/// The box to restore into has accounts (restore refuses without `force`).
	NotEmpty { accounts: u64 },
	/// A server runs on the data directory (restore needs it stopped).
	ServerRunning,
	/// Not enough room: about `need` bytes wanted, `free` free in `dir`.
	DiskFull { dir: PathBuf, need: u64, free: u64 },
	/// No recovery key set and no passphrase given.
	NoKey,
	/// A passphrase or recipient that cannot be used (empty, malformed).
	BadKey(String),
	/// Reading or writing a file failed.
	Io { path: PathBuf, error: String },
	Store(StoreError),
}

impl std::fmt::Display for BackupError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		let _ = f;
		todo!()
	}
}

impl std::error::Error for BackupError {}

impl From<StoreError> for BackupError {
	fn from(e: StoreError) -> BackupError {
		match e {
			StoreError::Locked => BackupError::ServerRunning,
			e => BackupError::Store(e),
		}
	}
}

/// Writes one backup of `store` (whose data directory is `data_dir`): one
/// read transaction, the files it names, temp name, fsync, rename. Blocks:
/// never call it on the executor thread.
pub fn create(store: &Store, data_dir: &Path, opts: &CreateOptions) -> Result<BackupInfo, BackupError> {
	let _ = (store, data_dir, opts);
	todo!()
}

/// [`create`] on a thread of its own, for the running server.
pub async fn create_off_thread(store: Store, data_dir: PathBuf, opts: CreateOptions) -> Result<BackupInfo, BackupError> {
	let _ = (store, data_dir, opts);
	todo!()
}

/// Checks a backup without restoring it: decrypts everything, checks every
/// hash and opens the database snapshot. Blocks.
pub fn verify(file: &Path, secret: &Secret) -> Result<Manifest, BackupError> {
	let _ = (file, secret);
	todo!()
}

/// Restores `file` into `data_dir`, all or nothing (see [`stage`] and
/// [`Staged::commit`]). No server may run there (`ServerRunning`), and a box
/// with accounts is refused unless `force`. Blocks.
pub fn restore(file: &Path, secret: &Secret, data_dir: &Path, force: bool) -> Result<Manifest, BackupError> {
	let _ = (file, secret, data_dir, force);
	todo!()
}
