//! Departments (shared roster groups, `crate::groups`): create, members.

use super::{AdminError, Engine, GroupRow, Reply, user_name};

fn group_name(group: &str) -> Result<String, AdminError> {
	crate::groups::check_name(group).map(str::to_owned).map_err(AdminError::Invalid)
}

impl Engine<'_> {
	pub(super) async fn group_add(&self, group: &str) -> Result<Reply, AdminError> {
		let group = group_name(group)?;
		let g = group.clone();
		match self.store.write(move |tx| tx.add_group_member(&g, "")).await? {
			true => Ok(Reply::Done(format!("created group {group}"))),
			false => Err(AdminError::Exists(format!("group {group}"))),
		}
	}

	pub(super) fn group_list(&self) -> Result<Reply, AdminError> {
		let groups = crate::groups::list(&self.store.snapshot()?)?;
		Ok(Reply::Groups(
			groups
				.into_iter()
				.map(|(name, members)| GroupRow { name, members: members.into_iter().filter(|m| !m.is_empty()).collect() })
				.collect(),
		))
	}

	/// Puts `user` into `group` (or takes them out); the roster changes reach
	/// online members at once.
	pub(super) async fn group_change(&self, group: &str, user: &str, join: bool) -> Result<Reply, AdminError> {
		self.require_setup()?;
		let group = group_name(group)?;
		let user = user_name(user)?;
		let (g, u, domain) = (group.clone(), user.clone(), self.config.domain.clone());
		let result = self
			.store
			.write(move |tx| {
				let mut outs = Vec::new();
				if !tx.account_exists(&u)? {
					return Ok(None);
				}
				let changed = if join {
					crate::groups::join(tx, &domain, &g, &u, &mut outs)?
				} else {
					crate::groups::leave(tx, &domain, &g, &u, &mut outs)?
				};
				Ok(Some((changed, outs)))
			})
			.await?;
		let jid = self.jid(&user);
		let Some((changed, outs)) = result else { return Err(AdminError::NoSuchUser(jid)) };
		self.deliver_as(&user, outs);
		Ok(Reply::Done(match (join, changed) {
			(true, true) => format!("{jid} joined {group}"),
			(true, false) => format!("{jid} was in {group} already"),
			(false, true) => format!("{jid} left {group}"),
			(false, false) => format!("{jid} was not in {group}"),
		}))
	}

	/// Deletes a department: its members leave it, and their rosters follow at once.
	pub(super) async fn group_del(&self, group: &str) -> Result<Reply, AdminError> {
		let group = group_name(group)?;
		let (g, domain) = (group.clone(), self.config.domain.clone());
		let result = self
			.store
			.write(move |tx| {
				let mut outs = Vec::new();
				Ok(crate::groups::delete(tx, &domain, &g, &mut outs)?.then_some(outs))
			})
			.await?;
		let outs = result.ok_or_else(|| AdminError::NotFound(format!("group {group}")))?;
		self.deliver_as("", outs);
		Ok(Reply::Done(format!("deleted group {group}")))
	}

	/// Renames a department, in its members' rosters too.
	pub(super) async fn group_rename(&self, group: &str, to: &str) -> Result<Reply, AdminError> {
		let (group, to) = (group_name(group)?, group_name(to)?);
		let (g, t, domain) = (group.clone(), to.clone(), self.config.domain.clone());
		let result = self
			.store
			.write(move |tx| {
				if tx.group_members()?.iter().any(|(name, _)| *name == t) {
					return Ok(Err(AdminError::Exists(format!("group {t}"))));
				}
				let mut outs = Vec::new();
				Ok(Ok(crate::groups::rename(tx, &domain, &g, &t, &mut outs)?.then_some(outs)))
			})
			.await?;
		let outs = result?.ok_or_else(|| AdminError::NotFound(format!("group {group}")))?;
		self.deliver_as("", outs);
		Ok(Reply::Done(format!("renamed group {group} to {to}")))
	}
}
