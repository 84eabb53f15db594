//! The stream core's and SASL's view of the server (`StreamEnv`,
//! `SaslEnv`) for one connection: accounts, throttles, binding.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

use crate::features::presence;
use crate::proto::sasl::scram::ScramCredentials;
use crate::proto::sasl::{Authenticated, SaslEnv};
use crate::proto::stream::{BindError, StreamEnv};
use crate::server::Server;
use crate::sessions::Outbox;
use crate::store::Account;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::FullJid;

/// The stream core's view of the server, for one connection.
pub(super) struct Env<'a> {
	server: &'a Server,
	ip: IpAddr,
	queue: &'a Rc<Outbox>,
	/// Set once the stream core bound a resource.
	pub(super) bound: Option<(u64, FullJid)>,
}

impl<'a> Env<'a> {
	pub(super) fn new(server: &'a Server, ip: IpAddr, queue: &'a Rc<Outbox>) -> Env<'a> {
		Env { server, ip, queue, bound: None }
	}
}

impl SaslEnv for Env<'_> {
	fn account(&mut self, user: &str) -> Result<Option<Account>, crate::proto::sasl::Unreadable> {
		self.server.store.snapshot().and_then(|s| s.account(user)).map_err(|e| {
			log::error!("account lookup: {e}");
			crate::proto::sasl::Unreadable
		})
	}

	fn attempt_allowed(&mut self, user: &str) -> bool {
		let ok = self.server.guard.borrow_mut().login_allowed(self.ip, Some(user), Instant::now(), &self.server.config.limits);
		if !ok {
			log::warn!("{}: login for {user} throttled", self.ip);
		}
		ok
	}

	fn random(&mut self, buf: &mut [u8]) {
		self.server.random(buf);
	}

	fn fake_secret(&self) -> &[u8] {
		self.server.fake_secret()
	}

	fn scram_iterations(&self) -> u32 {
		self.server.config.scram_iterations
	}

	fn locked(&mut self, user: &str) -> bool {
		// Unreadable storage: the password was right, so let them in.
		self.server.store.snapshot().and_then(|s| s.is_locked(user)).unwrap_or(false)
	}

	fn device(&mut self, user: &str, id: &str) -> Result<Option<crate::store::Device>, crate::proto::sasl::Unreadable> {
		self.server.store.snapshot().and_then(|s| s.device(user, id)).map_err(|e| {
			log::error!("device lookup: {e}");
			crate::proto::sasl::Unreadable
		})
	}

	fn now(&self) -> u64 {
		Self::unix_now()
	}

	/// Makes both key sets from the password on a thread of its own (PBKDF2
	/// is too slow for the executor) and stores them, unless the keys
	/// changed meanwhile; the login itself does not wait for it.
	fn add_missing_keys(&mut self, user: &str, sha1: &ScramCredentials, password: &str) {
		let (store, config) = (self.server.store.clone(), self.server.config.clone());
		let (user, sha1, password) = (user.to_owned(), sha1.clone(), password.to_owned());
		std::thread::spawn(move || {
			let Ok(full) = crate::admin::new_account(&password, &config) else { return };
			match store.write_blocking(move |tx| tx.add_missing_keys(&user, &sha1, &full).map(|done| (done, user))) {
				Ok((true, user)) => {
					log::info!("{user}: SCRAM-SHA-256 keys made from the password at a PLAIN login (the account had SCRAM-SHA-1 keys only)")
				}
				Ok((false, _)) => {}
				Err(e) => log::warn!("storing SCRAM-SHA-256 keys made at a PLAIN login: {e}"),
			}
		});
	}
}

impl Env<'_> {
	pub(super) fn unix_now() -> u64 {
		std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
	}
}

impl StreamEnv for Env<'_> {
	fn domain(&self) -> &str {
		&self.server.config.domain
	}

	fn bind(&mut self, auth: &Authenticated, resource: Option<&str>) -> Result<FullJid, BindError> {
		let server = self.server;
		let (id, jid, replaced) = server.sessions.borrow_mut().bind(
			auth.user(),
			&server.config.domain,
			resource,
			self.queue.clone(),
			(
				server.config.limits.max_resources_per_account,
				(server.config.limits.session_queue_len, server.config.limits.session_queue_bytes),
			),
			&mut |b| server.random(b),
		)?;
		if let Some(old) = replaced {
			log::info!("{jid}: replaces an older session");
			old.close(StreamError::with_text(StreamCondition::Conflict, "replaced by a new session"));
			presence::session_ended(server, old);
		}
		self.bound = Some((id, jid.clone()));
		crate::stats::login(auth.user());
		Ok(jid)
	}

	fn auth_failed(&mut self, user: Option<&str>) {
		crate::stats::login_failed();
		self.server.guard.borrow_mut().login_failed(self.ip, user, Instant::now(), &self.server.config.limits);
	}

	fn login_failed(&mut self, user: Option<&str>, condition: &str, why: &str) {
		let user = user.map(|u| format!(" for {u}")).unwrap_or_default();
		log::info!("{}: login failed{user}: {condition}: {why}", self.ip);
	}

	fn auth_retries(&self) -> u32 {
		self.server.config.limits.auth_retries_per_connection
	}

	fn registration(&self) -> bool {
		self.server.config.registration != crate::config::Registration::Off
	}

	fn server_caps(&self) -> Option<String> {
		crate::features::disco::server_caps(self.server)
	}

	fn offer_sha256(&mut self) -> bool {
		// Unreadable storage: offer everything; the exchange then says what is missing.
		self.server.store.snapshot().and_then(|s| s.sha1_only_count()).map_or(true, |n| n == 0)
	}
}
