//! External components (XEP-0114).

use super::{AdminError, ComponentRow, Engine, Reply, random_token};
use crate::config::Config;
use crate::xmpp::error::{StreamCondition, StreamError};

impl Engine<'_> {
	pub(super) async fn component_add(&self, domain: &str) -> Result<Reply, AdminError> {
		let domain = component_domain(domain, self.config)?;
		let secret = random_token();
		let (d, sec) = (domain.clone(), secret.clone());
		let added = self.store.write(move |tx| tx.add_component(&d, &sec)).await?;
		if !added {
			// A new secret needs `component del` first (the help says so).
			return Err(AdminError::Exists(format!("component {domain}")));
		}
		if let Some(s) = self.server {
			s.remotes.borrow_mut().set_component(&domain, true);
		}
		Ok(Reply::ComponentAdded { domain, secret, port: self.config.component_port })
	}

	pub(super) async fn component_del(&self, domain: &str) -> Result<Reply, AdminError> {
		let domain = component_domain(domain, self.config)?;
		let d = domain.clone();
		if !self.store.write(move |tx| tx.del_component(&d)).await? {
			return Err(AdminError::NotFound(format!("component {domain}")));
		}
		if let Some(s) = self.server {
			let why = StreamError::with_text(StreamCondition::NotAuthorized, "the component was removed");
			let mut remotes = s.remotes.borrow_mut();
			remotes.set_component(&domain, false);
			remotes.close(&domain, why);
		}
		Ok(Reply::Done(format!("component {domain} removed")))
	}

	pub(super) fn component_list(&self) -> Result<Reply, AdminError> {
		let domains = self.store.snapshot()?.component_domains()?;
		let connected = |d: &str| self.server.is_some_and(|s| s.remotes.borrow().is_connected(d));
		Ok(Reply::Components(domains.into_iter().map(|domain| ComponentRow { connected: connected(&domain), domain }).collect()))
	}
}

/// A component's domain: a valid domain that is not ours or our rooms'.
fn component_domain(domain: &str, config: &Config) -> Result<String, AdminError> {
	let jid = crate::xmpp::jid::Jid::parse(domain).map_err(|e| AdminError::Invalid(format!("invalid domain: {e}")))?;
	if jid.node().is_some() || jid.resource().is_some() {
		return Err(AdminError::Invalid(format!("{domain:?} is not a domain")));
	}
	let d = jid.domain().to_owned();
	if d == config.domain || d == crate::features::muc::service_domain(&config.domain) {
		return Err(AdminError::Invalid(format!("{d} is served by Xerra itself")));
	}
	Ok(d)
}
