//! XEP-0388 Extensible SASL Profile (SASL2) with what rides inline in it:
//! XEP-0386 Bind2 (with XEP-0198 enable, XEP-0280 carbons and XEP-0352
//! inactive inside the bind), XEP-0198 resumption, and XEP-0484 FAST token
//! requests. Reads the client's `<authenticate/>` and writes the server's
//! elements; no state and no I/O (the stream core in `stream/sasl2.rs`
//! drives the exchange).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::sasl::Failure;
use crate::xmpp::element::{Element, escape, escape_attr};
use crate::xmpp::ns;

pub const NS: &str = "urn:xmpp:sasl:2";
pub const BIND2: &str = "urn:xmpp:bind:0";
pub const FAST: &str = "urn:xmpp:fast:0";
/// XEP-0480 SASL upgrade tasks, and its SCRAM task's data.
pub const UPGRADE: &str = "urn:xmpp:sasl:upgrade:0";
pub const SCRAM_UPGRADE: &str = "urn:xmpp:scram-upgrade:0";
/// The one upgrade task offered: SCRAM-SHA-256 keys for an account that
/// has SCRAM-SHA-1 keys only (imported from Prosody or ejabberd).
pub const UPGR_SCRAM_SHA_256: &str = "UPGR-SCRAM-SHA-256";

/// XEP-0388 §3: who the client is; `id` is stable per installation, so it
/// names a device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgent {
	pub id: String,
	pub software: Option<String>,
	pub device: Option<String>,
}

/// XEP-0386 `<bind/>` with the features the client wants inline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindRequest {
	pub tag: Option<String>,
	/// XEP-0280 `<enable/>`.
	pub carbons: bool,
	/// XEP-0352 `<inactive/>`.
	pub inactive: bool,
	/// XEP-0198 `<enable/>`; `Some(true)` when resumption is asked for.
	pub sm_enable: Option<bool>,
}

/// XEP-0484 `<fast/>`: the client authenticates with a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FastUse {
	pub invalidate: bool,
	pub count: Option<u64>,
}

/// A parsed `<authenticate/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
	pub mechanism: String,
	/// Decoded initial response; `None` when absent.
	pub initial: Option<Vec<u8>>,
	pub user_agent: Option<UserAgent>,
	pub bind: Option<BindRequest>,
	/// XEP-0198 inline `<resume previd h/>`.
	pub resume: Option<(String, u32)>,
	/// XEP-0484 `<request-token mechanism/>`.
	pub request_token: Option<String>,
	pub fast: Option<FastUse>,
	/// XEP-0480 upgrade tasks asked for.
	pub upgrade: Vec<String>,
}

fn truthy(v: Option<&str>) -> bool {
	matches!(v, Some("true" | "1"))
}

/// Decodes SASL2 base64 data: `<x/>` and `<x>=</x>` are empty.
pub fn decode(text: &str) -> Result<Vec<u8>, (Failure, &'static str)> {
	let t: String = text.split_whitespace().collect();
	match t.as_str() {
		"" | "=" => Ok(Vec::new()),
		t => B64.decode(t).map_err(|_| (Failure::IncorrectEncoding, "SASL2 data not base64")),
	}
}

/// Reads `<authenticate/>`; unknown children are ignored (XEP-0388 §3 lets
/// other extensions add theirs).
pub fn parse(el: &Element) -> Result<Request, (Failure, &'static str)> {
	let Some(mechanism) = el.attr("mechanism") else {
		return Err((Failure::InvalidMechanism, "authenticate without a mechanism"));
	};
	let mut req = Request { mechanism: mechanism.to_owned(), ..Request::default() };
	for c in el.children() {
		match (c.ns(), c.name()) {
			(NS, "initial-response") => req.initial = Some(decode(&c.text())?),
			(NS, "user-agent") => {
				let Some(id) = c.attr("id").filter(|id| !id.trim().is_empty()) else {
					return Err((Failure::MalformedRequest, "user-agent without an id"));
				};
				let text = |name| c.child(name, NS).map(|e| e.text()).filter(|t| !t.trim().is_empty());
				req.user_agent = Some(UserAgent { id: id.to_owned(), software: text("software"), device: text("device") });
			}
			(BIND2, "bind") => {
				let mut b =
					BindRequest { tag: c.child("tag", BIND2).map(|t| t.text()).filter(|t| !t.trim().is_empty()), ..Default::default() };
				for f in c.children() {
					match (f.ns(), f.name()) {
						(ns::CARBONS, "enable") => b.carbons = true,
						(ns::CSI, "inactive") => b.inactive = true,
						(ns::SM, "enable") => b.sm_enable = Some(truthy(f.attr("resume"))),
						_ => {}
					}
				}
				req.bind = Some(b);
			}
			(ns::SM, "resume") => {
				let (Some(previd), Some(h)) = (c.attr("previd"), c.attr("h").and_then(|h| h.parse::<u32>().ok())) else {
					return Err((Failure::MalformedRequest, "resume without previd or h"));
				};
				req.resume = Some((previd.to_owned(), h));
			}
			(FAST, "request-token") => match c.attr("mechanism") {
				Some(m) => req.request_token = Some(m.to_owned()),
				None => return Err((Failure::MalformedRequest, "request-token without a mechanism")),
			},
			(UPGRADE, "upgrade") => req.upgrade.push(c.text().trim().to_owned()),
			(FAST, "fast") => {
				req.fast = Some(FastUse { invalidate: truthy(c.attr("invalidate")), count: c.attr("count").and_then(|n| n.parse().ok()) })
			}
			_ => {}
		}
	}
	Ok(req)
}

/// The `<authentication/>` stream feature: the same mechanisms as RFC 6120
/// SASL, and what may be inlined (`fast` lists the FAST mechanisms, if any).
pub fn feature(mechanisms: &[&str], fast: &[&str]) -> String {
	let mut f = String::from("<authentication xmlns='urn:xmpp:sasl:2'>");
	for m in mechanisms {
		f.push_str("<mechanism>");
		f.push_str(m);
		f.push_str("</mechanism>");
	}
	f.push_str(concat!(
		"<inline>",
		"<bind xmlns='urn:xmpp:bind:0'><inline>",
		"<feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:csi:0'/><feature var='urn:xmpp:sm:3'/>",
		"</inline></bind>",
		"<sm xmlns='urn:xmpp:sm:3'/>",
	));
	if !fast.is_empty() {
		f.push_str("<fast xmlns='urn:xmpp:fast:0'>");
		for m in fast {
			f.push_str("<mechanism>");
			f.push_str(m);
			f.push_str("</mechanism>");
		}
		f.push_str("</fast>");
	}
	f.push_str("</inline>");
	f.push_str("<upgrade xmlns='urn:xmpp:sasl:upgrade:0'>UPGR-SCRAM-SHA-256</upgrade>");
	f.push_str("</authentication>");
	f
}

/// XEP-0480 §2.2: authenticated, but the task asked for comes first.
pub fn continue_task(additional: Option<&[u8]>, task: &str) -> String {
	let data = additional.map(|d| format!("<additional-data>{}</additional-data>", B64.encode(d))).unwrap_or_default();
	format!("<continue xmlns='urn:xmpp:sasl:2'>{data}<tasks><task>{}</task></tasks></continue>", escape(task))
}

/// XEP-0480 §3: the salt and iterations for the client's SaltedPassword.
pub fn scram_upgrade_salt(salt: &[u8], iterations: u32) -> String {
	format!(
		"<task-data xmlns='urn:xmpp:sasl:2'><salt xmlns='urn:xmpp:scram-upgrade:0' iterations='{iterations}'>{}</salt></task-data>",
		B64.encode(salt)
	)
}

pub fn challenge(data: &[u8]) -> String {
	format!("<challenge xmlns='urn:xmpp:sasl:2'>{}</challenge>", B64.encode(data))
}

/// `<success/>`: the additional data, the authorization identifier (the full
/// JID once bound), then the inline results (`inner`, already XML).
pub fn success(additional: Option<&[u8]>, authzid: &str, inner: &str) -> String {
	let data = additional.map(|d| format!("<additional-data>{}</additional-data>", B64.encode(d))).unwrap_or_default();
	format!(
		"<success xmlns='urn:xmpp:sasl:2'>{data}<authorization-identifier>{}</authorization-identifier>{inner}</success>",
		escape(authzid)
	)
}

/// `<failure/>` with the RFC 6120 condition (XEP-0388 §3.6).
pub fn failure(f: Failure, text: Option<&str>) -> String {
	let text = text.map(|t| format!("<text>{}</text>", escape_attr(t))).unwrap_or_default();
	format!("<failure xmlns='urn:xmpp:sasl:2'><{} xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>{text}</failure>", f.as_str())
}

/// XEP-0386: the resource for a tag: the tag (at most 32 characters, so a
/// long one cannot make the resource too long) and 8 random hex digits, so
/// two installations with one tag never replace each other.
pub fn resource(tag: Option<&str>, random: &mut dyn FnMut(&mut [u8])) -> String {
	let mut raw = [0u8; 4];
	random(&mut raw);
	let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
	match tag.map(str::trim).filter(|t| !t.is_empty()) {
		Some(t) => format!("{}.{hex}", t.chars().filter(|c| !c.is_control()).take(32).collect::<String>()),
		None => hex,
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::xmpp::reader::XmlLimits;
	use crate::xmpp::reader::parse_stored;

	fn el(xml: &str) -> Element {
		parse_stored(xml, NS, XmlLimits { max_stanza_bytes: 65536, max_depth: 16, max_attrs: 16, max_elements: 1024 }).unwrap()
	}

	#[test]
	fn parses_everything_inline() {
		let r = parse(&el("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'>\
			<initial-response>biwsbj1hLHI9Yg==</initial-response>\
			<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'><software>AwesomeXMPP</software><device>Kiva's Phone</device></user-agent>\
			<bind xmlns='urn:xmpp:bind:0'><tag>AwesomeXMPP</tag><enable xmlns='urn:xmpp:carbons:2'/><inactive xmlns='urn:xmpp:csi:0'/>\
			<enable xmlns='urn:xmpp:sm:3' resume='true'/></bind>\
			<resume xmlns='urn:xmpp:sm:3' previd='abc' h='7'/>\
			<request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/>\
			<fast xmlns='urn:xmpp:fast:0' count='3' invalidate='1'/></authenticate>"))
		.unwrap();
		assert_eq!(r.mechanism, "SCRAM-SHA-256");
		assert_eq!(r.initial.as_deref(), Some(&b"n,,n=a,r=b"[..]));
		let ua = r.user_agent.unwrap();
		assert_eq!(
			(ua.id.as_str(), ua.software.as_deref(), ua.device.as_deref()),
			("d4565fa7-4d72-4749-b3d3-740edbf87770", Some("AwesomeXMPP"), Some("Kiva's Phone"))
		);
		assert_eq!(r.bind, Some(BindRequest { tag: Some("AwesomeXMPP".into()), carbons: true, inactive: true, sm_enable: Some(true) }));
		assert_eq!(r.resume, Some(("abc".into(), 7)));
		assert_eq!(r.request_token.as_deref(), Some("HT-SHA-256-NONE"));
		assert_eq!(r.fast, Some(FastUse { invalidate: true, count: Some(3) }));
	}

	#[test]
	fn empty_and_bad_data() {
		let r = parse(&el("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>=</initial-response></authenticate>"));
		assert_eq!(r.unwrap().initial, Some(Vec::new()));
		let r = parse(&el("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'/>"));
		assert_eq!(r.unwrap().initial, None);
		let r =
			parse(&el("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>!!</initial-response></authenticate>"));
		assert_eq!(r.unwrap_err().0, Failure::IncorrectEncoding);
		assert_eq!(parse(&el("<authenticate xmlns='urn:xmpp:sasl:2'/>")).unwrap_err().0, Failure::InvalidMechanism);
		let r = parse(&el("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><user-agent/></authenticate>"));
		assert_eq!(r.unwrap_err().0, Failure::MalformedRequest);
	}

	#[test]
	fn resources_from_tags() {
		let mut n = 0u8;
		let mut random = |b: &mut [u8]| {
			n += 1;
			b.fill(n)
		};
		assert_eq!(resource(Some("Conversations"), &mut random), "Conversations.01010101");
		assert_eq!(resource(Some("Conversations"), &mut random), "Conversations.02020202");
		assert_eq!(resource(None, &mut random), "03030303");
		assert_eq!(resource(Some(&"x".repeat(100)), &mut random).len(), 32 + 9);
	}

	#[test]
	fn answers() {
		assert_eq!(
			success(Some(b"v=x"), "a@b/c", "<x/>"),
			"<success xmlns='urn:xmpp:sasl:2'><additional-data>dj14</additional-data><authorization-identifier>a@b/c</authorization-identifier><x/></success>"
		);
		assert!(failure(Failure::NotAuthorized, None).contains("<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"));
		assert!(
			feature(&["PLAIN"], &["HT-SHA-256-NONE"])
				.contains("<fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast>")
		);
	}
}
