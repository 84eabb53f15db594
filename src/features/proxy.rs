//! XEP-0065 SOCKS5 Bytestreams: the proxy at `proxy.<domain>`, for file
//! transfers (Jingle, XEP-0260) between clients that cannot connect to each
//! other directly. Here is its XMPP side: discovery, its network address
//! (§6.3.1) and activation (§6.3.3); `net::proxy` moves the bytes. Only
//! accounts of this server may use it, and it is announced only while it
//! listens.

use super::{Cx, Feature};
use crate::proto::socks5::stream_hash;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza, StanzaType};

pub const FEATURE: Feature = Feature { name: "proxy65", spec: "XEP-0065 1.8.2", disco: &[], account: &[], iq: &[] };

/// `proxy.<domain>`.
pub fn service_domain(domain: &str) -> String {
	format!("proxy.{domain}")
}

/// Is `jid` the proxy, and is it listening?
pub fn is_ours(jid: &Jid, cx: &Cx) -> bool {
	jid.node().is_none()
		&& jid.resource().is_none()
		&& jid.domain().strip_prefix("proxy.").is_some_and(|d| d == cx.domain())
		&& cx.server.proxy_port.get().is_some()
}

/// The server's disco#items entry for the proxy, while it listens.
pub fn disco_item(cx: &Cx) -> Option<Element> {
	cx.server.proxy_port.get()?;
	let jid = service_domain(cx.domain());
	Some(Element::new("item", ns::DISCO_ITEMS).with_attr("jid", jid).with_attr("name", "File transfer proxy"))
}

/// A stanza for the proxy from a local session.
pub fn handle(stanza: &Stanza, cx: &mut Cx) {
	let StanzaType::Iq(t) = stanza.ty else { return };
	if stanza.is_error_or_result() {
		return;
	}
	let answer = if cx.is_remote() { Err(StanzaError::new(Condition::Forbidden)) } else { iq(stanza, t, cx) };
	if let Err(e) = answer {
		cx.reply(stanza.error_reply(&e));
	}
}

fn iq(stanza: &Stanza, t: IqType, cx: &mut Cx) -> Result<(), StanzaError> {
	let q = stanza.payload().ok_or(Condition::BadRequest)?;
	match (t, q.ns()) {
		(IqType::Get, ns::DISCO_INFO) => {
			let q = super::disco::service_info("proxy", "bytestreams", "File transfer proxy", &[ns::BYTESTREAMS, ns::DISCO_INFO]);
			cx.reply(stanza.iq_result().with_child(q));
			Ok(())
		}
		(IqType::Get, ns::DISCO_ITEMS) => {
			cx.reply(stanza.iq_result().with_child(Element::new("query", ns::DISCO_ITEMS)));
			Ok(())
		}
		(IqType::Get, ns::BYTESTREAMS) => {
			// §6.3.1: where to connect.
			let port = cx.server.proxy_port.get().ok_or(Condition::ServiceUnavailable)?;
			let configured = &cx.server.config.proxy_host;
			let host = if configured.is_empty() { cx.domain() } else { configured.as_str() };
			let host = Element::new("streamhost", ns::BYTESTREAMS)
				.with_attr("jid", service_domain(cx.domain()))
				.with_attr("host", host)
				.with_attr("port", port.to_string());
			cx.reply(stanza.iq_result().with_child(Element::new("query", ns::BYTESTREAMS).with_child(host)));
			Ok(())
		}
		(IqType::Set, ns::BYTESTREAMS) => activate(stanza, q, cx),
		_ => Err(StanzaError::new(Condition::ServiceUnavailable)),
	}
}

/// §6.3.3: the initiator starts the stream between itself and the target.
/// Only the initiator can: the stream's hash includes its full JID.
fn activate(stanza: &Stanza, q: &Element, cx: &mut Cx) -> Result<(), StanzaError> {
	let sid = q.attr("sid").filter(|s| !s.is_empty()).ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "a sid is needed"))?;
	let target = q.child("activate", ns::BYTESTREAMS).map(Element::text).filter(|t| !t.is_empty());
	let target = target.ok_or_else(|| StanzaError::with_text(Condition::BadRequest, "whom to activate the stream with"))?;
	let hash = stream_hash(sid, cx.jid.as_str(), &target);
	let ready = cx.server.proxy.borrow_mut().activate(&hash);
	match ready {
		Ok(()) => {
			cx.reply(stanza.iq_result());
			Ok(())
		}
		Err(crate::net::proxy::NotReady::Unknown) => {
			Err(StanzaError::with_text(Condition::ItemNotFound, "nobody connected for this stream"))
		}
		Err(crate::net::proxy::NotReady::OneSided) => {
			Err(StanzaError::with_text(Condition::NotAcceptable, "only one party is connected for this stream"))
		}
	}
}
