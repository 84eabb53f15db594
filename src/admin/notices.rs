//! Messages from the server to people: a broadcast (to everyone online, or
//! to everyone, stored offline for the others) and the message of the day
//! (stored; each new session gets it at its initial presence, see
//! `features::presence`).

use super::{AdminError, Engine, Reply};
use crate::store::{OfflineQuota, Pushed};
use crate::xmpp::element::Element;
use crate::xmpp::ns;

/// A message from the server (its bare domain) to `to`.
pub fn server_message(domain: &str, to: &str, text: &str) -> Element {
	Element::new("message", ns::CLIENT)
		.with_attr("from", domain)
		.with_attr("to", to)
		.with_child(Element::new("body", ns::CLIENT).with_text(text))
}

impl Engine<'_> {
	/// A text for everyone: not empty, and it fits in a stanza.
	fn notice_text(&self, text: &str) -> Result<String, AdminError> {
		let text = text.trim();
		let max = self.config.limits.max_stanza_bytes / 2;
		if text.is_empty() || text.len() > max {
			return Err(AdminError::Invalid(format!("the text has 1 to {max} bytes (half of max_stanza_bytes)")));
		}
		Ok(text.to_owned())
	}

	/// Sends `text` to every session online now; with `everyone`, stores it
	/// offline for every account that has none (within their offline quota).
	pub(super) async fn broadcast(&self, text: &str, everyone: bool) -> Result<Reply, AdminError> {
		self.require_setup()?;
		let text = self.notice_text(text)?;
		let domain = self.config.domain.clone();
		let mut sent = 0;
		let mut online = std::collections::BTreeSet::new();
		if let Some(server) = self.server {
			let sessions = server.sessions.borrow();
			for s in sessions.all() {
				sent += usize::from(s.send(server_message(&domain, s.jid.as_str(), &text)));
				online.insert(s.jid.node().unwrap_or_default().to_owned());
			}
		}
		log::info!("broadcast to {sent} sessions{}", if everyone { " and stored for the others" } else { "" });
		if !everyone {
			return Ok(Reply::Done(format!("sent to {sent} sessions")));
		}
		let stamp = crate::features::time::stamp(std::time::SystemTime::now()).unwrap_or_default();
		let l = &self.config.limits;
		let quota = OfflineQuota { messages: l.max_offline_messages, bytes: l.max_offline_bytes };
		let stored = self
			.store
			.write(move |tx| {
				let mut stored = 0;
				for user in tx.account_names()? {
					if online.contains(&user) {
						continue;
					}
					let el = server_message(&domain, &format!("{user}@{domain}"), &text)
						.with_child(Element::new("delay", ns::DELAY).with_attr("from", domain.as_str()).with_attr("stamp", stamp.as_str()));
					stored += usize::from(tx.push_offline(&user, el.to_xml(ns::CLIENT).as_bytes(), quota)? == Pushed::Stored);
				}
				Ok(stored)
			})
			.await?;
		Ok(Reply::Done(format!("sent to {sent} sessions, stored for {stored} people offline")))
	}

	pub(super) async fn motd_set(&self, text: Option<&str>) -> Result<Reply, AdminError> {
		let text = text.map(|t| self.notice_text(t)).transpose()?;
		let set = text.is_some();
		self.store.write(move |tx| tx.set_motd(text.as_deref())).await?;
		Ok(Reply::Done(if set { "message of the day set".into() } else { "message of the day deleted".into() }))
	}

	pub(super) fn motd_get(&self) -> Result<Reply, AdminError> {
		Ok(Reply::Text(self.store.snapshot()?.motd()?.unwrap_or_default()))
	}
}
