//! XEP-0092: Software Version, for the server itself. The operating system
//! is not disclosed.

use super::{Cx, Feature, IqRoute, Target};
use crate::xmpp::element::Element;
use crate::xmpp::error::StanzaError;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "version",
	spec: "XEP-0092 1.1",
	disco: &[ns::VERSION],
	account: &[],
	iq: &[IqRoute { ty: IqType::Get, ns: ns::VERSION, name: "query", target: Target::Server, handler: version }],
};

fn version(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let query = Element::new("query", ns::VERSION)
		.with_child(Element::new("name", ns::VERSION).with_text("Xerra"))
		.with_child(Element::new("version", ns::VERSION).with_text(env!("CARGO_PKG_VERSION")));
	cx.reply(iq.iq_result().with_child(query));
	Ok(())
}
