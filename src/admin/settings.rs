//! Settings (`crate::config::settings`) and the box's status.

use super::{AdminError, Engine, Reply, Running, SettingRow, Status};
use crate::config;
use crate::store::Store;

impl Engine<'_> {
	pub(super) async fn config_set(&self, name: &str, value: &str) -> Result<Reply, AdminError> {
		// Validate before storing, so a bad value never reaches the next start.
		let mut scratch = self.config.clone();
		scratch.set(name, value).map_err(AdminError::Invalid)?;
		let (n, v) = (name.to_owned(), value.to_owned());
		self.store.write(move |tx| tx.set_setting(&n, &v)).await?;
		let restart = if self.server.is_some() { " (takes effect at the next start)" } else { "" };
		Ok(Reply::Done(format!("{name} = {value}{restart}")))
	}

	pub(super) async fn config_unset(&self, name: &str) -> Result<Reply, AdminError> {
		config::setting(name).ok_or_else(|| AdminError::Invalid(format!("unknown setting {name:?}")))?;
		let n = name.to_owned();
		self.store.write(move |tx| tx.unset_setting(&n)).await?;
		Ok(Reply::Done(format!("{name} back to its default")))
	}

	pub(super) fn config_list(&self) -> Result<Reply, AdminError> {
		let stored = self.store.snapshot()?.settings()?;
		Ok(Reply::Settings(
			config::settings()
				.map(|s| {
					let value = stored.iter().find(|(k, _)| k == s.name).map(|(_, v)| v.clone());
					SettingRow {
						name: s.name,
						stored: value.is_some(),
						value: value.unwrap_or_else(|| s.default.to_owned()),
						default: s.default,
						doc: s.doc,
						// The server reads its settings once, at start.
						restart: true,
					}
				})
				.collect(),
		))
	}

	pub(super) async fn status(&self) -> Result<Reply, AdminError> {
		let config = self.config;
		let running = self.server.map(|s| {
			let sessions = s.sessions.borrow();
			Running {
				pid: std::process::id(),
				uptime_secs: s.started.elapsed().as_secs(),
				connections: s.guard.borrow().connections(),
				sessions: sessions.count(),
				users_online: sessions.users_online(),
			}
		});
		let snap = self.store.snapshot()?;
		Ok(Reply::Status(Status {
			domain: config.configured().then(|| config.domain.clone()),
			accounts: snap.account_count()?,
			sha1_only: snap.sha1_only_count()?,
			data_dir: config.data_dir.display().to_string(),
			database_bytes: Store::file_bytes(&config.data_dir),
			disk: self.store.disk(),
			disk_warning_bytes: config.limits.disk_free_warning_bytes,
			backups: Box::new(crate::autobackup::View::read(self.store, config, self.server.map(|s| &s.backups))?.placed(config).await),
			running,
		}))
	}
}
