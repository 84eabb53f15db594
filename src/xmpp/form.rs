//! XEP-0004 Data Forms: reading submitted forms and writing forms to fill.

use super::element::Element;
use super::ns;

/// A submitted (or result) form: its FORM_TYPE and fields in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
	pub form_type: Option<String>,
	pub fields: Vec<(String, Vec<String>)>,
}

impl Form {
	/// Reads an `<x xmlns='jabber:x:data'/>`.
	pub fn parse(x: &Element) -> Form {
		let mut form = Form::default();
		for f in x.children().filter(|c| c.is("field", ns::DATA_FORMS)) {
			let Some(var) = f.attr("var") else { continue };
			let values: Vec<String> = f.children().filter(|v| v.is("value", ns::DATA_FORMS)).map(Element::text).collect();
			if var == "FORM_TYPE" {
				form.form_type = values.into_iter().next();
			} else {
				form.fields.push((var.to_owned(), values));
			}
		}
		form
	}

	/// The first value of a field.
	pub fn value(&self, var: &str) -> Option<&str> {
		self.fields.iter().find(|(v, _)| v == var).and_then(|(_, vals)| vals.first()).map(String::as_str)
	}
}

/// XEP-0004 §3.3 boolean: "1"/"true" or "0"/"false".
pub fn boolean(v: &str) -> Option<bool> {
	match v.trim() {
		"1" | "true" => Some(true),
		"0" | "false" => Some(false),
		_ => None,
	}
}

/// Builds a form of `type` (form, result, submit) with a hidden FORM_TYPE.
pub struct Builder {
	x: Element,
}

impl Builder {
	pub fn new(ty: &str, form_type: &str) -> Builder {
		let x = Element::new("x", ns::DATA_FORMS).with_attr("type", ty);
		Builder { x }.field("FORM_TYPE", "hidden", None, &[form_type])
	}

	/// A field with its values; `label` is what a person filling it reads.
	pub fn field(mut self, var: &str, ty: &str, label: Option<&str>, values: &[&str]) -> Builder {
		let mut f = Element::new("field", ns::DATA_FORMS).with_attr("var", var).with_attr("type", ty);
		if let Some(l) = label {
			f.set_attr("label", l);
		}
		for v in values {
			f.push(Element::new("value", ns::DATA_FORMS).with_text(*v));
		}
		self.x.push(f);
		self
	}

	/// A list-single field with its options.
	pub fn list(mut self, var: &str, label: &str, value: &str, options: &[&str]) -> Builder {
		let mut f = Element::new("field", ns::DATA_FORMS).with_attr("var", var).with_attr("type", "list-single").with_attr("label", label);
		f.push(Element::new("value", ns::DATA_FORMS).with_text(value));
		for o in options {
			f.push(Element::new("option", ns::DATA_FORMS).with_child(Element::new("value", ns::DATA_FORMS).with_text(*o)));
		}
		self.x.push(f);
		self
	}

	pub fn build(self) -> Element {
		self.x
	}
}
