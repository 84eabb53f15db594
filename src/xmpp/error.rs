//! Errors as they go on the wire: RFC 6120 stream errors (§4.9) and stanza
//! errors (§8.3). Every internal error becomes one of these here, in one place.

use super::element::Element;
use super::ns;

/// RFC 6120 §4.9.3 defined stream error conditions (the ones Xerra sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCondition {
	/// The entity has sent XML that cannot be processed.
	BadFormat,
	/// A new session with the same resource replaced this one.
	Conflict,
	/// No traffic for longer than the configured timeout.
	ConnectionTimeout,
	/// The `to` of the stream header names a domain we do not serve.
	HostUnknown,
	/// A stanza without the `to` or `from` a server-side stream needs.
	ImproperAddressing,
	/// The server had a problem that prevents it from serving the stream.
	InternalServerError,
	/// A `from` that does not match the authenticated identity.
	InvalidFrom,
	/// Wrong stream or content namespace.
	InvalidNamespace,
	/// Stanzas sent before authentication or binding.
	NotAuthorized,
	/// The XML is not well-formed.
	NotWellFormed,
	/// A local limit was exceeded (size, depth, rate, retries).
	PolicyViolation,
	/// None of the others (XEP-0198 handled-count-too-high).
	UndefinedCondition,
	/// The server is shutting down.
	SystemShutdown,
	/// Comments, processing instructions, DTDs or entity references.
	RestrictedXml,
	/// A first-level element the server does not understand.
	UnsupportedStanzaType,
	/// The header's version is missing or below 1.0.
	UnsupportedVersion,
	/// The server is too busy (connection limits).
	ResourceConstraint,
}

impl StreamCondition {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::BadFormat => "bad-format",
			Self::Conflict => "conflict",
			Self::ConnectionTimeout => "connection-timeout",
			Self::HostUnknown => "host-unknown",
			Self::ImproperAddressing => "improper-addressing",
			Self::InternalServerError => "internal-server-error",
			Self::InvalidFrom => "invalid-from",
			Self::InvalidNamespace => "invalid-namespace",
			Self::NotAuthorized => "not-authorized",
			Self::NotWellFormed => "not-well-formed",
			Self::PolicyViolation => "policy-violation",
			Self::UndefinedCondition => "undefined-condition",
			Self::SystemShutdown => "system-shutdown",
			Self::RestrictedXml => "restricted-xml",
			Self::UnsupportedStanzaType => "unsupported-stanza-type",
			Self::UnsupportedVersion => "unsupported-version",
			Self::ResourceConstraint => "resource-constraint",
		}
	}
}

/// A stream error: fatal for the stream, sent just before `</stream:stream>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
	pub condition: StreamCondition,
	pub text: Option<String>,
}

impl StreamError {
	pub fn new(condition: StreamCondition) -> StreamError {
		StreamError { condition, text: None }
	}

	pub fn with_text(condition: StreamCondition, text: impl Into<String>) -> StreamError {
		StreamError { condition, text: Some(text.into()) }
	}

	/// `<stream:error>` ready to write (the caller closes the stream after it).
	pub fn to_xml(&self) -> String {
		let mut s = String::from("<stream:error><");
		s.push_str(self.condition.as_str());
		s.push_str(" xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
		if let Some(text) = &self.text {
			s.push_str("<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>");
			super::element::escape_into(&mut s, text);
			s.push_str("</text>");
		}
		s.push_str("</stream:error>");
		s
	}
}

impl std::fmt::Display for StreamError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(self.condition.as_str())?;
		if let Some(t) = &self.text {
			write!(f, " ({t})")?;
		}
		Ok(())
	}
}

/// RFC 6120 §8.3.2 error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
	Auth,
	Cancel,
	Continue,
	Modify,
	Wait,
}

impl ErrorType {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Auth => "auth",
			Self::Cancel => "cancel",
			Self::Continue => "continue",
			Self::Modify => "modify",
			Self::Wait => "wait",
		}
	}
}

/// RFC 6120 §8.3.3 defined stanza error conditions (the ones Xerra sends);
/// each carries the error type the RFC recommends for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
	/// The sender has sent a stanza containing XML that does not conform.
	BadRequest,
	/// Access cannot be granted because an existing resource exists with the same name.
	Conflict,
	/// The feature represented in the XML stanza is not implemented.
	FeatureNotImplemented,
	/// The requesting entity does not possess the necessary permissions.
	Forbidden,
	/// The server has experienced a misconfiguration or other internal error.
	InternalServerError,
	/// The addressed JID or item requested cannot be found.
	ItemNotFound,
	/// The sending entity has provided an XMPP address that is malformed.
	JidMalformed,
	/// The request does not meet criteria defined by the recipient (e.g. a limit).
	NotAcceptable,
	/// The recipient does not allow any entity to perform the action.
	NotAllowed,
	/// The sender needs to provide credentials.
	NotAuthorized,
	/// The entity has violated a local service policy.
	PolicyViolation,
	/// The intended recipient is temporarily unavailable.
	RecipientUnavailable,
	/// A remote server cannot be found.
	RemoteServerNotFound,
	/// A remote server or component is there but did not keep up.
	RemoteServerTimeout,
	/// The requester must register (join as a member) first.
	RegistrationRequired,
	/// The server is lacking the system resources necessary.
	ResourceConstraint,
	/// The recipient does not provide the requested service.
	ServiceUnavailable,
	/// The error condition is not one of those defined.
	UndefinedCondition,
	/// The recipient understood the request but was not expecting it now.
	UnexpectedRequest,
}

impl Condition {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::BadRequest => "bad-request",
			Self::Conflict => "conflict",
			Self::FeatureNotImplemented => "feature-not-implemented",
			Self::Forbidden => "forbidden",
			Self::InternalServerError => "internal-server-error",
			Self::ItemNotFound => "item-not-found",
			Self::JidMalformed => "jid-malformed",
			Self::NotAcceptable => "not-acceptable",
			Self::NotAllowed => "not-allowed",
			Self::NotAuthorized => "not-authorized",
			Self::PolicyViolation => "policy-violation",
			Self::RecipientUnavailable => "recipient-unavailable",
			Self::RemoteServerNotFound => "remote-server-not-found",
			Self::RemoteServerTimeout => "remote-server-timeout",
			Self::RegistrationRequired => "registration-required",
			Self::ResourceConstraint => "resource-constraint",
			Self::ServiceUnavailable => "service-unavailable",
			Self::UndefinedCondition => "undefined-condition",
			Self::UnexpectedRequest => "unexpected-request",
		}
	}

	/// The type RFC 6120 §8.3.3 gives in its examples for each condition.
	pub fn default_type(self) -> ErrorType {
		match self {
			Self::BadRequest | Self::JidMalformed | Self::NotAcceptable | Self::PolicyViolation => ErrorType::Modify,
			Self::NotAuthorized | Self::Forbidden | Self::RegistrationRequired => ErrorType::Auth,
			Self::RecipientUnavailable | Self::ResourceConstraint | Self::UnexpectedRequest | Self::RemoteServerTimeout => ErrorType::Wait,
			_ => ErrorType::Cancel,
		}
	}
}

/// A stanza error: the request failed, the stream goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
	pub condition: Condition,
	pub kind: ErrorType,
	pub text: Option<String>,
	/// An application-specific condition (RFC 6120 §8.3.4), e.g. XEP-0060's
	/// `<precondition-not-met/>`.
	pub app: Option<Box<Element>>,
}

impl StanzaError {
	pub fn new(condition: Condition) -> StanzaError {
		StanzaError { condition, kind: condition.default_type(), text: None, app: None }
	}

	/// With an application-specific condition element `name` in `ns`.
	pub fn with_app(condition: Condition, app: Element) -> StanzaError {
		StanzaError { app: Some(Box::new(app)), ..StanzaError::new(condition) }
	}

	pub fn with_text(condition: Condition, text: impl Into<String>) -> StanzaError {
		StanzaError { condition, kind: condition.default_type(), text: Some(text.into()), app: None }
	}

	/// The `<error/>` child element.
	pub fn to_element(&self) -> Element {
		let mut el = Element::new("error", ns::CLIENT)
			.with_attr("type", self.kind.as_str())
			.with_child(Element::new(self.condition.as_str(), ns::STANZAS));
		if let Some(text) = &self.text {
			el.push(Element::new("text", ns::STANZAS).with_text(text.as_str()));
		}
		if let Some(app) = &self.app {
			el.push((**app).clone());
		}
		el
	}
}

impl From<Condition> for StanzaError {
	fn from(c: Condition) -> StanzaError {
		StanzaError::new(c)
	}
}

/// Storage failures, for every feature: a disk that refuses writes (full,
/// or failing) is `resource-constraint`, type wait (the writer tries again
/// by itself, so the sender may too); anything else `internal-server-error`.
impl From<&crate::store::StoreError> for StanzaError {
	fn from(e: &crate::store::StoreError) -> StanzaError {
		match e {
			crate::store::StoreError::Unavailable(_) => {
				StanzaError::with_text(Condition::ResourceConstraint, "the server cannot store anything right now; try again later")
			}
			_ => StanzaError::new(Condition::InternalServerError),
		}
	}
}

impl From<crate::store::StoreError> for StanzaError {
	fn from(e: crate::store::StoreError) -> StanzaError {
		StanzaError::from(&e)
	}
}

impl std::fmt::Display for StanzaError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(self.condition.as_str())?;
		if let Some(t) = &self.text {
			write!(f, " ({t})")?;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn stream_error_xml() {
		let e = StreamError::with_text(StreamCondition::PolicyViolation, "stanza too big");
		assert_eq!(
			e.to_xml(),
			"<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
			 <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>stanza too big</text></stream:error>"
		);
	}

	#[test]
	fn storage_errors_map_to_one_condition_each() {
		use crate::store::StoreError;
		let full = StanzaError::from(StoreError::Unavailable("No space left on device".into()));
		assert_eq!((full.condition, full.kind), (Condition::ResourceConstraint, ErrorType::Wait));
		assert_eq!(StanzaError::from(StoreError::Corrupt("x")).condition, Condition::InternalServerError);
	}

	#[test]
	fn stanza_error_element() {
		let e = StanzaError::new(Condition::ServiceUnavailable);
		assert_eq!(
			e.to_element().to_xml(ns::CLIENT),
			"<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
		);
	}
}
