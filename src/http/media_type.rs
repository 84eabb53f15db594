//! Media types as RFC 9110 §8.3.1 writes them, for the type an uploader
//! gives its file (XEP-0363 `content-type`), which we later send back as a
//! header to whoever downloads it. Anything outside the grammar (CR, LF,
//! spaces in a token, non-ASCII) is refused, so a stored type can never add
//! a header or end the head early.
//!
//! ```text
//! media-type = type "/" subtype parameters
//! parameters = *( OWS ";" OWS [ parameter ] )
//! parameter  = token "=" ( token / quoted-string )
//! ```

/// Longest media type accepted: real ones are far shorter.
pub const MAX_LEN: usize = 255;

/// RFC 9110 §5.6.2 tchar.
fn tchar(b: u8) -> bool {
	b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Length of the token at the start of `s` (0: none).
fn token(s: &[u8]) -> usize {
	s.iter().take_while(|b| tchar(**b)).count()
}

/// Length of the quoted-string at the start of `s` (RFC 9110 §5.6.4), if
/// it is one; obs-text (non-ASCII) is not taken.
fn quoted(s: &[u8]) -> Option<usize> {
	if s.first() != Some(&b'"') {
		return None;
	}
	let mut i = 1;
	while i < s.len() {
		match s[i] {
			b'"' => return Some(i + 1),
			b'\\' if s.get(i + 1).is_some_and(|b| *b == b'\t' || (0x20..0x7f).contains(b)) => i += 2,
			b'\t' | 0x20..=0x7e if s[i] != b'\\' => i += 1,
			_ => return None,
		}
	}
	None
}

fn ows(s: &[u8], mut i: usize) -> usize {
	while s.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
		i += 1;
	}
	i
}

/// Whether `s` is a media type by the RFC 9110 grammar (and not too long).
pub fn is_valid(s: &str) -> bool {
	let s = s.as_bytes();
	if s.len() > MAX_LEN {
		return false;
	}
	let ty = token(s);
	if ty == 0 || s.get(ty) != Some(&b'/') {
		return false;
	}
	let sub = token(&s[ty + 1..]);
	if sub == 0 {
		return false;
	}
	let mut i = ty + 1 + sub;
	loop {
		i = ows(s, i);
		if i == s.len() {
			return true;
		}
		if s[i] != b';' {
			return false;
		}
		i = ows(s, i + 1);
		if i == s.len() || s[i] == b';' {
			continue; // an empty parameter is allowed
		}
		let name = token(&s[i..]);
		if name == 0 || s.get(i + name) != Some(&b'=') {
			return false;
		}
		i += name + 1;
		let value = match token(&s[i..]) {
			0 => match quoted(&s[i..]) {
				Some(n) => n,
				None => return false,
			},
			n => n,
		};
		i += value;
	}
}

/// The type and subtype, lowercased (they are case-insensitive).
fn essence(s: &str) -> String {
	s.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether a browser may show a file of type `s` in its window: only types
/// it displays without running anything or rendering a document (pictures
/// other than SVG, sound, video, plain text). Everything else (HTML, SVG,
/// XML, JavaScript, PDF, unknown types) is served as an attachment.
pub fn is_passive(s: &str) -> bool {
	const PASSIVE: &[&str] = &[
		"image/png",
		"image/jpeg",
		"image/gif",
		"image/webp",
		"image/avif",
		"image/heic",
		"image/heif",
		"image/bmp",
		"text/plain",
		"application/octet-stream",
	];
	let e = essence(s);
	is_valid(s) && (PASSIVE.contains(&e.as_str()) || e.starts_with("audio/") || e.starts_with("video/"))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn rfc_9110_media_types_only() {
		for ok in [
			"image/jpeg",
			"text/plain; charset=utf-8",
			"text/plain;charset=\"utf-8\"",
			"application/vnd.oasis.opendocument.text",
			"multipart/form-data; boundary=\"a b\\\"c\"",
			"text/plain ; a=b ;; c=d ;",
			"Image/PNG",
		] {
			assert!(is_valid(ok), "{ok}");
		}
		for bad in [
			"",
			"text",
			"/plain",
			"text/",
			"text/html\r\nSet-Cookie: a=b",
			"text/html\nX: y",
			"text/html\r",
			"text /html",
			"text/plain; charset",
			"text/plain; charset=\"utf-8",
			"text/plain; charset=\"a\r\nb\"",
			"text/plain; a=é",
			"text/plain, text/html",
			"\"text/plain\"",
		] {
			assert!(!is_valid(bad), "{bad:?}");
		}
		assert!(!is_valid(&format!("a/{}", "b".repeat(MAX_LEN))));
	}

	#[test]
	fn only_passive_types_are_shown_inline() {
		for inline in ["image/jpeg", "IMAGE/PNG; x=y", "video/mp4", "audio/ogg; codecs=opus", "text/plain; charset=utf-8"] {
			assert!(is_passive(inline), "{inline}");
		}
		for attachment in [
			"text/html",
			"image/svg+xml",
			"application/xhtml+xml",
			"text/xml",
			"application/xml",
			"text/javascript",
			"application/javascript",
			"application/pdf",
			"text/css",
			"application/x-unknown",
			"text/plain\r\nX: y",
		] {
			assert!(!is_passive(attachment), "{attachment}");
		}
	}
}
