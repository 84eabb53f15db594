//! Jabber Identifiers (JIDs) per RFC 7622: splitting, preparing each part
//! (PRECIS profiles of RFC 8265 for localpart and resourcepart, RFC 7622 §3.2
//! rules for the domainpart) and the bare/full distinction.
//!
//! A [`Jid`] holds its prepared form in one `String` plus the offsets of the
//! separating `@` and `/`, so accessors are slices and equality is string
//! equality of the canonical form.

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv6Addr;
use std::num::NonZeroU16;
use std::str::FromStr;

use precis_profiles::precis_core::profile::{PrecisFastInvocation, Rules, stabilize};
use precis_profiles::precis_core::{IdentifierClass, StringClass};
use precis_profiles::{OpaqueString, UsernameCaseMapped};

/// RFC 7622 §3.1: every part is at most 1023 bytes once prepared.
const MAX_PART: usize = 1023;

/// RFC 7622 §3.3.1: characters a localpart must not contain.
const LOCAL_FORBIDDEN: &[char] = &['"', '&', '\'', '/', ':', '<', '>', '@'];

/// Why a string is not a valid JID; mapped to the XMPP `jid-malformed` condition elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JidError {
	/// The JID, or its domainpart, is empty.
	Empty,
	LocalpartInvalid,
	LocalpartTooLong,
	DomainInvalid,
	DomainTooLong,
	/// The resourcepart is not allowed by OpaqueString, or one was given where none may be.
	ResourceInvalid,
	ResourceTooLong,
	EmptyLocalpart,
	EmptyResource,
}

impl fmt::Display for JidError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(match self {
			JidError::Empty => "empty JID or domainpart",
			JidError::LocalpartInvalid => "invalid localpart",
			JidError::LocalpartTooLong => "localpart longer than 1023 bytes",
			JidError::DomainInvalid => "invalid domainpart",
			JidError::DomainTooLong => "domainpart longer than 1023 bytes",
			JidError::ResourceInvalid => "invalid resourcepart",
			JidError::ResourceTooLong => "resourcepart longer than 1023 bytes",
			JidError::EmptyLocalpart => "empty localpart",
			JidError::EmptyResource => "empty resourcepart",
		})
	}
}

impl std::error::Error for JidError {}

/// Prepares a localpart alone (used for account names and SCRAM usernames).
pub fn prep_localpart(s: &str) -> Result<String, JidError> {
	localpart(s).map(Cow::into_owned)
}

/// Prepares a resourcepart alone (used for resource binding).
pub fn prep_resource(s: &str) -> Result<String, JidError> {
	resourcepart(s).map(Cow::into_owned)
}

/// Prepares a password with the PRECIS OpaqueString profile (RFC 8265 §4.2), used by SASL; None if invalid.
pub fn prep_password(s: &str) -> Option<String> {
	OpaqueString::enforce(s).ok().map(Cow::into_owned)
}

/// The shape every part shares: non-empty, prepared by `prep`, and at most
/// [`MAX_PART`] bytes once prepared.
fn bounded<'a>(
	s: &'a str,
	empty: JidError,
	long: JidError,
	prep: impl FnOnce(&'a str) -> Result<Cow<'a, str>, JidError>,
) -> Result<Cow<'a, str>, JidError> {
	if s.is_empty() {
		return Err(empty);
	}
	// No PRECIS mapping shrinks text more than threefold (fullwidth to ASCII,
	// Hangul jamo composition), so this only spares hostile inputs the work.
	if s.len() > MAX_PART * 4 {
		return Err(long);
	}
	let p = prep(s)?;
	if p.len() > MAX_PART {
		return Err(long);
	}
	Ok(p)
}

/// RFC 7622 §3.3: UsernameCaseMapped, then the localpart-specific exclusions.
/// Enforcement repeats until stable (RFC 8264 §7): precis-profiles checks the
/// string class before case mapping, so U+13BC (Cherokee) would lowercase to
/// U+AB8C, which the class disallows, and the result would not reparse.
fn localpart(s: &str) -> Result<Cow<'_, str>, JidError> {
	let enforce = |s| stabilize(s, |s| UsernameCaseMapped::enforce(s));
	let p = bounded(s, JidError::EmptyLocalpart, JidError::LocalpartTooLong, |s| enforce(s).map_err(|_| JidError::LocalpartInvalid))?;
	// Checked after enforcement: width mapping turns U+FF20 into '@'.
	if p.contains(LOCAL_FORBIDDEN) {
		return Err(JidError::LocalpartInvalid);
	}
	Ok(p)
}

/// RFC 7622 §3.4: OpaqueString; case and width are preserved.
fn resourcepart(s: &str) -> Result<Cow<'_, str>, JidError> {
	let enforce = |s| stabilize(s, |s| OpaqueString::enforce(s));
	bounded(s, JidError::EmptyResource, JidError::ResourceTooLong, |s| enforce(s).map_err(|_| JidError::ResourceInvalid))
}

/// RFC 7622 §3.2: a DNS name (ASCII or internationalized) or an IPv6 literal.
fn domainpart(s: &str) -> Result<Cow<'_, str>, JidError> {
	// §3.2.1: one trailing dot goes before any other canonicalization.
	let s = s.strip_suffix('.').unwrap_or(s);
	let d = bounded(s, JidError::Empty, JidError::DomainTooLong, |s| {
		if !s.is_ascii() {
			return map_idn(s);
		}
		Ok(match s.bytes().any(|b| b.is_ascii_uppercase()) {
			true => Cow::Owned(s.to_ascii_lowercase()),
			false => Cow::Borrowed(s),
		})
	})?;
	let valid = match d.strip_prefix('[') {
		// Kept as written (lowercased), not re-serialised in RFC 5952 form.
		Some(rest) => rest.strip_suffix(']').is_some_and(|ip| ip.parse::<Ipv6Addr>().is_ok()),
		// IdentifierClass stands in for IDNA2008's repertoire: outside ASCII
		// it rejects spaces, controls, symbols and compatibility characters.
		None => (d.is_ascii() || IdentifierClass::default().allows(&*d).is_ok()) && d.split('.').all(valid_label),
	};
	if !valid {
		return Err(JidError::DomainInvalid);
	}
	Ok(d)
}

/// The RFC 5895 mappings RFC 7622 §3.2.2 asks for (label separators, width,
/// lowercase, NFC), borrowed from the PRECIS rules since no IDNA crate is in
/// the tree. Limitations: no Punycode length or IDNA bidi checks.
fn map_idn(s: &str) -> Result<Cow<'static, str>, JidError> {
	// §3.2: ideographic full stops separate labels too.
	let dotted = s.replace(['\u{3002}', '\u{ff0e}', '\u{ff61}'], ".");
	let p = UsernameCaseMapped::new();
	// str::to_lowercase, unlike the profile's own rule, also maps titlecase.
	let d = stabilize(dotted, |d| p.normalization_rule(p.width_mapping_rule(d)?.to_lowercase()));
	let d = d.map_err(|_| JidError::DomainInvalid)?;
	Ok(Cow::Owned(d.into_owned()))
}

/// One DNS label: LDH (plus '_', seen in real deployments) for its ASCII
/// characters, no hyphen at either end, and at most 63 bytes if all-ASCII.
fn valid_label(l: &str) -> bool {
	!l.is_empty()
		&& (l.len() <= 63 || !l.is_ascii())
		&& !l.starts_with('-')
		&& !l.ends_with('-')
		&& l.chars().all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Byte offset of a separator. Prepared parts are non-empty and at most
/// [`MAX_PART`] bytes, so offsets lie in 1..=2047 and this never yields None.
fn offset(n: usize) -> Option<NonZeroU16> {
	u16::try_from(n).ok().and_then(NonZeroU16::new)
}

/// Joins already prepared parts.
fn assemble(node: Option<&str>, domain: &str, resource: Option<&str>) -> Result<Jid, JidError> {
	let len = node.map_or(0, |n| n.len() + 1) + domain.len() + resource.map_or(0, |r| r.len() + 1);
	let mut s = String::with_capacity(len);
	let mut at = None;
	if let Some(n) = node {
		s.push_str(n);
		at = Some(offset(s.len()).ok_or(JidError::LocalpartTooLong)?);
		s.push('@');
	}
	s.push_str(domain);
	let mut slash = None;
	if let Some(r) = resource {
		slash = Some(offset(s.len()).ok_or(JidError::DomainTooLong)?);
		s.push('/');
		s.push_str(r);
	}
	Ok(Jid { s, at, slash })
}

/// Any JID, normalised (prepared): one String plus two offsets, like xmpp-rs' jid crate.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid {
	s: String,
	/// Offset of the '@' ending the localpart.
	at: Option<NonZeroU16>,
	/// Offset of the '/' starting the resourcepart.
	slash: Option<NonZeroU16>,
}

impl Jid {
	pub fn parse(s: &str) -> Result<Jid, JidError> {
		if s.is_empty() {
			return Err(JidError::Empty);
		}
		// RFC 7622 §3.1: the resource follows the first '/', and the localpart
		// ends at the first '@' before it; later ones belong to the resource.
		let (rest, res) = s.split_once('/').map_or((s, None), |(a, b)| (a, Some(b)));
		let (node, domain) = rest.split_once('@').map_or((None, rest), |(a, b)| (Some(a), b));
		Jid::from_parts(node, domain, res)
	}

	/// Builds from parts, each prepared/validated like parse would.
	pub fn from_parts(node: Option<&str>, domain: &str, resource: Option<&str>) -> Result<Jid, JidError> {
		let node = node.map(localpart).transpose()?;
		let domain = domainpart(domain)?;
		let resource = resource.map(resourcepart).transpose()?;
		assemble(node.as_deref(), &domain, resource.as_deref())
	}

	pub fn node(&self) -> Option<&str> {
		self.at.map(|a| &self.s[..usize::from(a.get())])
	}
	pub fn domain(&self) -> &str {
		let start = self.at.map_or(0, |a| usize::from(a.get()) + 1);
		&self.s[start..self.bare_len()]
	}
	pub fn resource(&self) -> Option<&str> {
		self.slash.map(|p| &self.s[usize::from(p.get()) + 1..])
	}
	pub fn is_bare(&self) -> bool {
		self.slash.is_none()
	}
	pub fn as_str(&self) -> &str {
		&self.s
	}

	/// Drops the resource.
	pub fn to_bare(&self) -> BareJid {
		let (s, at) = (self.s[..self.bare_len()].to_owned(), self.at);
		BareJid(Jid { s, at, slash: None })
	}

	/// Err gives back the (bare) JID unchanged.
	pub fn try_into_full(self) -> Result<FullJid, Jid> {
		match self.slash {
			Some(_) => Ok(FullJid(self)),
			None => Err(self),
		}
	}

	fn bare_len(&self) -> usize {
		self.slash.map_or(self.s.len(), |p| usize::from(p.get()))
	}
}

/// Display shows the prepared JID; Debug the same, quoted.
macro_rules! fmt_as_str {
    ($($t:ident),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self.as_str(), f)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }
    )*};
}
fmt_as_str!(Jid, BareJid, FullJid);

impl FromStr for Jid {
	type Err = JidError;
	fn from_str(s: &str) -> Result<Jid, JidError> {
		Jid::parse(s)
	}
}

/// Accessors and conversions shared by [`BareJid`] and [`FullJid`].
macro_rules! wrapper {
    ($($t:ident),*) => {$(
        impl $t {
            pub fn node(&self) -> Option<&str> {
                self.0.node()
            }
            pub fn domain(&self) -> &str {
                self.0.domain()
            }
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
            pub fn as_jid(&self) -> &Jid {
                &self.0
            }
            pub fn into_jid(self) -> Jid {
                self.0
            }
        }
        impl From<$t> for Jid {
            fn from(j: $t) -> Jid {
                j.0
            }
        }
    )*};
}

/// A JID without resource.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BareJid(Jid);

/// A JID with a resource.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FullJid(Jid);

wrapper!(BareJid, FullJid);

impl BareJid {
	/// Fails with `ResourceInvalid` if `s` carries a resource.
	pub fn parse(s: &str) -> Result<BareJid, JidError> {
		let jid = Jid::parse(s)?;
		if !jid.is_bare() {
			return Err(JidError::ResourceInvalid);
		}
		Ok(BareJid(jid))
	}

	pub fn new(node: Option<&str>, domain: &str) -> Result<BareJid, JidError> {
		Jid::from_parts(node, domain, None).map(BareJid)
	}

	pub fn with_resource(&self, resource: &str) -> Result<FullJid, JidError> {
		let r = resourcepart(resource)?;
		assemble(self.node(), self.domain(), Some(&r)).map(FullJid)
	}
}

impl FullJid {
	/// Fails with `EmptyResource` if `s` is bare.
	pub fn parse(s: &str) -> Result<FullJid, JidError> {
		Jid::parse(s)?.try_into_full().map_err(|_| JidError::EmptyResource)
	}

	pub fn resource(&self) -> &str {
		// Always Some: a FullJid is only built from a JID with a resource.
		self.0.resource().unwrap_or_default()
	}

	pub fn to_bare(&self) -> BareJid {
		self.0.to_bare()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use JidError::*;

	fn p(s: &str) -> Result<String, JidError> {
		Jid::parse(s).map(|j| j.to_string())
	}

	fn parts(s: &str) -> (Option<String>, String, Option<String>) {
		let j = Jid::parse(s).unwrap();
		let own = |x: Option<&str>| x.map(str::to_owned);
		(own(j.node()), j.domain().to_owned(), own(j.resource()))
	}

	#[test]
	fn table() {
		let long = "a".repeat(1024);
		let dom = vec!["abc"; 256].join("."); // exactly 1023 bytes
		let cases: &[(&str, Result<&str, JidError>)] = &[
			("Alice@Example.ORG/Res", Ok("alice@example.org/Res")),
			("a@b/c/d", Ok("a@b/c/d")),
			("a@example.org.", Ok("a@example.org")),
			("a@[2001:DB8::1]/r", Ok("a@[2001:db8::1]/r")),
			("_xmpp.example.org", Ok("_xmpp.example.org")),
			("127.0.0.1", Ok("127.0.0.1")),
			("ÄLICE@example.org", Ok("älice@example.org")),
			("A\u{308}lice@x", Ok("\u{e4}lice@x")), // NFC
			// UsernameCaseMapped maps width; OpaqueString keeps it.
			("ＡＢＣ@example.org/ＡＢＣ", Ok("abc@example.org/ＡＢＣ")),
			// Compatibility characters: not in identifiers, fine in resources.
			("\u{fb01}@x", Err(LocalpartInvalid)),
			("x/\u{fb01}", Ok("x/\u{fb01}")),
			("a＠b@x", Err(LocalpartInvalid)),     // fullwidth '@' becomes a real one
			("\u{13bc}@x", Err(LocalpartInvalid)), // lowercases to a disallowed char
			// NFC composes; titlecase U+1FBC: lowered in domains, kept in resources.
			("\u{3ac}\u{345}@\u{1fbc}\u{301}/\u{1fbc}", Ok("\u{1fb4}@\u{1fb4}/\u{1fbc}")),
			("a@ÉXAMPLE.org", Ok("a@éxample.org")),
			("a@例え。jp", Ok("a@例え.jp")),
			("ＥＸＡＭＰＬＥ.com", Ok("example.com")),
			("a@bü\u{3000}cher.de", Err(DomainInvalid)),
			("a@bü\u{7}cher.de", Err(DomainInvalid)),
			("a@bü!cher.de", Err(DomainInvalid)),
			("a@ü／x", Err(DomainInvalid)),
			("a@☃.net", Err(DomainInvalid)),
			("a@[not::an::ip]", Err(DomainInvalid)),
			("a@[::1", Err(DomainInvalid)),
			("a@-x.org", Err(DomainInvalid)),
			("a@x-.org", Err(DomainInvalid)),
			("a@exa mple.org", Err(DomainInvalid)),
			("a@x..org", Err(DomainInvalid)),
			("a@example.org../r", Err(DomainInvalid)),
			("", Err(Empty)),
			("/r", Err(Empty)),
			("a@", Err(Empty)),
			("a@.", Err(Empty)),
			("@example.org", Err(EmptyLocalpart)),
			("example.org/", Err(EmptyResource)),
			("a\"b@x", Err(LocalpartInvalid)),
			("a b@x", Err(LocalpartInvalid)),
			("a@x/\u{7}", Err(ResourceInvalid)),
			(&format!("{long}@x"), Err(LocalpartTooLong)),
			(&format!("x/{long}"), Err(ResourceTooLong)),
			(&format!("{}.org", &long[..64]), Err(DomainInvalid)),
			(&format!("{dom}a"), Err(DomainTooLong)),
			(&format!("{}@x", "a".repeat(100_000)), Err(LocalpartTooLong)),
		];
		for (input, want) in cases {
			let got = p(input);
			assert_eq!(got.as_deref().map_err(|e| *e), *want, "{input}");
			if let Ok(s) = got {
				assert_eq!(p(&s).as_deref(), Ok(&*s), "prepared form is stable");
			}
		}
		for c in ['"', '&', '\'', ':', '<', '>', '/', '@'] {
			assert_eq!(prep_localpart(&format!("a{c}b")), Err(LocalpartInvalid));
		}
	}

	#[test]
	fn splits_per_rfc7622() {
		let s = |x: &str| x.to_owned();
		assert_eq!(parts("a@b/c@d"), (Some(s("a")), s("b"), Some(s("c@d"))));
		assert_eq!(parts("a/b@c"), (None, s("a"), Some(s("b@c"))));
		assert_eq!(parts("[::1]"), (None, s("[::1]"), None));
		assert_eq!(parts("A@B/C"), (Some(s("a")), s("b"), Some(s("C"))));
	}

	#[test]
	fn length_limits() {
		let ok = "a".repeat(1023);
		let dom = vec!["abc"; 256].join(".");
		let (n, d, r) = parts(&format!("{ok}@{dom}./{ok}")); // trailing dot not counted
		assert_eq!((n.as_deref(), &*d, r.as_deref()), (Some(&*ok), &*dom, Some(&*ok)));
		// 1023 fullwidth letters are 3069 input bytes but 1023 prepared ones.
		assert_eq!(prep_localpart(&"ａ".repeat(1023)).map(|s| s.len()), Ok(1023));
		assert_eq!(prep_resource(""), Err(EmptyResource));
		assert_eq!(prep_localpart(""), Err(EmptyLocalpart));
		assert_eq!(prep_localpart("Juliet"), Ok("juliet".into()));
	}

	#[test]
	fn bare_and_full() {
		assert_eq!(BareJid::parse("a@b/c"), Err(ResourceInvalid));
		assert_eq!(FullJid::parse("a@b"), Err(EmptyResource));
		let full = FullJid::parse("A@B/C").unwrap();
		assert_eq!((full.node(), full.domain(), full.resource()), (Some("a"), "b", "C"));
		let bare = full.to_bare();
		assert_eq!(bare, BareJid::parse("a@b").unwrap());
		assert_eq!((bare.as_str(), bare.as_jid().resource()), ("a@b", None));
		assert!(bare.as_jid().is_bare() && !full.as_jid().is_bare());
		assert_eq!(bare.with_resource("C"), Ok(full.clone()));
		assert_eq!(bare.with_resource(""), Err(EmptyResource));
		let j: Jid = full.clone().into();
		assert_eq!(j.try_into_full(), Ok(full.clone()));
		let j: Jid = bare.clone().into();
		assert_eq!(j.clone().try_into_full(), Err(j));
		assert_eq!(BareJid::new(Some("X"), "Y").unwrap().as_str(), "x@y");
		assert_eq!(BareJid::new(Some("a@b"), "y"), Err(LocalpartInvalid));
		assert_eq!(Jid::from_parts(None, "a/b", None), Err(DomainInvalid));
		assert_eq!(Jid::from_parts(Some(""), "y", None), Err(EmptyLocalpart));
		let j: Jid = "x/r".parse().unwrap();
		assert_eq!(j.to_bare().into_jid(), Jid::parse("x").unwrap());
		let shown = format!("{full} {full:?} {bare:?} {:?}", full.as_jid());
		assert_eq!(shown, r#"a@b/C "a@b/C" "a@b" "a@b/C""#);
		assert_eq!(DomainTooLong.to_string(), "domainpart longer than 1023 bytes");
	}

	#[test]
	fn passwords() {
		let pw = "correct horse battery staple!";
		assert_eq!(prep_password(pw).as_deref(), Some(pw));
		assert_eq!(prep_password("Pass\u{a0}word").as_deref(), Some("Pass word"));
		assert_eq!(prep_password(""), None);
		assert_eq!(prep_password("a\u{7}"), None);
	}

	#[test]
	#[cfg(target_pointer_width = "64")]
	fn compact() {
		assert!(std::mem::size_of::<Jid>() <= 32);
		assert_eq!(size_of::<Option<Jid>>(), size_of::<Jid>());
	}
}
