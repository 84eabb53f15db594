//! The shell's half of a SASL2 success (XEP-0388): what was asked inline
//! that needs the connection's session state or storage: the device and
//! its FAST tokens (XEP-0484), XEP-0198 resumption (or, if that fails, the
//! Bind2 request as fallback), stream management enable, carbons, CSI.
//! Then `<success/>` and the stream features are written.

use std::time::{Duration, UNIX_EPOCH};

use super::Conn;
use super::env::Env;
use crate::proto::sasl::ht::{self, Used};
use crate::proto::sasl2::{self, BindRequest, Request};
use crate::proto::stream::StreamEnv as _;
use crate::proto::stream::inline::Sasl2Done;
use crate::store::Device;
use crate::xmpp::element::escape_attr;

/// A device's `last_seen` is written at most this often when nothing else changes.
const LAST_SEEN_EVERY: u64 = 3600;

impl Conn {
	pub(super) async fn sasl2_success(&mut self, done: Box<Sasl2Done>) {
		let Sasl2Done { auth, additional, bound, request, fast_used, upgraded } = *done;
		let user = auth.user().to_owned();
		if let Some((sha1, sha256)) = upgraded {
			// XEP-0480: stored before the success, unless the keys changed meanwhile.
			let (u, full) = (user.clone(), crate::store::Account { created: 0, sha1: sha1.clone(), sha256 });
			match self.server.store.write(move |tx| tx.add_missing_keys(&u, &sha1, &full)).await {
				Ok(true) => log::info!("{user}: SCRAM-SHA-256 keys added by the client's upgrade task (XEP-0480)"),
				Ok(false) => {}
				Err(e) => log::warn!("{user}: SCRAM-SHA-256 keys of an upgrade task not stored: {e}"),
			}
		}
		if fast_used.is_some() {
			let device = request.user_agent.as_ref().map_or("", |u| u.id.as_str());
			log::info!("{}: {user} logged in with a FAST token (device {device})", self.peer);
		}
		let token = Box::pin(self.device_and_token(&user, &request, fast_used)).await;
		let mut inner = String::new();
		if let Some((previd, h)) = &request.resume {
			let additional = additional.clone();
			let bare = format!("{user}@{}", self.server.config.domain);
			let token = token.clone();
			let framed = self.take_over(&user, previd, *h, |c, resumed| {
				let env = Env::new(&c.server, c.peer.ip(), &c.outbox);
				let jid = c.stream.jid().map_or(bare, |j| j.to_string());
				let mut xml = sasl2::success(additional.as_deref(), &jid, &format!("{resumed}{token}"));
				xml.push_str(&c.stream.features_after_sasl2(&env));
				xml
			});
			match framed {
				Ok(()) => return,
				// XEP-0198 §"inline": the failure goes in the success, and the
				// Bind2 request (if any) is done instead.
				Err(failed) => inner.push_str(&failed),
			}
		}
		let bound = match (bound, &request.bind) {
			(Some(jid), _) => Some(jid),
			(None, Some(b)) if request.resume.is_some() => self.bind_fallback(&auth, b),
			_ => None,
		};
		if let (Some(jid), Some(b)) = (&bound, &request.bind) {
			let mut results = String::new();
			if let Some(resume) = b.sm_enable {
				results.push_str(&self.sm_enable(resume));
				self.stream.sm_enabled_inline();
			}
			if let Some(s) = self.server.sessions.borrow_mut().get_mut(&user, self.bound.as_ref().map_or(0, |b| b.id)) {
				s.carbons |= b.carbons;
				s.device = request.user_agent.as_ref().map(|u| u.id.clone());
			}
			if b.inactive {
				self.inactive = true;
			}
			inner.push_str(&format!("<bound xmlns='urn:xmpp:bind:0'>{results}</bound>"));
			log::info!("{}: {jid} bound inline (SASL2)", self.peer);
		}
		if bound.is_none() {
			self.device = request.user_agent.as_ref().map(|u| u.id.as_str().into());
		}
		inner.push_str(&token);
		let env = Env::new(&self.server, self.peer.ip(), &self.outbox);
		let authzid = bound.map_or_else(|| format!("{user}@{}", self.server.config.domain), |j| j.to_string());
		let mut xml = sasl2::success(additional.as_deref(), &authzid, &inner);
		xml.push_str(&self.stream.features_after_sasl2(&env));
		self.out.extend_from_slice(xml.as_bytes());
	}

	/// Binds the Bind2 request after a failed inline resumption.
	fn bind_fallback(&mut self, auth: &crate::proto::sasl::Authenticated, b: &BindRequest) -> Option<crate::xmpp::jid::FullJid> {
		let mut env = Env::new(&self.server, self.peer.ip(), &self.outbox);
		let resource = sasl2::resource(b.tag.as_deref(), &mut |buf| self.server.random(buf));
		env.bind(auth, Some(&resource)).ok()?;
		let (id, jid) = env.bound.take()?;
		self.bound = Some(super::Bound { id, jid: jid.clone() });
		self.stream.inline_bound(jid.clone(), None);
		Some(jid)
	}

	/// Records the device (`<user-agent id>`) and does the FAST token work
	/// (XEP-0484 §4-5): the used token moves to the current slot, one is
	/// invalidated on request, a new one is issued when asked for or when
	/// the used one is in the second half of its life. Returns the
	/// `<token/>` to put in the success ("" for none). The write is done
	/// before the client sees the token.
	async fn device_and_token(&mut self, user: &str, req: &Request, used: Option<Used>) -> String {
		let Some(ua) = &req.user_agent else { return String::new() };
		let server = self.server.clone();
		let limits = &server.config.limits;
		let now = Env::unix_now();
		let old = match server.store.snapshot().and_then(|s| s.device(user, &ua.id)) {
			Ok(d) => d,
			Err(e) => {
				log::warn!("{user}: device {} not read: {e}", ua.id);
				return String::new();
			}
		};
		let mut d = old.clone().unwrap_or(Device { first_seen: now, ..Device::default() });
		d.software.clone_from(&ua.software);
		d.name.clone_from(&ua.device);
		let invalidate = req.fast.is_some_and(|f| f.invalidate);
		let ttl = limits.fast_token_ttl.as_secs();
		let end_point = self.stream.end_point().map(<[u8]>::to_vec);
		let requested = req.request_token.as_deref();
		let issued = ht::after_login(&mut d, used, invalidate, requested, end_point.as_deref(), now, ttl, &mut |b| server.random(b));
		let changed = match &old {
			None => true,
			Some(o) => o.software != d.software || o.name != d.name || o.current != d.current || o.new != d.new,
		};
		if !changed && now < d.last_seen + LAST_SEEN_EVERY {
			return String::new();
		}
		d.last_seen = now;
		let (u, id, max) = (user.to_owned(), ua.id.clone(), limits.max_devices_per_account);
		match server.store.write(move |tx| tx.put_device(&u, &id, &d, max)).await {
			Ok(dropped) => {
				for gone in dropped {
					log::info!("{user}: device {gone} forgotten (max_devices_per_account)");
				}
			}
			Err(e) => {
				log::warn!("{user}: device {} not stored: {e}", ua.id);
				return String::new();
			}
		}
		let Some(i) = issued else { return String::new() };
		let expiry = crate::features::time::stamp(UNIX_EPOCH + Duration::from_secs(i.slot.expiry)).unwrap_or_default();
		format!("<token xmlns='urn:xmpp:fast:0' expiry='{}' token='{}'/>", escape_attr(&expiry), escape_attr(&i.token))
	}
}
