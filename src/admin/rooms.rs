//! Chat rooms (XEP-0045) of `rooms.<domain>`: list, destroy.

use super::{AdminError, Engine, Reply};
use crate::features::muc::{self, RoomInfo};

impl Engine<'_> {
	pub(super) fn room_list(&self) -> Result<Reply, AdminError> {
		let service = muc::service_domain(&self.config.domain);
		let rooms = match self.server {
			Some(s) => muc::rooms(s),
			// Stopped: the persistent rooms, as stored.
			None => self
				.store
				.snapshot()?
				.muc_rooms()?
				.into_iter()
				.map(|(name, r)| RoomInfo {
					name,
					settings: muc::RoomSettings::of(&r.config),
					title: r.config.title,
					persistent: true,
					occupants: 0,
					history: (0, 0),
					nicks: Vec::new(),
				})
				.collect(),
		};
		Ok(Reply::Rooms { service, live: self.server.is_some(), rooms })
	}

	/// A room's localpart from its name or address.
	pub(super) fn room_name(&self, name: &str) -> Result<String, AdminError> {
		let service = muc::service_domain(&self.config.domain);
		let bare = name.strip_suffix(&format!("@{service}")).unwrap_or(name);
		crate::xmpp::jid::prep_localpart(bare).map_err(|e| AdminError::Invalid(format!("invalid room name: {e}")))
	}

	pub(super) async fn room_destroy(&self, name: &str, reason: Option<&str>) -> Result<Reply, AdminError> {
		let service = muc::service_domain(&self.config.domain);
		let name = self.room_name(name)?;
		let found = match self.server {
			Some(s) => muc::destroy(s, &name, reason).await?,
			None => {
				let n = name.clone();
				self.store
					.write(move |tx| {
						let exists = tx.muc_room_exists(&n)?;
						if exists {
							tx.delete_muc_room(&n)?;
						}
						Ok(exists)
					})
					.await?
			}
		};
		match found {
			true => Ok(Reply::Done(format!("room {name}@{service} destroyed\n"))),
			false => Err(AdminError::NotFound(format!("room {name}@{service}"))),
		}
	}

	/// Makes a room persistent or temporary (while the server runs: rooms
	/// are live there).
	pub(super) async fn room_persist(&self, name: &str, persistent: bool) -> Result<Reply, AdminError> {
		let service = muc::service_domain(&self.config.domain);
		let name = self.room_name(name)?;
		let Some(server) = self.server else {
			return Err(AdminError::Invalid("rooms change while the server runs: start it first".into()));
		};
		if !muc::set_persistent(server, &name, persistent).await? {
			return Err(AdminError::NotFound(format!("room {name}@{service}")));
		}
		let kind = if persistent { "persistent" } else { "temporary" };
		Ok(Reply::Done(format!("room {name}@{service} is {kind}")))
	}
}
