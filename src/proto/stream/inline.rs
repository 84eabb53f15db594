//! SASL2 (XEP-0388) on the c2s stream, beside RFC 6120 SASL: the same
//! mechanisms, the same failure counting, and what the client asks for
//! inline in `<authenticate/>`. A Bind2 request (XEP-0386) is bound here,
//! so stanzas the client sends right after `<authenticate/>` find the
//! stream bound; a resumption (XEP-0198 inline) is the shell's, since the
//! session to take over lives there.

use super::{Action, C2sStream, State, StreamEnv};
use crate::proto::sasl::ht;
use crate::proto::sasl::scram::{ScramCredentials, ScramHash};
use crate::proto::sasl::{self, Attempt, Authenticated, Exchange, Step};
use crate::proto::sasl2::{self, Request};
use crate::xmpp::element::Element;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::FullJid;

/// A successful SASL2 exchange, for the shell to complete.
#[derive(Debug)]
pub struct Sasl2Done {
	pub auth: Authenticated,
	/// The mechanism's success data (SCRAM's server signature).
	pub additional: Option<Vec<u8>>,
	/// The resource bound from the Bind2 request, if there was one and no
	/// resumption was asked for.
	pub bound: Option<FullJid>,
	pub request: Request,
	/// The FAST token slot the client authenticated with, if it did.
	pub fast_used: Option<ht::Used>,
	/// XEP-0480: the SCRAM-SHA-1 keys the account had and the SCRAM-SHA-256
	/// keys the client's upgrade task made, to store before the success.
	pub upgraded: Option<(ScramCredentials, ScramCredentials)>,
}

/// An upgrade task under way (XEP-0480).
pub struct Upgrade {
	auth: Authenticated,
	req: Box<Request>,
	sha1: ScramCredentials,
	salt: Vec<u8>,
	iterations: u32,
	salt_sent: bool,
	failures: u32,
}

impl C2sStream {
	/// FAST mechanisms offered on this stream (XEP-0484).
	pub(super) fn fast_offered(&self, _env: &mut dyn StreamEnv) -> Vec<&'static str> {
		ht::offered(self.end_point.as_deref()).to_vec()
	}

	/// `<authenticate/>`: starts the exchange like `<auth/>` does.
	pub(super) fn authenticate2(&mut self, el: Element, failures: u32, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		if !el.is("authenticate", sasl2::NS) {
			return self.before_auth(&el, env, out);
		}
		// Nothing of an earlier, unfinished attempt carries over.
		(self.fast_used, self.upgraded) = (None, None);
		let req = match sasl2::parse(&el) {
			Ok(r) => Box::new(r),
			Err((f, why)) => return self.sasl_step(None, Some(Box::default()), Step::Failure(f, Attempt::Other, why), failures, env, out),
		};
		if ht::is_ht(&req.mechanism) {
			let ua = req.user_agent.as_ref().map(|u| u.id.as_str());
			let (step, used) = ht::authenticate(&req.mechanism, req.initial.as_deref(), ua, self.end_point.as_deref(), env);
			self.fast_used = used;
			return self.sasl_step(None, Some(req), step, failures, env, out);
		}
		let mech = match self.mechanism(&req.mechanism) {
			Ok(m) => m,
			Err(why) => {
				let step = Step::Failure(sasl::Failure::InvalidMechanism, Attempt::Other, why);
				return self.sasl_step(None, Some(req), step, failures, env, out);
			}
		};
		let (ex, step) = Exchange::start_with_ssdp(
			mech,
			req.initial.as_deref(),
			self.channel_binding.as_deref(),
			!self.client_lacks_binding,
			Some(self.ssdp_input()),
			env,
		);
		self.sasl_step(Some(ex), Some(req), step, failures, env, out);
	}

	/// During a SASL2 exchange only `<response/>` and `<abort/>` may come
	/// (XEP-0388 §3.3); anything else ends the stream.
	pub(super) fn sasl2_element(
		&mut self,
		el: Element,
		mut exchange: Exchange,
		req: Box<Request>,
		failures: u32,
		env: &mut dyn StreamEnv,
		out: &mut Vec<Action>,
	) {
		if el.is("response", sasl2::NS) {
			let step = match sasl2::decode(&el.text()) {
				Ok(data) => exchange.respond(&data, env),
				Err((f, why)) => Step::Failure(f, Attempt::Other, why),
			};
			self.sasl_step(Some(exchange), Some(req), step, failures, env, out);
		} else if el.is("abort", sasl2::NS) {
			let step = Step::Failure(sasl::Failure::Aborted, Attempt::Other, "the client aborted");
			self.sasl_step(None, Some(req), step, failures, env, out);
		} else {
			self.fail(StreamError::with_text(StreamCondition::PolicyViolation, "only <response/> or <abort/> during SASL2"), env, out);
		}
	}

	/// Authenticated: an account with SCRAM-SHA-1 keys only whose client
	/// asked for it first gets the XEP-0480 task that adds SCRAM-SHA-256
	/// keys; then [`Self::sasl2_complete`].
	pub(super) fn sasl2_success(
		&mut self,
		auth: Authenticated,
		additional: Option<Vec<u8>>,
		req: Box<Request>,
		failures: u32,
		env: &mut dyn StreamEnv,
		out: &mut Vec<Action>,
	) {
		if req.upgrade.iter().any(|t| t == sasl2::UPGR_SCRAM_SHA_256)
			&& let Ok(Some(a)) = env.account(auth.user())
			&& a.sha256.stored_key.is_empty()
			&& !a.sha1.stored_key.is_empty()
		{
			let mut salt = vec![0u8; 16];
			env.random(&mut salt);
			out.push(Action::Write(sasl2::continue_task(additional.as_deref(), sasl2::UPGR_SCRAM_SHA_256)));
			let iterations = env.scram_iterations();
			self.state = State::Upgrade(Box::new(Upgrade { auth, req, sha1: a.sha1, salt, iterations, salt_sent: false, failures }));
			return;
		}
		self.sasl2_complete(auth, additional, req, failures, env, out);
	}

	/// XEP-0480 §3: `<next/>` gets the salt, `<task-data/>` brings the
	/// SaltedPassword; anything else ends the stream, as during SASL2.
	pub(super) fn upgrade_element(&mut self, el: Element, mut u: Box<Upgrade>, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		if el.is("next", sasl2::NS) && el.attr("task") == Some(sasl2::UPGR_SCRAM_SHA_256) && !u.salt_sent {
			out.push(Action::Write(sasl2::scram_upgrade_salt(&u.salt, u.iterations)));
			u.salt_sent = true;
			self.state = State::Upgrade(u);
		} else if el.is("task-data", sasl2::NS) && u.salt_sent {
			let salted = el.child("hash", sasl2::SCRAM_UPGRADE).map(|h| sasl2::decode(&h.text()));
			let Some(Ok(salted)) = salted.filter(|s| s.as_ref().is_ok_and(|s| s.len() == ScramHash::Sha256.output_len())) else {
				let step =
					Step::Failure(sasl::Failure::MalformedRequest, Attempt::Other, "upgrade task data without a SHA-256 SaltedPassword");
				return self.sasl_step(None, Some(u.req), step, u.failures, env, out);
			};
			let sha256 = ScramCredentials::from_salted(ScramHash::Sha256, &salted, &u.salt, u.iterations);
			let Upgrade { auth, req, sha1, failures, .. } = *u;
			self.upgraded = Some(Box::new((sha1, sha256)));
			self.sasl2_complete(auth, None, req, failures, env, out);
		} else if el.is("abort", sasl2::NS) {
			let step = Step::Failure(sasl::Failure::Aborted, Attempt::Other, "the client aborted");
			self.sasl_step(None, Some(u.req), step, u.failures, env, out);
		} else {
			self.fail(
				StreamError::with_text(StreamCondition::PolicyViolation, "only <next/>, <task-data/> or <abort/> during an upgrade task"),
				env,
				out,
			);
		}
	}

	/// Binds what Bind2 asked for (unless a resumption comes first) and
	/// hands the rest to the shell.
	fn sasl2_complete(
		&mut self,
		auth: Authenticated,
		additional: Option<Vec<u8>>,
		req: Box<Request>,
		failures: u32,
		env: &mut dyn StreamEnv,
		out: &mut Vec<Action>,
	) {
		// Taken first: a failed bind must not leave them to a later login.
		let fast_used = self.fast_used.take();
		let upgraded = self.upgraded.take().map(|b| *b);
		let mut bound = None;
		match (&req.bind, &req.resume) {
			(Some(b), None) => {
				let resource = sasl2::resource(b.tag.as_deref(), &mut |buf| env.random(buf));
				match env.bind(&auth, Some(&resource)) {
					Ok(jid) => {
						self.handled = b.sm_enable.map(|_| 0);
						self.state = State::Established(jid.clone());
						bound = Some(jid);
					}
					Err(e) => {
						// Authenticated, but no session can be made: a failure
						// that is not the client's guess (XEP-0386 §3).
						let text = match e {
							super::BindError::BadResource => "the bind tag makes no valid resource",
							super::BindError::TooManyResources => "too many sessions for this account",
						};
						out.push(Action::Write(sasl2::failure(sasl::Failure::TemporaryAuthFailure, Some(text))));
						self.state = State::Auth { failures };
						return;
					}
				}
			}
			_ => self.state = State::Bind(auth.clone()),
		}
		let jid = bound.clone();
		out.push(Action::Sasl2Success(Box::new(Sasl2Done { auth, additional, bound, request: *req, fast_used, upgraded })));
		if let Some(jid) = jid {
			out.push(Action::Bound(jid));
		}
	}

	/// The shell bound or resumed a session inline after a SASL2 success:
	/// the stream is established and counts from `handled` if stream
	/// management is on.
	pub fn inline_bound(&mut self, jid: FullJid, handled: Option<u32>) {
		if let State::Bind(_) | State::Established(_) = self.state {
			self.state = State::Established(jid);
			self.handled = handled;
		}
	}

	/// XEP-0198 was enabled inline (Bind2): stanzas count from zero.
	pub fn sm_enabled_inline(&mut self) {
		if self.handled.is_none() {
			self.handled = Some(0);
		}
	}

	/// The `<stream:features/>` that follow a SASL2 `<success/>` (no restart
	/// comes, XEP-0388 §3.5): binding when not bound yet, else what is left.
	pub fn features_after_sasl2(&self, env: &dyn StreamEnv) -> String {
		let mut f = String::from("<stream:features>");
		match self.state {
			State::Established(_) => {
				if self.handled.is_none() {
					f.push_str("<sm xmlns='urn:xmpp:sm:3'/>");
				}
				f.push_str("<csi xmlns='urn:xmpp:csi:0'/>");
			}
			_ => f.push_str(super::AUTHENTICATED_FEATURES),
		}
		f.extend(env.server_caps());
		f.push_str("</stream:features>");
		f
	}
}
