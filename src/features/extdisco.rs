//! XEP-0215: External Service Discovery, how call apps (Conversations,
//! Monal, Dino, Gajim, Movim) find the STUN/TURN server and get TURN
//! credentials: `<services/>` (optionally of one `type`) and
//! `<credentials/>`, in `urn:xmpp:extdisco:2` and the older `:1`.
//! Announced and answered only while `turn` is not `off`; TURN entries need
//! a secret (`turn_secret`). Only the server's own accounts ask: the router
//! refuses other servers' requests.

use super::turn::{Mode, TurnSettings, credential};
use super::{Cx, Feature, IqRoute, Target};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::stanza::{IqType, Stanza};

pub const NS: &str = "urn:xmpp:extdisco:2";
/// The version before `expires` and `<credentials/>` by type (older Conversations, Psi).
pub const NS_1: &str = "urn:xmpp:extdisco:1";

pub const FEATURE: Feature = Feature {
	name: "extdisco",
	spec: "XEP-0215 1.0.0",
	disco: &[NS, NS_1],
	account: &[],
	iq: &[
		IqRoute { ty: IqType::Get, ns: NS, name: "services", target: Target::Server, handler: services },
		IqRoute { ty: IqType::Get, ns: NS, name: "credentials", target: Target::Server, handler: credentials },
		IqRoute { ty: IqType::Get, ns: NS_1, name: "services", target: Target::Server, handler: services },
		IqRoute { ty: IqType::Get, ns: NS_1, name: "credentials", target: Target::Server, handler: credentials },
	],
};

/// Is XEP-0215 announced?
pub fn offered(t: &TurnSettings) -> bool {
	t.mode != Mode::Off
}

/// One service entry (§3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
	pub ty: &'static str,
	pub transport: &'static str,
	pub host: String,
	pub port: u16,
	/// TURN REST credentials for TURN entries.
	pub credential: Option<super::turn::Credential>,
}

/// Every service for `account` (a bare JID) at `now`.
pub fn list(t: &TurnSettings, domain: &str, account: &str, now: std::time::SystemTime) -> Vec<Service> {
	if !offered(t) {
		return Vec::new();
	}
	let host = t.host(domain).to_owned();
	let entry = |ty, transport, port| Service { ty, transport, host: host.clone(), port, credential: None };
	let mut out = vec![entry("stun", "udp", t.port)];
	if t.has_turn() {
		let cred = credential(&t.secret, account, now, t.credential_ttl);
		let mut turn = vec![entry("turn", "udp", t.port), entry("turn", "tcp", t.port)];
		if let Some(port) = t.tls_port {
			turn.push(entry("turns", "tcp", port));
		}
		out.extend(turn.into_iter().map(|s| Service { credential: Some(cred.clone()), ..s }));
	}
	out
}

fn element(s: &Service, ns: &str) -> Element {
	let mut el = Element::new("service", ns)
		.with_attr("type", s.ty)
		.with_attr("transport", s.transport)
		.with_attr("host", s.host.as_str())
		.with_attr("port", s.port.to_string());
	if let Some(c) = &s.credential {
		el.set_attr("username", c.username.as_str());
		el.set_attr("password", c.password.as_str());
		// §3.2: the credentials are given, and time-limited.
		el.set_attr("restricted", "1");
		if ns == NS
			&& let Some(stamp) = super::time::stamp(c.expires)
		{
			el.set_attr("expires", stamp);
		}
	}
	el
}

fn account(cx: &Cx) -> Result<String, StanzaError> {
	if cx.user().is_empty() {
		return Err(StanzaError::new(Condition::Forbidden));
	}
	Ok(format!("{}@{}", cx.user(), cx.domain()))
}

/// §3.1: the services, all or of one `type`.
fn services(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let t = &cx.server.config.turn;
	if !offered(t) {
		return Err(StanzaError::new(Condition::ServiceUnavailable));
	}
	let q = iq.payload().ok_or(Condition::BadRequest)?;
	let ns = q.ns().to_owned();
	let wanted = q.attr("type").map(str::to_owned);
	let all = list(t, cx.domain(), &account(cx)?, cx.now);
	let mut out = Element::new("services", &ns);
	if let Some(ty) = &wanted {
		out.set_attr("type", ty.as_str());
	}
	for s in all.iter().filter(|s| wanted.as_deref().is_none_or(|w| w == s.ty)) {
		out.push(element(s, &ns));
	}
	cx.reply(iq.iq_result().with_child(out));
	Ok(())
}

/// §3.3: fresh credentials for the service named by `type` and `host`
/// (and `port`, if given).
fn credentials(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let t = &cx.server.config.turn;
	if !offered(t) {
		return Err(StanzaError::new(Condition::ServiceUnavailable));
	}
	let q = iq.payload().ok_or(Condition::BadRequest)?;
	let ns = q.ns().to_owned();
	let asked = q.child("service", &ns).ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "which service (type and host)"))?;
	let (ty, host) = match (asked.attr("type"), asked.attr("host")) {
		(Some(ty), Some(host)) => (ty.to_owned(), host.to_owned()),
		_ => return Err(StanzaError::with_text(Condition::BadRequest, "a service needs type and host")),
	};
	let port = match asked.attr("port") {
		Some(p) => Some(p.parse::<u16>().map_err(|_| StanzaError::with_text(Condition::BadRequest, "port is not a port number"))?),
		None => None,
	};
	let all = list(t, cx.domain(), &account(cx)?, cx.now);
	let found: Vec<&Service> = all
		.iter()
		.filter(|s| s.ty == ty && s.host.eq_ignore_ascii_case(&host) && port.is_none_or(|p| p == s.port) && s.credential.is_some())
		.collect();
	if found.is_empty() {
		return Err(StanzaError::with_text(Condition::ItemNotFound, "no such service with credentials here"));
	}
	let mut out = Element::new("credentials", &ns);
	for s in found {
		out.push(element(s, &ns));
	}
	cx.reply(iq.iq_result().with_child(out));
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::{Duration, UNIX_EPOCH};

	#[test]
	fn services_follow_the_settings() {
		let now = UNIX_EPOCH + Duration::from_secs(1_000);
		let mut t = TurnSettings::default();
		assert!(list(&t, "office.lan", "a@office.lan", now).is_empty(), "off: nothing");
		t.mode = Mode::External;
		let only_stun = list(&t, "office.lan", "a@office.lan", now);
		assert_eq!(only_stun.len(), 1, "no secret: STUN only");
		assert_eq!((only_stun[0].ty, only_stun[0].host.as_str(), only_stun[0].port), ("stun", "office.lan", 3478));
		t.secret = "0123456789abcdef".into();
		t.host = "turn.office.example".into();
		t.tls_port = Some(5349);
		let all = list(&t, "office.lan", "a@office.lan", now);
		let kinds: Vec<(&str, &str, u16)> = all.iter().map(|s| (s.ty, s.transport, s.port)).collect();
		assert_eq!(kinds, [("stun", "udp", 3478), ("turn", "udp", 3478), ("turn", "tcp", 3478), ("turns", "tcp", 5349)]);
		let c = all[1].credential.as_ref().unwrap();
		assert_eq!(c.username, "87400:a@office.lan");
		let el = element(&all[1], NS);
		assert_eq!(el.attr("expires"), Some("1970-01-02T00:16:40Z"));
		assert_eq!(el.attr("host"), Some("turn.office.example"));
		assert_eq!(el.attr("password"), Some(c.password.as_str()));
		assert_eq!(element(&all[1], NS_1).attr("expires"), None);
		assert_eq!(element(&all[0], NS).attr("username"), None);
	}
}
