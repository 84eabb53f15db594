//! Invitations (XEP-0401) made by the admin: one-use or multi-use, with an
//! expiry, a department each newcomer joins and whether they become admins;
//! listed, revoked, and redeemed from the web form (XMPP registration with
//! the token is `net::register`; both end in [`welcome`]).

use super::{AdminError, Engine, InviteMade, InviteRow, Reply, derive_off_thread, random_token, user_name};
use crate::features::{Out, invites};
use crate::store::{Invite, StoreError, Tx};

/// What an admin invitation says, as the console's form gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InviteSpec {
	/// A contact invitation from this user (who must exist).
	pub contact: Option<String>,
	/// Accounts it may make; 0 means 1.
	pub uses: u32,
	/// Good for this many days (default `invite_expiry_days`).
	pub days: Option<u32>,
	/// The department each newcomer joins.
	pub group: Option<String>,
	/// Each newcomer becomes an admin.
	pub admin: bool,
}

/// What a newcomer gets from the invitation that made their account, in the
/// transaction that made it: the inviter as a mutual contact, the
/// department (its members' rosters get pushes in `outs`), the admin role.
pub fn welcome(tx: &Tx<'_>, domain: &str, name: &str, invite: &Invite, outs: &mut Vec<Out>) -> Result<(), StoreError> {
	if let Some(inviter) = invite.inviter.as_deref().filter(|i| tx.account_exists(i).unwrap_or(false)) {
		crate::groups::befriend(tx, domain, name, inviter, outs)?;
	}
	if let Some(group) = &invite.group {
		crate::groups::join(tx, domain, group, name, outs)?;
	}
	if invite.admin {
		tx.set_admin(name, true)?;
	}
	Ok(())
}

const GONE: &str = "invitation (it was used up, revoked, or it expired)";

impl Engine<'_> {
	pub(super) async fn invite_add(&self, spec: InviteSpec) -> Result<Reply, AdminError> {
		self.require_setup()?;
		let contact = match spec.contact {
			Some(c) => {
				let c = user_name(&c)?;
				if self.store.snapshot()?.account(&c)?.is_none() {
					return Err(AdminError::NoSuchUser(self.jid(&c)));
				}
				Some(c)
			}
			None => None,
		};
		let max = self.config.limits.max_invite_uses;
		let uses = spec.uses.max(1);
		if uses > max {
			return Err(AdminError::Invalid(format!("an invitation makes at most {max} accounts (max_invite_uses)")));
		}
		let days = spec.days.unwrap_or(self.config.limits.invite_expiry_days);
		if !(1..=3650).contains(&days) {
			return Err(AdminError::Invalid("an invitation is good for 1 to 3650 days".into()));
		}
		let group = spec.group.as_deref().map(crate::groups::check_name).transpose().map_err(AdminError::Invalid)?.map(str::to_owned);
		let token = random_token();
		// From the console: the box's admin, whose invitations make accounts.
		let expires = invites::now_secs() + u64::from(days) * 86_400;
		let invite = Invite { inviter: contact.clone(), expires, registers: true, uses, group, admin: spec.admin };
		let t = token.clone();
		self.store.write(move |tx| tx.create_invite(&t, &invite)).await?;
		let uri = invites::uri(&self.config.domain, &token, contact.as_deref(), true);
		let registration_off = matches!(self.config.registration, crate::config::Registration::Off);
		Ok(Reply::Invite(InviteMade { token, uri, expires, days: u64::from(days), uses, registration_off }))
	}

	fn invite_row(&self, token: String, i: Invite) -> InviteRow {
		InviteRow {
			uri: invites::uri(&self.config.domain, &token, i.inviter.as_deref(), i.registers),
			token,
			uses_left: i.uses,
			expires: i.expires,
			group: i.group,
			admin: i.admin,
			contact: i.inviter,
			registers: i.registers,
		}
	}

	/// Every open invitation, the admin's and the users' (soonest to expire first).
	pub(super) fn invite_list(&self) -> Result<Reply, AdminError> {
		let mut rows: Vec<InviteRow> =
			self.store.snapshot()?.invites(invites::now_secs())?.into_iter().map(|(t, i)| self.invite_row(t, i)).collect();
		rows.sort_by_key(|r| r.expires);
		Ok(Reply::Invites(rows))
	}

	pub(super) async fn invite_revoke(&self, token: &str) -> Result<Reply, AdminError> {
		let t = token.to_owned();
		match self.store.write(move |tx| tx.revoke_invite(&t)).await? {
			true => Ok(Reply::Done("invitation revoked".into())),
			false => Err(AdminError::NotFound("such invitation".into())),
		}
	}

	/// An invitation that can still make an account (the landing page).
	pub fn invite_check(&self, token: &str) -> Result<InviteRow, AdminError> {
		let found = self.store.snapshot()?.invite(token, invites::now_secs())?.filter(|i| i.registers);
		found.map(|i| self.invite_row(token.to_owned(), i)).ok_or_else(|| AdminError::NotFound(GONE.into()))
	}

	/// Makes the account `name` with `password` from an invitation (the web
	/// form, for apps that cannot register with a token), puts it in the
	/// invitation's department and gives it the admin role if it says so.
	/// Works whatever `registration` says: the admin made the invitation.
	/// Returns the new address.
	pub async fn invite_redeem(&self, token: &str, name: &str, password: &str) -> Result<String, AdminError> {
		self.require_setup()?;
		let name = user_name(name)?;
		self.invite_check(token)?;
		let account = derive_off_thread(password, self.config).await?;
		let (t, n, domain, now) = (token.to_owned(), name.clone(), self.config.domain.clone(), invites::now_secs());
		let outcome = self
			.store
			.write(move |tx| {
				let Some(invite) = tx.take_invite(&t, now)?.filter(|i| i.registers) else {
					return Ok(Err(AdminError::NotFound(GONE.into())));
				};
				if !tx.create_account(&n, &account)? {
					// Taken: the invitation stays good for another name.
					tx.create_invite(&t, &invite)?;
					return Ok(Err(AdminError::Exists(format!("{n}@{domain}"))));
				}
				let mut outs = Vec::new();
				welcome(tx, &domain, &n, &invite, &mut outs)?;
				Ok(Ok(outs))
			})
			.await?;
		self.deliver_as(&name, outcome?);
		let jid = self.jid(&name);
		log::info!("{jid} registered with an invitation (web form)");
		Ok(jid)
	}
}
