//! Data forms (`xmpp::form`, XEP-0004) as MAM queries, PEP options and room
//! configuration receive them: what is parsed builds back into a form that
//! parses the same.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use xerra::xmpp::form::{Builder, Form, boolean};
use xerra::xmpp::ns;
use xerra::xmpp::reader::parse_stored;

fuzz_target!(|data: &[u8]| {
	let Ok(text) = std::str::from_utf8(data) else { return };
	let Some(x) = parse_stored(text, ns::DATA_FORMS, common::FULL) else { return };
	let form = Form::parse(&x);
	for (var, values) in &form.fields {
		let _ = form.value(var);
		for v in values {
			let _ = boolean(v);
		}
	}
	let Some(form_type) = &form.form_type else { return };
	let mut b = Builder::new(x.attr("type").unwrap_or("submit"), form_type);
	for (var, values) in &form.fields {
		let values: Vec<&str> = values.iter().map(String::as_str).collect();
		b = b.field(var, "text-multi", None, &values);
	}
	let built = b.build();
	common::round_trip(&built);
	assert_eq!(Form::parse(&built), form);
});
