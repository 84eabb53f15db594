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
	/// one (an age identity file's `#` comment lines and white space
	/// ignored), else a passphrase (only a final line break dropped).
	pub fn parse(text: &str) -> Secret {
		let key = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect::<Vec<_>>();
		match key.as_slice() {
			[k] if k.starts_with("AGE-SECRET-KEY-1") => Secret::Key((*k).to_owned()),
			_ => Secret::Passphrase(text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(text).to_owned()),
		}
	}
}

impl std::fmt::Debug for Secret {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(match self {
			Secret::Passphrase(_) => "Secret::Passphrase(..)",
			Secret::Key(_) => "Secret::Key(..)",
		})
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
// X25519 on purpose: `AGE-SECRET-KEY-1...` is short enough to print and type,
// and every age tool reads it (age 0.13's post-quantum keys need age 1.3+).
#[allow(deprecated)]
pub fn generate_key() -> RecoveryKey {
	use age::secrecy::ExposeSecret as _;
	let id = age::x25519::Identity::generate();
	RecoveryKey { secret: id.to_string().expose_secret().to_owned(), recipient: id.to_public().to_string() }
}

/// Whether `text` is a recovery key's public half (the setting's check).
#[allow(deprecated)]
pub fn valid_recipient(text: &str) -> bool {
	text.parse::<age::x25519::Recipient>().is_ok()
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
	Newer {
		format: u32,
		schema: u64,
		version: String,
	},
	/// The box to restore into has accounts (restore refuses without `force`).
	NotEmpty {
		accounts: u64,
	},
	/// A server runs on the data directory (restore needs it stopped).
	ServerRunning,
	/// Not enough room: about `need` bytes wanted, `free` free in `dir`.
	DiskFull {
		dir: PathBuf,
		need: u64,
		free: u64,
	},
	/// No recovery key set and no passphrase given.
	NoKey,
	/// A passphrase or recipient that cannot be used (empty, malformed).
	BadKey(String),
	/// Reading or writing a file failed.
	Io {
		path: PathBuf,
		error: String,
	},
	Store(StoreError),
}

impl std::fmt::Display for BackupError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::WrongKey => f.write_str("the passphrase or recovery key does not open this backup"),
			Self::NotABackup => f.write_str("this is not a Xerra backup (not an age-encrypted file)"),
			Self::Truncated => f.write_str("the backup file is incomplete: it was cut short (or its last part is damaged)"),
			Self::Corrupt(why) => write!(f, "the backup file is damaged: {why}"),
			Self::Newer { format, schema, version } => write!(
				f,
				"this backup was made by a newer Xerra ({version}: backup format {format}, database schema {schema}; this one reads up to {FORMAT_VERSION} and {}): update Xerra first",
				crate::store::schema_version()
			),
			Self::NotEmpty { accounts } => {
				write!(f, "this box already has {accounts} account(s): a restore replaces everything on it; add --force to do so")
			}
			Self::ServerRunning => f.write_str("the server is running on this data directory: stop it first (systemctl stop xerra)"),
			Self::DiskFull { dir, need, free } => write!(
				f,
				"not enough free space in {}: about {} needed (for a backup: with backup_reserve_bytes to spare), {} free",
				dir.display(),
				crate::store::mib(*need),
				crate::store::mib(*free)
			),
			Self::NoKey => f.write_str(
				"no recovery key is set and no passphrase was given: run `xerra backup key` once, or give --passphrase-file FILE",
			),
			Self::BadKey(why) => f.write_str(why),
			Self::Io { path, error } => write!(f, "{}: {error}", path.display()),
			Self::Store(e) => write!(f, "{e}"),
		}
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
	let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
	let snap = store.snapshot()?;
	let domain = snap.setting("domain")?.unwrap_or_default();
	let (dir, path) = destination(&opts.dest, &domain, created)?;
	let uploads = snap.uploads()?;
	let mut groups: Vec<String> = snap.group_members()?.into_iter().map(|(g, _)| g).collect();
	groups.dedup();
	let upload_dir = data_dir.join("uploads");
	let upload_bytes: u64 = uploads.iter().map(|(_, u)| u.size).sum();
	let tls = tls_files(data_dir)?;
	// The copy of the database, then the file: each at most that big
	// (compression only shrinks what is stored here, age adds 16 bytes in 64 KiB).
	let db_bytes = Store::file_bytes(data_dir);
	let need = db_bytes.saturating_mul(2).saturating_add(upload_bytes).saturating_add(opts.reserve_bytes).saturating_add(1 << 20);
	let free = free_bytes(&dir)?;
	if free < need {
		return Err(BackupError::DiskFull { dir, need, free });
	}
	remove_stale_temps(&dir);
	let stem = format!(".xerra-backup-tmp-{}-{}", std::process::id(), unix_nanos());
	let db_copy = TempFile(dir.join(format!("{stem}.redb")));
	let rows = snap.copy_to(&db_copy.0)?;
	// The rest reads files, not the database: let the writer reuse its pages.
	drop(snap);
	let rows_of = |name: &str| rows.iter().find(|(n, _)| n == name).map_or(0, |(_, r)| *r);
	let counts = Counts {
		accounts: rows_of("accounts"),
		rooms: rows_of("muc_rooms"),
		groups: groups.len() as u64,
		archived: rows_of("mam"),
		offline: rows_of("offline"),
		uploads: rows_of("uploads"),
	};
	let header = Header {
		format: FORMAT_VERSION,
		schema: crate::store::schema_version(),
		version: env!("CARGO_PKG_VERSION").to_owned(),
		domain: domain.clone(),
		created,
		counts: counts.clone(),
		unpacked: file_len(&db_copy.0)
			.saturating_add(tls.iter().map(|(_, p)| file_len(p)).sum())
			.saturating_add(uploads.iter().map(|(id, _)| file_len(&upload_dir.join(id))).sum()),
	};
	let part = TempFile(dir.join(format!("{stem}.part")));
	let io = |p: &Path| {
		let p = p.to_owned();
		move |e: std::io::Error| BackupError::Io { path: p.clone(), error: e.to_string() }
	};
	let file = {
		use std::os::unix::fs::OpenOptionsExt as _;
		std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&part.0).map_err(io(&part.0))?
	};
	let mut packer = archive::Packer::new(std::io::BufWriter::with_capacity(64 << 10, file), &opts.to, &header)?;
	let out = io(&part.0);
	packer.add_file("xerra.redb", &db_copy.0).map_err(&out)?;
	drop(db_copy);
	for (name, p) in &tls {
		packer.add_file(&format!("tls/{name}"), p).map_err(&out)?;
	}
	for (id, _) in &uploads {
		let name = format!("uploads/{id}");
		if !manifest::allowed_name(&name) {
			continue;
		}
		match std::fs::File::open(upload_dir.join(id)) {
			Ok(f) => {
				let size = f.metadata().map_err(&out)?.len();
				packer.add(&name, size, std::io::BufReader::with_capacity(64 << 10, f)).map_err(&out)?;
			}
			// Expired (deleted) since the snapshot: as if it had gone just before.
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => log::info!("backup: upload {id} was deleted meanwhile; left out"),
			Err(e) => return Err(out(e)),
		}
	}
	let (writer, _) = packer.finish().map_err(&out)?;
	let file = writer.into_inner().map_err(|e| out(e.into_error()))?;
	file.sync_all().map_err(&out)?;
	let bytes = file.metadata().map_err(&out)?.len();
	drop(file);
	std::fs::rename(&part.0, &path).map_err(io(&path))?;
	std::mem::forget(part);
	sync_dir(&dir).map_err(io(&dir))?;
	Ok(BackupInfo { path, bytes, created, domain, counts })
}

/// [`create`] on a thread of its own, for the running server.
pub async fn create_off_thread(store: Store, data_dir: PathBuf, opts: CreateOptions) -> Result<BackupInfo, BackupError> {
	let (tx, rx) = async_channel::bounded(1);
	std::thread::Builder::new()
		.name("xerra-backup".into())
		.spawn(move || {
			let _ = tx.send_blocking(create(&store, &data_dir, &opts));
		})
		.map_err(|e| BackupError::Io { path: PathBuf::from("(thread)"), error: e.to_string() })?;
	rx.recv().await.map_err(|_| BackupError::Io { path: PathBuf::from("(thread)"), error: "the backup thread ended early".into() })?
}

fn file_len(p: &Path) -> u64 {
	std::fs::metadata(p).map_or(0, |m| m.len())
}

/// Checks a backup without restoring it: decrypts everything, checks every
/// hash and opens the database snapshot (unpacked beside the file, or in
/// the temporary directory if that is not writable). Blocks.
pub fn verify(file: &Path, secret: &Secret) -> Result<Manifest, BackupError> {
	let name = format!(".xerra-verify-{}-{}", std::process::id(), unix_nanos());
	let beside = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join(&name);
	let dir = if std::fs::create_dir(&beside).is_ok() { beside } else { std::env::temp_dir().join(&name) };
	let _cleanup = TempDir(dir.clone());
	if !dir.is_dir() {
		std::fs::create_dir(&dir).map_err(|e| BackupError::Io { path: dir.clone(), error: e.to_string() })?;
	}
	let db = dir.join("xerra.redb");
	let space = |h: &Header| enough_space(&dir, h.unpacked);
	let manifest = archive::read(file, secret, crate::store::schema_version(), space, |name| (name == "xerra.redb").then(|| db.clone()))?;
	check_database(&db, &manifest)?;
	Ok(manifest)
}

/// The unpacked database opens, every row reads, and it is what the header says.
fn check_database(db: &Path, manifest: &Manifest) -> Result<(), BackupError> {
	let info = crate::store::check_copy(db).map_err(|e| match e {
		StoreError::Corrupt(why) if why.contains("newer") => BackupError::Newer {
			format: manifest.header.format,
			schema: manifest.header.schema + 1,
			version: manifest.header.version.clone(),
		},
		e => BackupError::Corrupt(format!("its database does not open: {e}")),
	})?;
	let accounts = info.rows.iter().find(|(n, _)| n == "accounts").map_or(0, |(_, r)| *r);
	if accounts != manifest.header.counts.accounts || info.domain.unwrap_or_default() != manifest.header.domain {
		return Err(BackupError::Corrupt("its database is not the one its header describes".into()));
	}
	Ok(())
}

/// Restores `file` into `data_dir`, all or nothing (see [`stage`] and
/// [`Staged::commit`]). No server may run there (`ServerRunning`), and a box
/// with accounts is refused unless `force`. Blocks.
pub fn restore(file: &Path, secret: &Secret, data_dir: &Path, force: bool) -> Result<Manifest, BackupError> {
	recover(data_dir)?;
	if data_dir.join("xerra.redb").exists() {
		// Opening takes the database's lock: refused while a server runs.
		let store = Store::open(data_dir, 1 << 20)?;
		let accounts = store.snapshot().and_then(|s| s.account_count());
		store.shutdown();
		let accounts = accounts?;
		if accounts > 0 && !force {
			return Err(BackupError::NotEmpty { accounts });
		}
	}
	stage(file, secret, data_dir)?.commit()
}

/// Where the file goes: `dest` itself, or a dated name in it if it is a directory.
fn destination(dest: &Path, domain: &str, created: u64) -> Result<(PathBuf, PathBuf), BackupError> {
	if dest.is_dir() {
		let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(created).unwrap_or(0)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
		let stamp = format!("{:04}{:02}{:02}-{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second());
		let domain = if domain.is_empty() { "box" } else { domain };
		return Ok((dest.to_owned(), dest.join(format!("xerra-{domain}-{stamp}.{EXTENSION}"))));
	}
	let dir = match dest.parent() {
		Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
		_ => PathBuf::from("."),
	};
	if !dir.is_dir() {
		return Err(BackupError::Io { path: dir, error: "no such directory".into() });
	}
	Ok((dir, dest.to_owned()))
}

/// The box CA, its key and the served certificates: every plain file in `DATA/tls`.
fn tls_files(data_dir: &Path) -> Result<Vec<(String, PathBuf)>, BackupError> {
	let dir = data_dir.join("tls");
	let mut out = Vec::new();
	let entries = match std::fs::read_dir(&dir) {
		Ok(e) => e,
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
		Err(e) => return Err(BackupError::Io { path: dir, error: e.to_string() }),
	};
	for e in entries.flatten() {
		let Some(name) = e.file_name().to_str().map(str::to_owned) else { continue };
		if e.file_type().is_ok_and(|t| t.is_file()) && manifest::allowed_name(&format!("tls/{name}")) {
			out.push((name, e.path()));
		}
	}
	out.sort();
	Ok(out)
}

/// Room to unpack `bytes` (and a little more) in `dir`.
pub(crate) fn enough_space(dir: &Path, bytes: u64) -> Result<(), BackupError> {
	let need = bytes.saturating_add(16 << 20);
	let free = free_bytes(dir)?;
	if free < need {
		return Err(BackupError::DiskFull { dir: dir.to_owned(), need, free });
	}
	Ok(())
}

fn free_bytes(dir: &Path) -> Result<u64, BackupError> {
	let s = nix::sys::statvfs::statvfs(dir).map_err(|e| BackupError::Io { path: dir.to_owned(), error: e.to_string() })?;
	// Field types differ by target (32 bits on armv7 glibc).
	let wide = |v: u64| v;
	#[allow(clippy::useless_conversion)]
	Ok(wide(s.blocks_available().into()).saturating_mul(wide(s.fragment_size().into())))
}

/// Temp files a killed `create` left (their process is gone).
fn remove_stale_temps(dir: &Path) {
	let Ok(entries) = std::fs::read_dir(dir) else { return };
	for e in entries.flatten() {
		let name = e.file_name();
		let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(".xerra-backup-tmp-")) else { continue };
		let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else { continue };
		if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH) {
			let _ = std::fs::remove_file(e.path());
		}
	}
}

pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
	std::fs::File::open(dir)?.sync_all()
}

fn unix_nanos() -> u128 {
	std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// Removed when dropped (unless forgotten).
struct TempFile(PathBuf);

impl Drop for TempFile {
	fn drop(&mut self) {
		let _ = std::fs::remove_file(&self.0);
	}
}

struct TempDir(PathBuf);

impl Drop for TempDir {
	fn drop(&mut self) {
		let _ = std::fs::remove_dir_all(&self.0);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_secret_is_a_key_only_when_it_looks_like_one() {
		let key = generate_key();
		assert!(key.secret.starts_with("AGE-SECRET-KEY-1") && key.recipient.starts_with("age1"));
		assert!(valid_recipient(&key.recipient) && !valid_recipient("age1nope") && !valid_recipient(&key.secret));
		let file = format!("# created: now\n# public key: {}\n{}\n", key.recipient, key.secret);
		assert_eq!(Secret::parse(&file), Secret::Key(key.secret.clone()));
		assert_eq!(Secret::parse(&format!("  {}\r\n", key.secret)), Secret::Key(key.secret));
		// A passphrase keeps its spaces; only the line break is dropped.
		assert_eq!(Secret::parse(" two words \n"), Secret::Passphrase(" two words ".into()));
		assert_eq!(Secret::parse("pw\r\n"), Secret::Passphrase("pw".into()));
	}

	/// A backup made before schema 2 (its database copy in schema 1, the
	/// header says 1) still verifies, and restores into a file this binary
	/// opens with everything in it: the copy is moved while it is checked.
	#[test]
	fn a_schema_1_backup_verifies_and_restores() {
		let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema1/xerra.redb");
		let work = std::env::temp_dir().join(format!("xerra-schema1-backup-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&work);
		std::fs::create_dir_all(&work).unwrap();
		let size = std::fs::metadata(&fixture).unwrap().len();
		let header = Header {
			format: manifest::FORMAT_VERSION,
			schema: 1,
			version: "0.1.0".into(),
			// Its server had the domain on the command line, none stored.
			domain: String::new(),
			created: 1,
			counts: Counts { accounts: 3, ..Counts::default() },
			unpacked: size,
		};
		let key = generate_key();
		let file = work.join("old.xerra");
		let mut p = archive::Packer::new(std::fs::File::create(&file).unwrap(), &Recipient::Key(key.recipient.clone()), &header).unwrap();
		p.add_file("xerra.redb", &fixture).unwrap();
		p.finish().unwrap();
		let secret = Secret::Key(key.secret.clone());
		assert_eq!(verify(&file, &secret).unwrap().header.schema, 1);
		let data = work.join("data");
		restore(&file, &secret, &data, false).unwrap();
		// Already schema 2: the first open moves nothing.
		let info = crate::store::check_copy(&data.join("xerra.redb")).unwrap();
		assert_eq!(info.schema, crate::store::schema_version());
		let store = Store::open(&data, 1 << 20).unwrap();
		let snap = store.snapshot().unwrap();
		assert_eq!(snap.account_names().unwrap(), ["alice", "bob", "carol"]);
		assert_eq!(snap.motd().unwrap().as_deref(), Some("Welcome back"));
		drop(snap);
		store.shutdown();
		let _ = std::fs::remove_dir_all(&work);
	}

	#[test]
	fn unpacking_needs_room() {
		let dir = std::env::temp_dir();
		assert!(enough_space(&dir, 0).is_ok());
		assert!(matches!(enough_space(&dir, 1 << 60), Err(BackupError::DiskFull { .. })));
		let text = BackupError::DiskFull { dir, need: 3 << 20, free: 1 << 20 }.to_string();
		assert!(text.contains("3.0 MiB needed") && text.contains("1.0 MiB free"), "{text}");
	}
}
