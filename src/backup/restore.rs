//! All-or-nothing restore: unpack into a staging directory beside the data,
//! make it durable, commit with one rename, then move the items into place
//! (a roll-forward that `recover` finishes after a crash).
//!
//! The data directory may be a mount point (or systemd's StateDirectory),
//! so it is never renamed itself; what a backup holds is `ITEMS`.
//! States, each survivable by `kill -9`:
//! 1. `.restore-staging` being filled: the live data is untouched; `recover` removes it.
//! 2. renamed to `.restore-ready` (the commit point, after every fsync):
//!    from here `recover` rolls forward: each live item moves to
//!    `.restore-old`, the staged one takes its place.
//! 3. `.restore-ready` empty and removed, `.restore-old` removed.

use std::path::{Path, PathBuf};

use super::{BackupError, Manifest, Secret, archive, sync_dir};

/// What a backup replaces in the data directory.
const ITEMS: [&str; 3] = ["xerra.redb", "tls", "uploads"];
const STAGING: &str = ".restore-staging";
const READY: &str = ".restore-ready";
const OLD: &str = ".restore-old";

/// A backup unpacked and checked in `DATA/.restore-staging`, not yet in
/// place; dropped without `commit`, it is removed.
pub struct Staged {
	manifest: Manifest,
	data_dir: PathBuf,
	committed: bool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
	move |e| BackupError::Io { path: path.to_owned(), error: e.to_string() }
}

fn make_dir(p: &Path) -> Result<(), BackupError> {
	use std::os::unix::fs::DirBuilderExt as _;
	std::fs::DirBuilder::new().recursive(true).mode(0o700).create(p).map_err(io(p))
}

fn remove(p: &Path) -> std::io::Result<()> {
	match std::fs::symlink_metadata(p) {
		Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
		Ok(_) => std::fs::remove_file(p),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
		Err(e) => Err(e),
	}
}

/// Decrypts, checks and unpacks `file` beside `data_dir`'s live data; the
/// live data is not touched, so this may run while a server runs there. Blocks.
pub fn stage(file: &Path, secret: &Secret, data_dir: &Path) -> Result<Staged, BackupError> {
	make_dir(data_dir)?;
	let staging = data_dir.join(STAGING);
	remove(&staging).map_err(io(&staging))?;
	// From here a failure removes what was unpacked (Drop).
	let mut staged = Staged { manifest: placeholder(), data_dir: data_dir.to_owned(), committed: false };
	for d in [&staging, &staging.join("tls"), &staging.join("uploads")] {
		make_dir(d)?;
	}
	let space = |h: &super::Header| super::enough_space(data_dir, h.unpacked);
	let manifest = archive::read(file, secret, crate::store::schema_version(), space, |name| Some(staging.join(name)))?;
	super::check_database(&staging.join("xerra.redb"), &manifest)?;
	for d in [staging.join("tls"), staging.join("uploads"), staging.clone(), data_dir.to_owned()] {
		sync_dir(&d).map_err(io(&d))?;
	}
	staged.manifest = manifest;
	Ok(staged)
}

fn placeholder() -> Manifest {
	Manifest {
		header: super::Header {
			format: 0,
			schema: 0,
			version: String::new(),
			domain: String::new(),
			created: 0,
			counts: super::Counts::default(),
			unpacked: 0,
		},
		entries: Vec::new(),
	}
}

impl Staged {
	pub fn manifest(&self) -> &Manifest {
		&self.manifest
	}

	/// Puts the staged data in place of the live one. Nothing may have the
	/// database open (shut the `Store` down first). Blocks.
	pub fn commit(mut self) -> Result<Manifest, BackupError> {
		let dir = self.data_dir.clone();
		let (staging, ready) = (dir.join(STAGING), dir.join(READY));
		remove(&ready).map_err(io(&ready))?;
		std::fs::rename(&staging, &ready).map_err(io(&ready))?;
		self.committed = true;
		sync_dir(&dir).map_err(io(&dir))?;
		roll_forward(&dir)?;
		Ok(std::mem::replace(&mut self.manifest, placeholder()))
	}
}

impl Drop for Staged {
	fn drop(&mut self) {
		if !self.committed {
			let _ = remove(&self.data_dir.join(STAGING));
		}
	}
}

/// Moves every staged item into place; safe to run again after a crash at any step.
fn roll_forward(dir: &Path) -> Result<(), BackupError> {
	let (ready, old) = (dir.join(READY), dir.join(OLD));
	make_dir(&old)?;
	for item in ITEMS {
		let (new, live, aside) = (ready.join(item), dir.join(item), old.join(item));
		if std::fs::symlink_metadata(&new).is_err() {
			continue;
		}
		if std::fs::symlink_metadata(&live).is_ok() {
			remove(&aside).map_err(io(&aside))?;
			std::fs::rename(&live, &aside).map_err(io(&live))?;
		}
		std::fs::rename(&new, &live).map_err(io(&live))?;
	}
	sync_dir(dir).map_err(io(dir))?;
	remove(&ready).map_err(io(&ready))?;
	remove(&old).map_err(io(&old))?;
	sync_dir(dir).map_err(io(dir))
}

/// Finishes or undoes a restore a crash interrupted; run before the
/// database is opened (every `xerra` command does). Blocks.
pub fn recover(data_dir: &Path) -> Result<(), BackupError> {
	if data_dir.join(READY).is_dir() {
		log::warn!("finishing a restore that was interrupted in {}", data_dir.display());
		return roll_forward(data_dir);
	}
	for leftover in [STAGING, OLD] {
		let p = data_dir.join(leftover);
		if std::fs::symlink_metadata(&p).is_ok() {
			log::info!("removing {} left by an interrupted restore", p.display());
			remove(&p).map_err(io(&p))?;
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn temp_dir(tag: &str) -> PathBuf {
		let d = std::env::temp_dir().join(format!("xerra-restore-{tag}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&d);
		std::fs::create_dir_all(&d).unwrap();
		d
	}

	fn put(dir: &Path, what: &str) {
		std::fs::create_dir_all(dir.join("tls")).unwrap();
		std::fs::create_dir_all(dir.join("uploads")).unwrap();
		std::fs::write(dir.join("xerra.redb"), what).unwrap();
		std::fs::write(dir.join("tls/ca.crt"), what).unwrap();
		std::fs::write(dir.join("uploads/f"), what).unwrap();
	}

	fn state(dir: &Path) -> Vec<String> {
		["xerra.redb", "tls/ca.crt", "uploads/f"].iter().map(|p| std::fs::read_to_string(dir.join(p)).unwrap_or_default()).collect()
	}

	/// A crash after each step of the roll-forward: `recover` ends with the new state.
	#[test]
	fn recover_finishes_a_roll_forward_interrupted_anywhere() {
		for crash_after in 0..=ITEMS.len() {
			let dir = temp_dir(&format!("roll{crash_after}"));
			put(&dir, "old");
			std::fs::write(dir.join("control.sock"), "").unwrap();
			put(&dir.join(READY), "new");
			// Items moved before the "crash", done by hand as roll_forward would.
			std::fs::create_dir_all(dir.join(OLD)).unwrap();
			for item in &ITEMS[..crash_after] {
				std::fs::rename(dir.join(item), dir.join(OLD).join(item)).unwrap();
				std::fs::rename(dir.join(READY).join(item), dir.join(item)).unwrap();
			}
			recover(&dir).unwrap();
			assert_eq!(state(&dir), ["new", "new", "new"], "crash after {crash_after}");
			assert!(!dir.join(READY).exists() && !dir.join(OLD).exists());
			assert!(dir.join("control.sock").exists(), "other files stay");
			let _ = std::fs::remove_dir_all(&dir);
		}
	}

	#[test]
	fn recover_drops_an_uncommitted_staging() {
		let dir = temp_dir("staging");
		put(&dir, "old");
		put(&dir.join(STAGING), "new");
		recover(&dir).unwrap();
		assert_eq!(state(&dir), ["old", "old", "old"]);
		assert!(!dir.join(STAGING).exists());
		let _ = std::fs::remove_dir_all(&dir);
	}
}
