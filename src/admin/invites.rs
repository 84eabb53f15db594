//! Invitations (XEP-0401) made by the admin.

use super::{AdminError, Engine, InviteMade, Reply, random_token, user_name};
use crate::features::invites;

impl Engine<'_> {
	pub(super) async fn invite_add(&self, contact: Option<String>) -> Result<Reply, AdminError> {
		self.require_setup()?;
		let contact = match contact {
			Some(c) => {
				let c = user_name(&c)?;
				if self.store.snapshot()?.account(&c)?.is_none() {
					return Err(AdminError::NoSuchUser(self.jid(&c)));
				}
				Some(c)
			}
			None => None,
		};
		let token = random_token();
		let days = u64::from(self.config.limits.invite_expiry_days);
		// From the console: the box's admin, whose invitations make accounts.
		let expires = invites::now_secs() + days * 86_400;
		let invite = crate::store::Invite { inviter: contact.clone(), expires, registers: true };
		let t = token.clone();
		self.store.write(move |tx| tx.create_invite(&t, &invite)).await?;
		let uri = invites::uri(&self.config.domain, &token, contact.as_deref(), true);
		let registration_off = matches!(self.config.registration, crate::config::Registration::Off);
		Ok(Reply::Invite(InviteMade { token, uri, expires, days, registration_off }))
	}
}
