//! Why an admin command failed: one type for every face, rendered as text
//! (command line, web console) and as an XMPP condition (XEP-0133) here.

use crate::store::StoreError;
use crate::xmpp::error::Condition;

#[derive(Debug, Clone)]
pub enum AdminError {
	/// The box has no domain yet.
	NotSetUp,
	/// No account of that address (`user@domain`).
	NoSuchUser(String),
	/// No such other thing (what was looked for: `room x@rooms.y`, `component z`...).
	NotFound(String),
	/// It exists already (what: `alice@office.lan`, `group sales`...).
	Exists(String),
	/// A value the command cannot take (a bad name, an empty password...): the text says which.
	Invalid(String),
	/// A named limit is reached: the text says which.
	Limit(String),
	/// The actor may not do this (not an admin, or not on the box's own console).
	Forbidden(String),
	Storage(StoreError),
	/// Something else went wrong (setup, certificates): the text says what.
	Failed(String),
}

impl From<StoreError> for AdminError {
	fn from(e: StoreError) -> AdminError {
		AdminError::Storage(e)
	}
}

impl std::fmt::Display for AdminError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::NotSetUp => f.write_str(
				"this box is not set up yet: run the setup wizard (`xerra setup`, or the web page), or `xerra config set domain DOMAIN` first",
			),
			Self::NoSuchUser(jid) => write!(f, "no user {jid}"),
			Self::NotFound(what) => write!(f, "no {what}"),
			Self::Exists(what) => write!(f, "{what} already exists"),
			Self::Invalid(why) | Self::Limit(why) | Self::Failed(why) => f.write_str(why),
			Self::Forbidden(why) => write!(f, "forbidden: {why}"),
			Self::Storage(e) => e.fmt(f),
		}
	}
}

impl std::error::Error for AdminError {}

impl AdminError {
	/// The stanza error condition (RFC 6120 §8.3.3) a XEP-0133 command answers with.
	pub fn condition(&self) -> Condition {
		match self {
			Self::NotSetUp => Condition::ServiceUnavailable,
			Self::NoSuchUser(_) | Self::NotFound(_) => Condition::ItemNotFound,
			Self::Exists(_) => Condition::Conflict,
			Self::Invalid(_) => Condition::BadRequest,
			Self::Forbidden(_) => Condition::Forbidden,
			Self::Storage(StoreError::Unavailable(_)) | Self::Limit(_) => Condition::ResourceConstraint,
			Self::Storage(_) | Self::Failed(_) => Condition::InternalServerError,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn each_error_has_a_text_and_a_condition() {
		let e = AdminError::NoSuchUser("bob@office.lan".into());
		assert_eq!((e.to_string().as_str(), e.condition()), ("no user bob@office.lan", Condition::ItemNotFound));
		assert_eq!(AdminError::Exists("group sales".into()).condition(), Condition::Conflict);
		assert_eq!(AdminError::Forbidden("x".into()).condition(), Condition::Forbidden);
		assert!(AdminError::NotSetUp.to_string().contains("not set up yet"));
		assert_eq!(AdminError::Storage(StoreError::Unavailable("full".into())).condition(), Condition::ResourceConstraint);
	}
}
