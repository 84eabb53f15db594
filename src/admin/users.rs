//! Accounts: add, admin role, password, delete, list, import.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{AdminError, Engine, Reply, ResetMade, UserRow, deliver_as, user_name};
use crate::config::Config;
use crate::proto::sasl::derive_account;
use crate::server::Server;
use crate::store::{RosterEntry, Store};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::prep_localpart;

impl Engine<'_> {
	pub(super) async fn user_add(&self, name: &str, password: &str, admin: bool) -> Result<Reply, AdminError> {
		self.require_setup()?;
		let name = user_name(name)?;
		let account = derive_off_thread(password, self.config).await?;
		let n = name.clone();
		let created = self.store.write(move |tx| Ok(tx.create_account(&n, &account)? && (!admin || tx.set_admin(&n, true)?))).await?;
		match created {
			true => Ok(Reply::Created { jid: self.jid(&name), admin }),
			false => Err(AdminError::Exists(self.jid(&name))),
		}
	}

	pub(super) async fn user_admin(&self, name: &str, admin: bool) -> Result<Reply, AdminError> {
		let name = user_name(name)?;
		let n = name.clone();
		match self.store.write(move |tx| tx.set_admin(&n, admin)).await? {
			true if admin => Ok(Reply::Done(format!("{} is an admin", self.jid(&name)))),
			true => Ok(Reply::Done(format!("{} is no admin", self.jid(&name)))),
			false => Err(AdminError::NoSuchUser(self.jid(&name))),
		}
	}

	pub(super) async fn user_passwd(&self, name: &str, password: &str) -> Result<Reply, AdminError> {
		let name = user_name(name)?;
		let account = derive_off_thread(password, self.config).await?;
		let n = name.clone();
		match self.store.write(move |tx| tx.set_credentials(&n, &account)).await? {
			true => Ok(Reply::Done(format!("password changed for {}", self.jid(&name)))),
			false => Err(AdminError::NoSuchUser(self.jid(&name))),
		}
	}

	/// Every account, with what the console's people list shows.
	pub(super) fn user_list(&self) -> Result<Reply, AdminError> {
		let snap = self.store.snapshot()?;
		let mut rows = Vec::new();
		for (name, admin, locked) in snap.account_flags()? {
			let online = self.server.map_or(0, |s| s.sessions.borrow().of(&name).len());
			rows.push(UserRow {
				display_name: crate::groups::display_name_in(snap.vcard(&name)?.as_deref()),
				last_seen: snap.last_activity(&name)?.map(|(secs, _)| secs),
				storage_bytes: snap.storage_bytes(&name)?,
				admin,
				locked,
				online,
				name,
			});
		}
		Ok(Reply::Users(rows))
	}

	/// Locks (its sessions end at once; logins get `account-disabled`; its
	/// data stays) or unlocks an account.
	pub(super) async fn user_lock(&self, name: &str, locked: bool) -> Result<Reply, AdminError> {
		let name = user_name(name)?;
		let n = name.clone();
		if !self.store.write(move |tx| tx.set_locked(&n, locked)).await? {
			return Err(AdminError::NoSuchUser(self.jid(&name)));
		}
		let jid = self.jid(&name);
		if !locked {
			return Ok(Reply::Done(format!("{jid} is unlocked")));
		}
		if let Some(server) = self.server {
			end_sessions(server, &name, "account locked by the admin");
		}
		log::info!("{jid} locked by the admin");
		Ok(Reply::Done(format!("{jid} is locked")))
	}

	/// A one-time link that lets `user` set a new password without the old
	/// one: the token and when it expires (unix seconds). A newer link
	/// replaces the older; at most `max_reset_tokens` are open.
	pub async fn reset_token_create(&self, user: &str) -> Result<(String, u64), AdminError> {
		self.require_setup()?;
		let name = user_name(user)?;
		let token = super::random_token();
		let now = crate::features::invites::now_secs();
		let expires = now + u64::from(self.config.limits.reset_expiry_hours) * 3600;
		let max = self.config.limits.max_reset_tokens;
		let (n, t) = (name.clone(), token.clone());
		let stored = self
			.store
			.write(move |tx| if tx.account_exists(&n)? { tx.create_reset(&t, &n, expires, now, max).map(Some) } else { Ok(None) })
			.await?;
		match stored {
			None => Err(AdminError::NoSuchUser(self.jid(&name))),
			Some(false) => Err(AdminError::Limit(format!("{max} reset links are open already (max_reset_tokens)"))),
			Some(true) => Ok((token, expires)),
		}
	}

	/// The address a reset token is for, while it is good (not used up).
	pub fn reset_token_check(&self, token: &str) -> Result<String, AdminError> {
		let user = self.store.snapshot()?.reset(token, crate::features::invites::now_secs())?;
		user.map(|u| self.jid(&u)).ok_or_else(|| AdminError::NotFound("reset link (it was used, or it expired)".into()))
	}

	/// Sets the new password of a reset token's account and uses the token
	/// up. Returns the account's address.
	pub async fn reset_token_redeem(&self, token: &str, new_password: &str) -> Result<String, AdminError> {
		let account = derive_off_thread(new_password, self.config).await?;
		let (t, now) = (token.to_owned(), crate::features::invites::now_secs());
		let user = self
			.store
			.write(move |tx| {
				let Some(user) = tx.take_reset(&t, now)? else { return Ok(None) };
				Ok(tx.set_credentials(&user, &account)?.then_some(user))
			})
			.await?;
		let user = user.ok_or_else(|| AdminError::NotFound("reset link (it was used, or it expired)".into()))?;
		log::info!("{}: password set with a reset link", self.jid(&user));
		Ok(self.jid(&user))
	}

	/// The web console's login: the account's localpart if `who` (a name or
	/// an address of this domain) and `password` are right, and it is an
	/// admin that is not locked. One answer for an unknown account, a wrong
	/// password and a non-admin; an unknown account is checked against
	/// stand-in keys of the same cost, on a thread of its own like the
	/// others, so the time tells nothing either. Throttling is the caller's.
	pub async fn admin_login(&self, who: &str, password: &str) -> Result<String, AdminError> {
		match self.account_login(who, password).await {
			Ok((name, true)) => Ok(name),
			Ok((_, false)) => Err(AdminError::Forbidden("wrong address or password, or not an admin".into())),
			Err(AdminError::Forbidden(why)) if why.starts_with("wrong") => {
				Err(AdminError::Forbidden("wrong address or password, or not an admin".into()))
			}
			Err(e) => Err(e),
		}
	}

	/// Checks any account's address and password (the stored SCRAM-SHA-256
	/// keys, derived off the executor; an unknown account takes as long as
	/// a wrong password); the localpart and whether it is an admin.
	pub async fn account_login(&self, who: &str, password: &str) -> Result<(String, bool), AdminError> {
		use crate::proto::sasl::scram::{ScramCredentials, ScramHash};
		let refused = || AdminError::Forbidden("wrong address or password".into());
		let who = who.trim();
		let local = match who.rsplit_once('@') {
			Some((node, domain)) if domain.eq_ignore_ascii_case(&self.config.domain) => node,
			Some(_) => return Err(refused()),
			None => who,
		};
		let name = user_name(local).map_err(|_| refused())?;
		let password = crate::xmpp::jid::prep_password(password).ok_or_else(refused)?;
		let snap = self.store.snapshot()?;
		let account = snap.account(&name)?;
		let (keys, hash) = match &account {
			// An account moved in with SCRAM-SHA-1 keys only (`migrate::no_keys`).
			Some(a) if a.sha256.stored_key.is_empty() => (a.sha1.clone(), ScramHash::Sha1),
			Some(a) => (a.sha256.clone(), ScramHash::Sha256),
			None => {
				let mut secret = self.server.map_or_else(|| b"xerra".to_vec(), |s| s.fake_secret().to_vec());
				secret.extend_from_slice(name.as_bytes());
				(ScramCredentials::fake(ScramHash::Sha256, &secret, self.config.scram_iterations), ScramHash::Sha256)
			}
		};
		let (tx, rx) = async_channel::bounded(1);
		std::thread::spawn(move || {
			let _ = tx.send_blocking(keys.verify_password(hash, &password));
		});
		let right = rx.recv().await.unwrap_or(false) && account.is_some();
		if !right {
			return Err(refused());
		}
		let admin = snap.is_admin(&name)?;
		if snap.is_locked(&name)? {
			return Err(AdminError::Forbidden("this account is locked".into()));
		}
		Ok((name, admin))
	}

	pub(super) async fn user_reset(&self, name: &str) -> Result<Reply, AdminError> {
		let (token, expires) = self.reset_token_create(name).await?;
		let name = user_name(name)?;
		Ok(Reply::Reset(ResetMade { jid: self.jid(&name), url: self.console_url(&format!("reset/{token}")), token, expires }))
	}
}

/// Accounts stored before roles existed get one, once, at the first start:
/// the local accounts that `contact_addresses` names as `admin` become
/// admins (the first-boot wizard put its admin there), every other account
/// none. On a box whose admin changed that setting, `xerra user admin NAME
/// on` gives the role.
pub fn upgrade_account_roles(store: &Store, config: &Config) -> Result<(), String> {
	let named = admins_in_contacts(config);
	let made = store.write_blocking(move |tx| tx.upgrade_account_roles(&named)).map_err(|e| e.to_string())?;
	for name in made {
		log::info!("{name}@{} is an admin (named in contact_addresses)", config.domain);
	}
	Ok(())
}

/// The local accounts `contact_addresses` names as `admin` (`xmpp:` URIs).
fn admins_in_contacts(config: &Config) -> Vec<String> {
	config
		.contact_addresses
		.iter()
		.filter(|(kind, _)| *kind == "admin-addresses")
		.filter_map(|(_, uri)| {
			let jid = crate::xmpp::jid::Jid::parse(uri.strip_prefix("xmpp:")?.split('?').next()?).ok()?;
			let local = jid.domain() == config.domain && jid.resource().is_none();
			jid.node().filter(|_| local).map(str::to_owned)
		})
		.collect()
}

/// SCRAM keys for a password, made on a thread of their own: PBKDF2 takes
/// milliseconds, too long for the executor.
pub async fn derive_off_thread(password: &str, config: &Config) -> Result<crate::store::Account, AdminError> {
	let (password, config) = (password.to_owned(), config.clone());
	let (tx, rx) = async_channel::bounded(1);
	std::thread::spawn(move || {
		let _ = tx.send_blocking(new_account(&password, &config));
	});
	let made = rx.recv().await.map_err(|_| AdminError::Failed("could not derive the keys".into()))?;
	made.map_err(AdminError::Invalid)
}

pub fn new_account(password: &str, config: &Config) -> Result<crate::store::Account, String> {
	if password.is_empty() {
		return Err("the password must not be empty".into());
	}
	let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
	let rng = ring::rand::SystemRandom::new();
	let mut random = |b: &mut [u8]| {
		// The OS random source failing is not something to work around.
		ring::rand::SecureRandom::fill(&rng, b).expect("system random number generator failed");
	};
	derive_account(password, config.scram_iterations, created, &mut random)
		.ok_or_else(|| "the password has characters that are not allowed".to_string())
}

/// Creates many accounts from `name:password` lines (empty lines and lines
/// starting with `#` are skipped). Keys are derived on every core first, then
/// all accounts are written in one transaction. Existing names are kept and
/// reported; any bad line stops the import before anything is written.
pub fn import_users(store: &Store, config: &Config, text: &str) -> Result<String, String> {
	let mut entries = Vec::new();
	for (n, line) in text.lines().enumerate() {
		let line = line.trim_end_matches('\r');
		if line.trim().is_empty() || line.starts_with('#') {
			continue;
		}
		let (name, password) = line.split_once(':').ok_or_else(|| format!("line {}: expected name:password", n + 1))?;
		let name = prep_localpart(name.trim()).map_err(|e| format!("line {}: invalid user name: {e}", n + 1))?;
		entries.push((n + 1, name, password.to_owned()));
	}
	let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
	let chunk = entries.len().div_ceil(workers).max(1);
	let derived: Vec<Result<(String, crate::store::Account), String>> = std::thread::scope(|scope| {
		let handles: Vec<_> = entries
			.chunks(chunk)
			.map(|part| {
				scope.spawn(move || {
					part.iter()
						.map(|(line, name, pw)| new_account(pw, config).map(|a| (name.clone(), a)).map_err(|e| format!("line {line}: {e}")))
						.collect::<Vec<_>>()
				})
			})
			.collect();
		handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
	});
	let accounts = derived.into_iter().collect::<Result<Vec<_>, _>>()?;
	let total = accounts.len();
	let existing = store
		.write_blocking(move |tx| {
			let mut existing = Vec::new();
			for (name, account) in &accounts {
				if !tx.create_account(name, account)? {
					existing.push(name.clone());
				}
			}
			Ok(existing)
		})
		.map_err(|e| e.to_string())?;
	let mut out = format!("created {} accounts on {}\n", total - existing.len(), config.domain);
	if !existing.is_empty() {
		out.push_str(&format!("already there, unchanged: {}\n", existing.join(", ")));
	}
	Ok(out)
}

/// Ends every session of `name` at once with `not-authorized` and `why`;
/// its contacts see it go offline.
fn end_sessions(server: &Server, name: &str, why: &str) {
	let ids: Vec<u64> = server.sessions.borrow().of(name).iter().map(|s| s.id).collect();
	for id in ids {
		let removed = server.sessions.borrow_mut().remove(name, id);
		if let Some(session) = removed {
			session.close(StreamError::with_text(StreamCondition::NotAuthorized, why));
			crate::features::presence::session_ended(server, session);
		}
	}
}

/// Deletes an account with everything it had; its sessions end with
/// `not-authorized` and its contacts see it go.
pub async fn delete_user(store: &Store, config: &Config, server: Option<&Server>, name: &str) -> Result<String, AdminError> {
	if let Some(server) = server {
		// End the sessions first, while the roster still says who must hear
		// that they are gone.
		end_sessions(server, name, "account deleted");
	}
	let user = name.to_owned();
	let domain = config.domain.clone();
	let deleted = store
		.write(move |tx| {
			if !tx.delete_account(&user)? {
				return Ok(None);
			}
			for (group, member) in tx.group_members()? {
				if member == user {
					tx.remove_group_member(&group, &member)?;
				}
			}
			let files = tx.delete_uploads_of(&user)?;
			let own_jid = format!("{user}@{domain}");
			let mut outs = Vec::new();
			for (contact, _) in tx.clear_roster(&user)? {
				let Some(contact_user) = contact.strip_suffix(&format!("@{domain}")) else { continue };
				if let Some(old) = tx.roster_entry(contact_user, &own_jid)? {
					crate::features::presence::save(tx, contact_user, &own_jid, &old, &RosterEntry::default(), &mut outs)?;
				}
			}
			Ok(Some((outs, files)))
		})
		.await?;
	let Some((pushes, files)) = deleted else {
		return Err(AdminError::NoSuchUser(format!("{name}@{}", config.domain)));
	};
	// Its files go with it: their links stop working at once.
	let uploads = crate::http::upload::files_dir(config);
	crate::http::upload::remove_files(files.iter().map(|id| uploads.join(id)).collect()).await;
	if let Some(s) = server {
		// The in-memory copies follow the stored data, so an account made
		// later with the same name starts clean.
		s.blocklists.borrow_mut().forget(name);
		s.mam_prefs.borrow_mut().forget(name);
		s.push.borrow_mut().forget(name);
		s.upload_slots.borrow_mut().forget(name);
	}
	deliver_as(server, config, name, pushes);
	Ok(format!("deleted {name}@{}", config.domain))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn admins_named_in_contact_addresses() {
		let mut c = Config::new(Default::default());
		c.set("domain", "office.lan").unwrap();
		c.set(
			"contact_addresses",
			"admin=xmpp:Boss@office.lan,support=xmpp:help@office.lan,admin=xmpp:it@elsewhere.org,admin=mailto:x@office.lan,admin=xmpp:office.lan,admin=xmpp:deputy@office.lan?message",
		)
		.unwrap();
		assert_eq!(admins_in_contacts(&c), ["boss", "deputy"]);
	}
}
