//! QR codes for links people open on their phone (invitations, password
//! resets), drawn as inline SVG by the `qrcode` crate: nothing to load.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// `text` as an inline `<svg>` element (without the XML declaration), or
/// `None` when it is too long for a QR code.
pub fn svg(text: &str) -> Option<String> {
	let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
	let image = code.render::<svg::Color>().module_dimensions(4, 4).quiet_zone(true).build();
	let start = image.find("<svg")?;
	// The crate writes only numbers and fixed colours into it; the text is
	// not in the picture as text.
	Some(image[start..].replacen("<svg ", "<svg role=\"img\" aria-label=\"QR code\" ", 1))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_link_becomes_an_inline_svg() {
		let s = svg("https://box.lan:5443/invite/abc<>\"").unwrap();
		assert!(s.starts_with("<svg ") && s.ends_with("</svg>"), "{s}");
		assert!(!s.contains("<?xml") && !s.contains("abc"));
		assert!(svg(&"x".repeat(5000)).is_none(), "too long for any version");
	}
}
