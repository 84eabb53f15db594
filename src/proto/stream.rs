//! RFC 6120 client-to-server stream negotiation as a state machine without I/O.
//!
//! 1. The client opens a stream; we answer with our header and features.
//! 2. On a plain connection the only feature is STARTTLS, and it is required
//!    (§5.3.1): the shell upgrades the socket and the client restarts.
//! 3. On a secure stream we offer SASL (§6); success restarts the stream.
//! 4. On an authenticated stream we offer resource binding (§7), plus the
//!    optional legacy session, roster versioning and pre-approval.
//! 5. Once bound, every stanza is checked (addresses, `from`) and handed to
//!    the shell for routing.
//! 6. XEP-0198 stream management: `<enable/>`, `<r/>` and `<a/>` once bound,
//!    `<resume/>` instead of binding. The core counts the client's stanzas
//!    (`h`); the shell keeps what it sent until acknowledged.
//!
//! The shell feeds [`StreamEvent`]s and performs the returned [`Action`]s in
//! order. Direct TLS (XEP-0368) simply starts at step 3.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::sasl::scram::ScramHash;
use super::sasl::{self, Attempt, Authenticated, Exchange, Mechanism, SaslEnv, Step};
use super::sasl2;
use crate::xmpp::element::{Element, escape_attr};
use crate::xmpp::error::{Condition, StanzaError, StreamCondition, StreamError};
use crate::xmpp::jid::{FullJid, Jid};
use crate::xmpp::ns;
use crate::xmpp::reader::{StreamEvent, StreamHeader};
use crate::xmpp::stanza::{IqType, NotAStanza, Stanza, StanzaType};

/// Why a bind request was refused (RFC 6120 §7.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError {
	/// The requested resource is not a valid resourcepart.
	BadResource,
	/// The account has too many sessions.
	TooManyResources,
}

/// What the stream needs from the server around it, beyond SASL's needs.
pub trait StreamEnv: SaslEnv {
	fn domain(&self) -> &str;
	/// Registers the session under a resource (generated when `None`),
	/// replacing an older session with the same resource.
	fn bind(&mut self, auth: &Authenticated, resource: Option<&str>) -> Result<FullJid, BindError>;
	/// A failed SASL attempt, for the per-IP and per-account throttles.
	fn auth_failed(&mut self, user: Option<&str>);
	/// Any failed SASL attempt, counted or not, for the admin's log: the
	/// user if known, the condition sent and why (never a secret).
	fn login_failed(&mut self, user: Option<&str>, condition: &str, why: &str);
	/// Failed SASL attempts allowed on one connection.
	fn auth_retries(&self) -> u32;
	/// In-band registration (XEP-0077) is offered before authentication.
	fn registration(&self) -> bool;
	/// The server's own `<c/>` (XEP-0115 §6.3) for the stream features.
	fn server_caps(&self) -> Option<String>;
	/// Whether SCRAM-SHA-256 is offered (not while some account has
	/// SCRAM-SHA-1 keys only).
	fn offer_sha256(&mut self) -> bool {
		true
	}
}

/// What the shell must do, in order.
#[derive(Debug)]
pub enum Action {
	Write(String),
	/// Upgrade the socket to TLS now (after writing `<proceed/>`), then call
	/// [`C2sStream::tls_established`].
	StartTls,
	/// Use a fresh XML reader for the restarted stream (after SASL success).
	Restart,
	/// The stream is bound to this JID: the session exists now.
	Bound(FullJid),
	/// A checked stanza from the bound client, `from` already stamped.
	Stanza(Stanza),
	/// A stanza for the client (an error reply the core made), counted by
	/// stream management like any other.
	Send(Element),
	/// XEP-0198 `<enable/>`: answer with `<enabled/>` (resumable if asked).
	SmEnable {
		resume: bool,
	},
	/// XEP-0198 `<r/>`: answer `<a h='…'/>` with this count of handled stanzas.
	SmRequest(u32),
	/// XEP-0198 `<a h='…'/>` from the client.
	SmAck(u32),
	/// XEP-0352: the client is active (`true`) or inactive.
	Csi(bool),
	/// An iq before authentication for XEP-0077 registration or a XEP-0445
	/// token; the shell answers it.
	PreAuth(Element),
	/// XEP-0198 `<resume/>` instead of binding. The shell answers `<resumed/>`
	/// and calls [`C2sStream::resumed`], or writes `<failed/>`.
	SmResume {
		user: String,
		previd: String,
		h: u32,
	},
	/// XEP-0388 success: the shell performs what was asked inline (resume,
	/// SM enable, carbons, CSI, a FAST token), then writes `<success/>` and
	/// the features of the authenticated stream (no restart).
	Sasl2Success(Box<inline::Sasl2Done>),
	/// Close the stream, after the stream error if any.
	Close(Option<StreamError>),
}

enum Phase {
	Plain,
	Secure,
	Authenticated(Authenticated),
}

enum State {
	/// Waiting for a stream header.
	Header(Phase),
	/// Plain stream: STARTTLS is all we accept.
	StartTls,
	/// `<proceed/>` sent; bytes are now TLS.
	Upgrading,
	/// Secure stream, mechanisms offered.
	Auth {
		failures: u32,
	},
	Sasl {
		exchange: Exchange,
		failures: u32,
		/// The `<authenticate/>` of a SASL2 exchange (answers are SASL2's).
		v2: Option<Box<sasl2::Request>>,
	},
	/// XEP-0480: SASL2 authenticated, an upgrade task before the success.
	Upgrade(Box<inline::Upgrade>),
	/// Authenticated, waiting for the bind request.
	Bind(Authenticated),
	Established(FullJid),
	Closed,
}

pub struct C2sStream {
	state: State,
	/// tls-exporter keying material when TLS 1.3 is in use (RFC 9266).
	channel_binding: Option<Vec<u8>>,
	/// RFC 5929 tls-server-end-point data of the certificate this stream's
	/// TLS presented (FAST -ENDP); the shell sets it.
	end_point: Option<Vec<u8>>,
	header_sent: bool,
	stream_id: String,
	/// The client tried -PLUS with a binding type we lack (see `Attempt`).
	client_lacks_binding: bool,
	/// XEP-0198: stanzas from the client handled since `<enable/>`, if enabled.
	handled: Option<u32>,
	/// SCRAM-SHA-256 was in the mechanisms offered (see `StreamEnv::offer_sha256`).
	sha256_offered: bool,
	/// The FAST token slot of the exchange that just succeeded.
	fast_used: Option<sasl::ht::Used>,
	/// Keys an XEP-0480 upgrade task just made (SCRAM-SHA-1 seen, SCRAM-SHA-256 new).
	upgraded: Option<Box<(sasl::scram::ScramCredentials, sasl::scram::ScramCredentials)>>,
}

impl C2sStream {
	/// A stream on a plain connection (STARTTLS port).
	pub fn new_plain(stream_id: String) -> C2sStream {
		C2sStream {
			state: State::Header(Phase::Plain),
			channel_binding: None,
			end_point: None,
			header_sent: false,
			stream_id,
			client_lacks_binding: false,
			handled: None,
			sha256_offered: true,
			fast_used: None,
			upgraded: None,
		}
	}

	/// A stream on a connection that is TLS from the first byte (XEP-0368).
	pub fn new_tls(stream_id: String, channel_binding: Option<Vec<u8>>) -> C2sStream {
		C2sStream {
			state: State::Header(Phase::Secure),
			channel_binding,
			end_point: None,
			header_sent: false,
			stream_id,
			client_lacks_binding: false,
			handled: None,
			sha256_offered: true,
			fast_used: None,
			upgraded: None,
		}
	}

	/// The stream restarts after SASL success: RFC 6120 §4.7.3 wants a new
	/// stream id for it.
	pub fn restarted(&mut self, stream_id: String) {
		self.stream_id = stream_id;
	}

	/// The certificate binding of this stream's TLS (see `end_point`).
	pub fn set_end_point(&mut self, end_point: Option<Vec<u8>>) {
		self.end_point = end_point.filter(|e| !e.is_empty());
	}

	pub fn end_point(&self) -> Option<&[u8]> {
		self.end_point.as_deref()
	}

	/// TLS is up after STARTTLS; the client restarts the stream next.
	pub fn tls_established(&mut self, channel_binding: Option<Vec<u8>>, stream_id: String) {
		self.channel_binding = channel_binding;
		self.header_sent = false;
		self.stream_id = stream_id;
		self.state = State::Header(Phase::Secure);
	}

	/// The bound JID, once there is one.
	pub fn jid(&self) -> Option<&FullJid> {
		match &self.state {
			State::Established(jid) => Some(jid),
			_ => None,
		}
	}

	/// XEP-0198: stanzas handled since stream management was enabled.
	pub fn handled(&self) -> Option<u32> {
		self.handled
	}

	/// The shell resumed a detached session (XEP-0198 §5): the stream is
	/// bound to its JID and counts on from `handled`.
	pub fn resumed(&mut self, jid: FullJid, handled: u32) {
		if let State::Bind(_) = self.state {
			self.state = State::Established(jid);
			self.handled = Some(handled);
		}
	}

	/// True before the stream is authenticated (the shell uses tighter
	/// limits for strangers).
	pub fn is_authenticated(&self) -> bool {
		matches!(self.state, State::Header(Phase::Authenticated(_)) | State::Bind(_) | State::Established(_))
	}

	/// Handles one event from the reader.
	pub fn event(&mut self, ev: StreamEvent, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		match ev {
			StreamEvent::Header(h) => self.header(&h, env, out),
			StreamEvent::Stanza(el) => self.element(el, env, out),
			StreamEvent::End => {
				self.state = State::Closed;
				out.push(Action::Close(None));
			}
		}
	}

	/// Ends the stream with `err`, sending our header first if the client
	/// never saw one (RFC 6120 §4.9.1.2).
	pub fn fail(&mut self, err: StreamError, env: &dyn StreamEnv, out: &mut Vec<Action>) {
		if !self.header_sent {
			out.push(Action::Write(self.header_xml(env.domain(), None)));
			self.header_sent = true;
		}
		self.state = State::Closed;
		out.push(Action::Close(Some(err)));
	}

	fn header(&mut self, h: &StreamHeader, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		let State::Header(_) = self.state else {
			return self.fail(StreamError::with_text(StreamCondition::BadFormat, "unexpected stream header"), env, out);
		};
		out.push(Action::Write(self.header_xml(env.domain(), h.from.as_deref())));
		self.header_sent = true;
		let host_ok = match &h.to {
			None => true,
			Some(to) => Jid::parse(to).is_ok_and(|j| j.is_bare() && j.node().is_none() && j.domain() == env.domain()),
		};
		if !host_ok {
			return self.fail(StreamError::with_text(StreamCondition::HostUnknown, "this server does not serve that domain"), env, out);
		}
		let major = h.version.as_deref().and_then(|v| v.split('.').next()).and_then(|m| m.parse::<u32>().ok());
		if major.is_none_or(|m| m < 1) {
			return self.fail(StreamError::with_text(StreamCondition::UnsupportedVersion, "XMPP 1.0 streams only"), env, out);
		}
		let State::Header(phase) = std::mem::replace(&mut self.state, State::Closed) else { return };
		let mut features = String::from("<stream:features>");
		self.state = match phase {
			Phase::Plain => {
				features.push_str("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>");
				State::StartTls
			}
			Phase::Secure => {
				features.push_str("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
				self.sha256_offered = env.offer_sha256();
				for m in Mechanism::offered(self.channel_binding.is_some(), self.sha256_offered) {
					features.push_str("<mechanism>");
					features.push_str(m);
					features.push_str("</mechanism>");
				}
				features.push_str("</mechanisms>");
				// XEP-0388: the same mechanisms again, and what rides inline.
				let mechs: Vec<&str> = Mechanism::offered(self.channel_binding.is_some(), self.sha256_offered).collect();
				features.push_str(&sasl2::feature(&mechs, &self.fast_offered(env)));
				if env.registration() {
					// XEP-0445 §3: a token (`<preauth/>`) is taken wherever
					// registration is, and clients look for this first.
					features.push_str("<register xmlns='urn:xmpp:ibr-token:0'/>");
					features.push_str("<register xmlns='http://jabber.org/features/iq-register'/>");
				}
				if self.channel_binding.is_some() {
					// XEP-0440: tell clients which binding type to use.
					features.push_str(
						"<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>",
					);
				}
				State::Auth { failures: 0 }
			}
			Phase::Authenticated(auth) => {
				features.push_str(AUTHENTICATED_FEATURES);
				features.extend(env.server_caps());
				State::Bind(auth)
			}
		};
		features.push_str("</stream:features>");
		out.push(Action::Write(features));
	}

	fn header_xml(&self, domain: &str, to: Option<&str>) -> String {
		header_xml(&self.stream_id, domain, to)
	}

	fn element(&mut self, el: Element, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		match std::mem::replace(&mut self.state, State::Closed) {
			State::StartTls => {
				if el.is("starttls", ns::TLS) {
					self.state = State::Upgrading;
					out.push(Action::Write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".into()));
					out.push(Action::StartTls);
				} else if el.is("auth", ns::SASL) {
					// RFC 6120 §6.4.5: SASL needs TLS here first.
					self.state = State::StartTls;
					env.login_failed(None, sasl::Failure::EncryptionRequired.as_str(), "authentication before STARTTLS");
					out.push(Action::Write(sasl_failure(sasl::Failure::EncryptionRequired, Some("use STARTTLS first"))));
				} else {
					self.before_auth(&el, env, out);
				}
			}
			State::Auth { failures } if env.registration() && is_registration(&el) => {
				self.state = State::Auth { failures };
				out.push(Action::PreAuth(el));
			}
			State::Auth { failures } if el.ns() == sasl2::NS => self.authenticate2(el, failures, env, out),
			State::Auth { failures } => self.auth(el, None, failures, env, out),
			State::Sasl { exchange, failures, v2: Some(req) } => self.sasl2_element(el, exchange, req, failures, env, out),
			State::Sasl { exchange, failures, v2: None } => self.auth(el, Some(exchange), failures, env, out),
			State::Upgrade(u) => self.upgrade_element(el, u, env, out),
			State::Bind(auth) if el.ns() == ns::SM => {
				if el.name() == "resume"
					&& let (Some(previd), Some(h)) = (el.attr("previd"), el.attr("h").and_then(|h| h.parse::<u32>().ok()))
				{
					out.push(Action::SmResume { user: auth.user().to_owned(), previd: previd.to_owned(), h });
				} else {
					out.push(Action::Write(sm_failed("unexpected-request")));
				}
				self.state = State::Bind(auth);
			}
			State::Bind(auth) => self.bind(el, auth, env, out),
			State::Established(jid) => {
				self.state = State::Established(jid);
				if el.ns() == ns::SM {
					self.stream_management(&el, env, out);
				} else if el.ns() == ns::CSI {
					match el.name() {
						"active" => out.push(Action::Csi(true)),
						"inactive" => out.push(Action::Csi(false)),
						_ => {}
					}
				} else {
					self.stanza(el, env, out);
				}
			}
			State::Header(phase) => {
				self.state = State::Header(phase);
				self.fail(StreamError::with_text(StreamCondition::BadFormat, "expected a stream header"), env, out);
			}
			State::Upgrading | State::Closed => {}
		}
	}

	/// Anything but negotiation before authentication.
	fn before_auth(&mut self, el: &Element, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		let err = match Stanza::parse(el.clone()) {
			Err(Err(NotAStanza::UnknownName)) => StreamCondition::UnsupportedStanzaType,
			Err(Err(NotAStanza::WrongNamespace)) => StreamCondition::InvalidNamespace,
			_ => StreamCondition::NotAuthorized,
		};
		self.fail(StreamError::with_text(err, "authenticate first"), env, out);
	}

	/// XEP-0474: what this stream advertised, for SCRAM's downgrade
	/// protection hash. SASL and SASL2 list the same mechanisms; FAST's are
	/// not among them (ejabberd #4331: Monal fails when they are hashed).
	fn ssdp_input(&self) -> String {
		let mechs: Vec<&str> = Mechanism::offered(self.channel_binding.is_some(), self.sha256_offered).collect();
		let cbs: &[&str] = &["tls-exporter"];
		sasl::scram::ssdp_input(&mechs, self.channel_binding.is_some().then_some(cbs))
	}

	/// A mechanism by name, if it is offered on this stream.
	fn mechanism(&self, name: &str) -> Result<Mechanism, &'static str> {
		let Some(mech) = Mechanism::parse(name) else {
			return Err("a mechanism this server does not offer");
		};
		if matches!(mech, Mechanism::Scram { hash: ScramHash::Sha256, .. }) && !self.sha256_offered {
			return Err("SCRAM-SHA-256, which is not offered while some account has SCRAM-SHA-1 keys only");
		}
		if matches!(mech, Mechanism::Scram { plus: true, .. }) && self.channel_binding.is_none() {
			// We never offered it here: a client that saw our offer would not ask.
			return Err("-PLUS, which is not offered on this connection");
		}
		Ok(mech)
	}

	fn auth(&mut self, el: Element, exchange: Option<Exchange>, failures: u32, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		let step = if el.is("auth", ns::SASL) {
			let mech = match self.mechanism(el.attr("mechanism").unwrap_or_default()) {
				Ok(m) => m,
				Err(why) => {
					return self.sasl_step1(None, Step::Failure(sasl::Failure::InvalidMechanism, Attempt::Other, why), failures, env, out);
				}
			};
			let text = el.text();
			let initial = match text.trim() {
				"" => None,
				"=" => Some(Vec::new()),
				t => match B64.decode(t) {
					Ok(d) => Some(d),
					Err(_) => {
						let step = Step::Failure(sasl::Failure::IncorrectEncoding, Attempt::Other, "initial response not base64");
						return self.sasl_step1(None, step, failures, env, out);
					}
				},
			};
			let (ex, step) = Exchange::start_with_ssdp(
				mech,
				initial.as_deref(),
				self.channel_binding.as_deref(),
				!self.client_lacks_binding,
				Some(self.ssdp_input()),
				env,
			);
			return self.sasl_step1(Some(ex), step, failures, env, out);
		} else if el.is("response", ns::SASL) {
			let Some(mut ex) = exchange else {
				let why = "a response without an exchange";
				return self.sasl_step1(None, Step::Failure(sasl::Failure::MalformedRequest, Attempt::Other, why), failures, env, out);
			};
			let data = match B64.decode(el.text().trim()) {
				Ok(d) => d,
				Err(_) => {
					let step = Step::Failure(sasl::Failure::IncorrectEncoding, Attempt::Other, "response not base64");
					return self.sasl_step1(None, step, failures, env, out);
				}
			};
			let step = ex.respond(&data, env);
			return self.sasl_step1(Some(ex), step, failures, env, out);
		} else if el.is("abort", ns::SASL) {
			Step::Failure(sasl::Failure::Aborted, Attempt::Other, "the client aborted")
		} else {
			return self.before_auth(&el, env, out);
		};
		self.sasl_step1(None, step, failures, env, out);
	}

	fn sasl_step1(&mut self, exchange: Option<Exchange>, step: Step, failures: u32, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		self.sasl_step(exchange, None, step, failures, env, out)
	}

	/// The server's answer to a SASL step, in RFC 6120's form or, with
	/// `v2`, in SASL2's; failures are counted and limited the same way.
	fn sasl_step(
		&mut self,
		exchange: Option<Exchange>,
		v2: Option<Box<sasl2::Request>>,
		step: Step,
		failures: u32,
		env: &mut dyn StreamEnv,
		out: &mut Vec<Action>,
	) {
		match step {
			Step::Challenge(data) => {
				out.push(Action::Write(match v2 {
					Some(_) => sasl2::challenge(&data),
					None => format!("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>", B64.encode(data)),
				}));
				self.state = match exchange {
					Some(exchange) => State::Sasl { exchange, failures, v2 },
					None => State::Auth { failures },
				};
			}
			Step::Success(auth, data) if v2.is_some() => self.sasl2_success(auth, data, v2.unwrap_or_default(), failures, env, out),
			Step::Success(auth, data) => {
				let data = data.map(|d| B64.encode(d)).unwrap_or_default();
				out.push(Action::Write(format!("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{data}</success>")));
				out.push(Action::Restart);
				self.header_sent = false;
				self.state = State::Header(Phase::Authenticated(auth));
			}
			Step::Failure(failure, attempt, why) => {
				let user = match &attempt {
					Attempt::Guess(user) => Some(user.as_str()),
					_ => None,
				};
				// A -PLUS try with a binding we lack is a step of the client's
				// negotiation (it retries at once), not a failed login to log.
				if !matches!(attempt, Attempt::UnsupportedBinding) {
					env.login_failed(user, failure.as_str(), why);
				}
				let text = match (&attempt, failure) {
					(Attempt::ServerFault, _) => Some("the server cannot check passwords right now; try again later"),
					(_, sasl::Failure::TemporaryAuthFailure) => Some("too many failed attempts; try again later"),
					(_, sasl::Failure::AccountDisabled) => Some("this account is locked; ask the admin of this server"),
					_ => None,
				};
				let failures = match attempt {
					Attempt::Guess(user) => {
						env.auth_failed(Some(&user));
						failures + 1
					}
					Attempt::UnsupportedBinding => {
						// COMPAT: slixmpp 1.8 (and other clients without
						// tls-exporter) try -PLUS with tls-unique on TLS 1.3,
						// then fall back with the "y" flag. They saw our offer,
						// so that "y" is no downgrade and must not fail.
						self.client_lacks_binding = true;
						failures
					}
					// Not a guess, but a failure all the same (an abort, bad
					// base64, a wrong nonce): left uncounted, one connection
					// could try for ever.
					Attempt::Other => {
						env.auth_failed(None);
						failures + 1
					}
					Attempt::ServerFault => failures,
					Attempt::Disabled => failures + 1,
				};
				out.push(Action::Write(match v2 {
					Some(_) => sasl2::failure(failure, text),
					None => sasl_failure(failure, text),
				}));
				if failures >= env.auth_retries() {
					self.fail(
						StreamError::with_text(StreamCondition::PolicyViolation, "too many failed authentication attempts"),
						env,
						out,
					);
					return;
				}
				self.state = State::Auth { failures };
			}
		}
	}

	fn bind(&mut self, el: Element, auth: Authenticated, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		let stanza = match Stanza::parse(el) {
			Ok(s) => s,
			Err(Ok((el, err))) => {
				self.state = State::Bind(auth);
				return out.push(Action::Write(crate::xmpp::stanza::error_reply(&el, &err).to_xml(ns::CLIENT)));
			}
			Err(Err(_)) => {
				return self.fail(StreamError::with_text(StreamCondition::UnsupportedStanzaType, "bind a resource first"), env, out);
			}
		};
		let bind = stanza.payload().filter(|p| p.is("bind", ns::BIND));
		let Some(bind) = bind.filter(|_| stanza.ty == StanzaType::Iq(IqType::Set)) else {
			return self.fail(StreamError::with_text(StreamCondition::NotAuthorized, "bind a resource first"), env, out);
		};
		let requested = bind.child("resource", ns::BIND).map(|r| r.text()).filter(|r| !r.trim().is_empty());
		match env.bind(&auth, requested.as_deref()) {
			Ok(jid) => {
				let mut reply = stanza.iq_result();
				reply.remove_attr("from");
				reply.remove_attr("to");
				reply.push(Element::new("bind", ns::BIND).with_child(Element::new("jid", ns::BIND).with_text(jid.as_str())));
				out.push(Action::Write(reply.to_xml(ns::CLIENT)));
				out.push(Action::Bound(jid.clone()));
				self.state = State::Established(jid);
			}
			Err(e) => {
				let err = match e {
					BindError::BadResource => StanzaError::with_text(Condition::BadRequest, "invalid resource"),
					BindError::TooManyResources => {
						StanzaError::with_text(Condition::ResourceConstraint, "too many sessions for this account")
					}
				};
				out.push(Action::Write(stanza.error_reply(&err).to_xml(ns::CLIENT)));
				self.state = State::Bind(auth);
			}
		}
	}

	/// XEP-0198 nonzas on a bound stream.
	fn stream_management(&mut self, el: &Element, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		match (el.name(), self.handled) {
			("enable", None) => {
				self.handled = Some(0);
				out.push(Action::SmEnable { resume: matches!(el.attr("resume"), Some("true" | "1")) });
			}
			("enable", Some(_)) => out.push(Action::Write(sm_failed("unexpected-request"))),
			("r", Some(h)) => out.push(Action::SmRequest(h)),
			("a", Some(_)) => match el.attr("h").and_then(|h| h.parse::<u32>().ok()) {
				Some(h) => out.push(Action::SmAck(h)),
				None => self.fail(StreamError::with_text(StreamCondition::BadFormat, "<a/> without a valid h"), env, out),
			},
			("resume", _) => out.push(Action::Write(sm_failed("unexpected-request"))),
			// <r/> or <a/> before <enable/>: nothing is counted yet.
			_ => {}
		}
	}

	fn stanza(&mut self, el: Element, env: &mut dyn StreamEnv, out: &mut Vec<Action>) {
		let State::Established(jid) = &self.state else { return };
		let is_stanza = matches!(el.name(), "message" | "presence" | "iq") && el.ns() == ns::CLIENT;
		if is_stanza && let Some(h) = &mut self.handled {
			*h = h.wrapping_add(1);
		}
		let mut stanza = match Stanza::parse(el) {
			Ok(s) => s,
			Err(Ok((el, err))) => {
				if el.attr("type") != Some("error") {
					let mut reply = crate::xmpp::stanza::error_reply(&el, &err);
					reply.set_attr("to", jid.as_str());
					out.push(Action::Send(reply));
				}
				return;
			}
			Err(Err(NotAStanza::UnknownName)) => {
				return self.fail(StreamError::new(StreamCondition::UnsupportedStanzaType), env, out);
			}
			Err(Err(NotAStanza::WrongNamespace)) => {
				return self.fail(StreamError::new(StreamCondition::InvalidNamespace), env, out);
			}
		};
		// RFC 6120 §8.1.2.1: the server stamps `from`. Another account's JID
		// is refused (§4.9.3.9), never relayed; another resource of this
		// account is overridden: Converse.js 14, reloaded, resumes its
		// XEP-0198 session and then names a resource it made up anew.
		if let Some(from) = &stanza.from
			&& from.to_bare() != jid.to_bare()
		{
			return self.fail(StreamError::with_text(StreamCondition::InvalidFrom, "from does not match your address"), env, out);
		}
		stanza.set_from(jid.clone().into());
		out.push(Action::Stanza(stanza));
	}
}

/// Features of an authenticated stream before binding.
const AUTHENTICATED_FEATURES: &str = concat!(
	"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>",
	"<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>",
	"<ver xmlns='urn:xmpp:features:rosterver'/>",
	"<sub xmlns='urn:xmpp:features:pre-approval'/>",
	"<sm xmlns='urn:xmpp:sm:3'/>",
	"<csi xmlns='urn:xmpp:csi:0'/>",
);

/// Our stream header (RFC 6120 §4.7).
pub fn header_xml(id: &str, domain: &str, to: Option<&str>) -> String {
	let to = to.map(|t| format!(" to='{}'", escape_attr(t))).unwrap_or_default();
	format!(
		"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
		 id='{}' from='{}'{to} version='1.0' xml:lang='en'>",
		escape_attr(id),
		escape_attr(domain)
	)
}

/// An iq for in-band registration or a pre-authentication token.
fn is_registration(el: &Element) -> bool {
	el.is("iq", ns::CLIENT) && el.children().next().is_some_and(|p| p.is("query", ns::REGISTER) || p.is("preauth", ns::PARS))
}

/// XEP-0198 `<failed/>` with a stanza error condition.
pub fn sm_failed(condition: &str) -> String {
	format!("<failed xmlns='urn:xmpp:sm:3'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")
}

fn sasl_failure(f: sasl::Failure, text: Option<&str>) -> String {
	let text = text.map(|t| format!("<text>{}</text>", escape_attr(t))).unwrap_or_default();
	format!("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><{}/>{text}</failure>", f.as_str())
}

pub mod inline;

#[cfg(test)]
mod tests;
