//! The shell's half of a SASL2 success (XEP-0388): what was asked inline
//! that needs the connection's session state: XEP-0198 resumption (or, if
//! that fails, the Bind2 request as fallback), stream management enable,
//! carbons, CSI. Then `<success/>` and the stream features are written.

use super::Conn;
use super::env::Env;
use crate::proto::sasl2::{self, BindRequest};
use crate::proto::stream::StreamEnv as _;
use crate::proto::stream::inline::Sasl2Done;

impl Conn {
	pub(super) fn sasl2_success(&mut self, done: Box<Sasl2Done>) {
		let Sasl2Done { auth, additional, bound, request } = *done;
		let user = auth.user().to_owned();
		let mut inner = String::new();
		if let Some((previd, h)) = &request.resume {
			let additional = additional.clone();
			let bare = format!("{user}@{}", self.server.config.domain);
			let framed = self.take_over(&user, previd, *h, |c, resumed| {
				let env = Env::new(&c.server, c.peer.ip(), &c.outbox);
				let jid = c.stream.jid().map_or(bare, |j| j.to_string());
				let mut xml = sasl2::success(additional.as_deref(), &jid, resumed);
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
			if b.carbons
				&& let Some(s) = self.server.sessions.borrow_mut().get_mut(&user, self.bound.as_ref().map_or(0, |b| b.id))
			{
				s.carbons = true;
			}
			if b.inactive {
				self.inactive = true;
			}
			inner.push_str(&format!("<bound xmlns='urn:xmpp:bind:0'>{results}</bound>"));
			log::info!("{}: {jid} bound inline (SASL2)", self.peer);
		}
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
}
