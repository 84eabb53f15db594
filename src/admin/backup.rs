//! `xerra backup create` as an admin command: the same for a running server
//! (through the control socket) and a stopped one.

use super::{AdminError, Engine, Reply};
use crate::backup::{BackupError, BackupInfo, CreateOptions, RECIPIENT_SETTING, Recipient};

impl Engine<'_> {
	pub(super) async fn backup_create(&self, dest: &str, passphrase: Option<String>) -> Result<Reply, AdminError> {
		let to = match passphrase {
			Some(p) => Recipient::Passphrase(p),
			// Read now, not from the start-time settings: `backup key` may have just set it.
			None => match self.store.snapshot()?.setting(RECIPIENT_SETTING)?.filter(|r| !r.trim().is_empty()) {
				Some(r) => Recipient::Key(r),
				None => return Err(AdminError::Failed(BackupError::NoKey.to_string())),
			},
		};
		let opts = CreateOptions { dest: dest.into(), to, reserve_bytes: self.config.limits.backup_reserve_bytes };
		let info = crate::backup::create_off_thread(self.store.clone(), self.config.data_dir.clone(), opts)
			.await
			.map_err(|e| AdminError::Failed(e.to_string()))?;
		Ok(Reply::Done(describe(&info)))
	}
}

/// One line about a backup written.
pub fn describe(info: &BackupInfo) -> String {
	let c = &info.counts;
	format!(
		"backup written: {} ({}; {} accounts, {} rooms, {} archived messages, {} offline messages, {} uploads)",
		info.path.display(),
		crate::store::mib(info.bytes),
		c.accounts,
		c.rooms,
		c.archived,
		c.offline,
		c.uploads
	)
}
