//! The legacy `session` establishment of RFC 3921 §3, kept for old clients;
//! draft-cridland-xmpp-session-01 lets us mark it optional, and then it is a
//! no-op that must still be answered.

use super::{Cx, Feature, IqRoute, Target};
use crate::xmpp::error::StanzaError;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "session",
	spec: "RFC 3921 §3 (optional, draft-cridland-xmpp-session-01)",
	disco: &[],
	account: &[],
	iq: &[IqRoute { ty: IqType::Set, ns: ns::SESSION, name: "session", target: Target::Both, handler: establish }],
};

fn establish(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.reply(iq.iq_result());
	Ok(())
}
