//! XEP-0199: XMPP Ping. The server answers pings to itself and, on the
//! account's behalf, to bare JIDs.

use super::{Cx, Feature, IqRoute, Target};
use crate::xmpp::error::StanzaError;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "ping",
	spec: "XEP-0199 2.0.1",
	disco: &[ns::PING],
	account: &[],
	iq: &[IqRoute { ty: IqType::Get, ns: ns::PING, name: "ping", target: Target::Both, handler: pong }],
};

fn pong(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.reply(iq.iq_result());
	Ok(())
}
