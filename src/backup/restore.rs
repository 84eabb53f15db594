//! All-or-nothing restore: unpack into a staging directory beside the data,
//! make it durable, commit with one rename, then move the items into place
//! (a roll-forward that `recover` finishes after a crash).

use std::path::Path;

use super::{BackupError, Manifest, Secret};

/// A backup unpacked and checked in `DATA/.restore-staging`, not yet in
/// place; dropped without `commit`, it is removed.
pub struct Staged {
	manifest: Manifest,
}

/// Decrypts, checks and unpacks `file` beside `data_dir`'s live data; the
/// live data is not touched, so this may run while a server runs there. Blocks.
pub fn stage(file: &Path, secret: &Secret, data_dir: &Path) -> Result<Staged, BackupError> {
	let _ = (file, secret, data_dir);
	todo!()
}

impl Staged {
	pub fn manifest(&self) -> &Manifest {
		&self.manifest
	}

	/// Puts the staged data in place of the live one. Nothing may have the
	/// database open (shut the `Store` down first). Blocks.
	pub fn commit(self) -> Result<Manifest, BackupError> {
		todo!()
	}
}

/// Finishes or undoes a restore a crash interrupted; run before the
/// database is opened (every `xerra` command does). Blocks.
pub fn recover(data_dir: &Path) -> Result<(), BackupError> {
	let _ = data_dir;
	todo!()
}
