//! XEP-0202: Entity Time. The server keeps UTC.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Cx, Feature, IqRoute, Target};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "time",
	spec: "XEP-0202 2.0",
	disco: &[ns::TIME],
	account: &[],
	iq: &[IqRoute { ty: IqType::Get, ns: ns::TIME, name: "time", target: Target::Server, handler: time }],
};

fn time(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	let utc = stamp(cx.now).ok_or(Condition::InternalServerError)?;
	let el = Element::new("time", ns::TIME)
		.with_child(Element::new("tzo", ns::TIME).with_text("+00:00"))
		.with_child(Element::new("utc", ns::TIME).with_text(utc));
	cx.reply(iq.iq_result().with_child(el));
	Ok(())
}

/// XEP-0082 DateTime in UTC with second precision, e.g. `2026-11-24T19:20:03Z`.
pub fn stamp(t: std::time::SystemTime) -> Option<String> {
	let dt = OffsetDateTime::from(t).replace_nanosecond(0).ok()?;
	dt.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
	#[test]
	fn stamp_is_xep_0082() {
		let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
		assert_eq!(super::stamp(t).as_deref(), Some("2023-11-14T22:13:20Z"));
	}
}
