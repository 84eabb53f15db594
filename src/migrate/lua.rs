//! A reader of the Lua data Prosody's internal file store writes
//! (`util/serialization.lua` through `util/datamanager.lua`): a `.dat` file
//! is `return <value>;`, a `.list` file is `item(<value>);` entries appended
//! one after another. Values are nil, booleans, numbers (`(1/0)` and the
//! like for the infinities and NaN), strings with Lua escapes, and tables
//! with an array part and `[key] = value` or `name = value` fields.
//!
//! Data only, never code: anything else is an error. No I/O: the caller
//! gives the bytes. Bounded: the parse tree's bytes (`max_tree_bytes`) and
//! its depth ([`MAX_DEPTH`]); errors are typed, never panics.

use std::fmt;

/// Tables nested deeper than this are refused (Prosody's serialiser
/// itself stops at 127).
pub const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
	Nil,
	Bool(bool),
	Num(f64),
	Str(String),
	Table(Table),
}

/// A Lua table: the positional fields in order, then the keyed ones in the
/// order written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
	pub array: Vec<Value>,
	pub fields: Vec<(Value, Value)>,
}

impl Table {
	/// The value of a string key.
	pub fn get(&self, key: &str) -> Option<&Value> {
		self.fields.iter().rev().find(|(k, _)| matches!(k, Value::Str(s) if s == key)).map(|(_, v)| v)
	}

	pub fn str(&self, key: &str) -> Option<&str> {
		self.get(key).and_then(Value::as_str)
	}

	pub fn table(&self, key: &str) -> Option<&Table> {
		self.get(key).and_then(Value::as_table)
	}

	/// Lua's sequence 1..n: the positional fields, then `[n] = v` fields
	/// that continue it.
	pub fn seq(&self) -> Vec<&Value> {
		let mut out: Vec<&Value> = self.array.iter().collect();
		loop {
			let next = (out.len() + 1) as f64;
			match self.fields.iter().find(|(k, _)| matches!(k, Value::Num(n) if *n == next)) {
				Some((_, v)) if *v != Value::Nil => out.push(v),
				_ => return out,
			}
		}
	}

	/// The fields with string keys (the map part), in the order written.
	pub fn string_fields(&self) -> impl Iterator<Item = (&str, &Value)> {
		self.fields.iter().filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
	}
}

impl Value {
	pub fn as_str(&self) -> Option<&str> {
		match self {
			Value::Str(s) => Some(s),
			_ => None,
		}
	}

	pub fn as_table(&self) -> Option<&Table> {
		match self {
			Value::Table(t) => Some(t),
			_ => None,
		}
	}

	pub fn as_num(&self) -> Option<f64> {
		match self {
			Value::Num(n) => Some(*n),
			_ => None,
		}
	}

	pub fn as_bool(&self) -> Option<bool> {
		match self {
			Value::Bool(b) => Some(*b),
			_ => None,
		}
	}
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LuaError {
	/// Something other than serialised data at this byte offset.
	Syntax { at: usize, what: &'static str },
	/// The file ended inside a value.
	Truncated,
	/// A string that is not UTF-8 (XMPP data always is).
	NotUtf8 { at: usize },
	/// Tables nested deeper than [`MAX_DEPTH`].
	TooDeep { at: usize },
	/// The parse tree would take more than the limit's bytes.
	TooLarge { limit: usize },
}

impl fmt::Display for LuaError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			LuaError::Syntax { at, what } => write!(f, "not Prosody data at byte {at}: {what}"),
			LuaError::Truncated => write!(f, "the file ends inside a value (cut short?)"),
			LuaError::NotUtf8 { at } => write!(f, "a string that is not UTF-8 at byte {at}"),
			LuaError::TooDeep { at } => write!(f, "tables nested deeper than {MAX_DEPTH} at byte {at}"),
			LuaError::TooLarge { limit } => write!(f, "larger than {limit} bytes once read"),
		}
	}
}

impl std::error::Error for LuaError {}

/// A `.dat` file: `return <value>;`.
pub fn parse_dat(input: &[u8], max_tree_bytes: usize) -> Result<Value, LuaError> {
	let mut p = Parser { s: input, i: 0, budget: max_tree_bytes, limit: max_tree_bytes };
	p.skip();
	p.word("return")?;
	let v = p.value(0)?;
	p.skip();
	p.eat(b';');
	p.skip();
	if p.i != p.s.len() {
		return Err(p.syntax("data after the returned value"));
	}
	Ok(v)
}

/// The entries of a `.list` file, read one at a time (an archive is read
/// without holding every entry's tree at once). The tree budget is per
/// entry; after an error the iterator ends.
pub struct ListReader<'a> {
	p: Parser<'a>,
	failed: bool,
}

pub fn parse_list(input: &[u8], max_tree_bytes: usize) -> ListReader<'_> {
	ListReader { p: Parser { s: input, i: 0, budget: max_tree_bytes, limit: max_tree_bytes }, failed: false }
}

impl Iterator for ListReader<'_> {
	type Item = Result<Value, LuaError>;

	fn next(&mut self) -> Option<Self::Item> {
		if self.failed {
			return None;
		}
		let p = &mut self.p;
		p.skip();
		if p.i == p.s.len() {
			return None;
		}
		p.budget = p.limit;
		let r = (|| {
			p.word("item")?;
			p.skip();
			p.expect(b'(', "`(` after item")?;
			let v = p.value(0)?;
			p.skip();
			p.expect(b')', "`)` after the item")?;
			p.skip();
			p.eat(b';');
			Ok(v)
		})();
		self.failed = r.is_err();
		Some(r)
	}
}

struct Parser<'a> {
	s: &'a [u8],
	i: usize,
	/// Tree bytes still allowed.
	budget: usize,
	limit: usize,
}

impl Parser<'_> {
	fn syntax(&self, what: &'static str) -> LuaError {
		if self.i >= self.s.len() { LuaError::Truncated } else { LuaError::Syntax { at: self.i, what } }
	}

	fn peek(&self) -> Option<u8> {
		self.s.get(self.i).copied()
	}

	fn eat(&mut self, b: u8) -> bool {
		if self.peek() == Some(b) {
			self.i += 1;
			true
		} else {
			false
		}
	}

	fn expect(&mut self, b: u8, what: &'static str) -> Result<(), LuaError> {
		if self.eat(b) { Ok(()) } else { Err(self.syntax(what)) }
	}

	fn charge(&mut self, bytes: usize) -> Result<(), LuaError> {
		self.budget = self.budget.checked_sub(bytes).ok_or(LuaError::TooLarge { limit: self.limit })?;
		Ok(())
	}

	/// Whitespace and comments (`-- line`, `--[[ block ]]`).
	fn skip(&mut self) {
		loop {
			while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
				self.i += 1;
			}
			if !self.s[self.i..].starts_with(b"--") {
				return;
			}
			self.i += 2;
			if let Some(level) = self.long_bracket_open() {
				if self.long_bracket_body(level).is_err() {
					self.i = self.s.len();
				}
			} else {
				while self.peek().is_some_and(|b| b != b'\n') {
					self.i += 1;
				}
			}
		}
	}

	fn name(&mut self) -> &[u8] {
		let start = self.i;
		if self.peek().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') {
			while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
				self.i += 1;
			}
		}
		&self.s[start..self.i]
	}

	fn word(&mut self, w: &'static str) -> Result<(), LuaError> {
		let at = self.i;
		if self.name() == w.as_bytes() {
			return Ok(());
		}
		self.i = at;
		Err(self.syntax(if w == "return" { "expected `return`" } else { "expected `item(`" }))
	}

	fn value(&mut self, depth: usize) -> Result<Value, LuaError> {
		self.skip();
		self.charge(std::mem::size_of::<Value>())?;
		let at = self.i;
		match self.peek() {
			None => Err(LuaError::Truncated),
			Some(b'{') => {
				if depth >= MAX_DEPTH {
					return Err(LuaError::TooDeep { at });
				}
				self.i += 1;
				self.table(depth + 1).map(Value::Table)
			}
			Some(b'"' | b'\'') => self.string().map(Value::Str),
			Some(b'[') if matches!(self.s.get(self.i + 1), Some(b'[' | b'=')) => self.long_string().map(Value::Str),
			Some(b'(') => self.paren_number().map(Value::Num),
			Some(b) if b == b'-' || b == b'.' || b.is_ascii_digit() => self.number().map(Value::Num),
			Some(_) => match self.name() {
				b"nil" => Ok(Value::Nil),
				b"true" => Ok(Value::Bool(true)),
				b"false" => Ok(Value::Bool(false)),
				_ => {
					self.i = at;
					Err(self.syntax("expected a value"))
				}
			},
		}
	}

	fn table(&mut self, depth: usize) -> Result<Table, LuaError> {
		let mut t = Table::default();
		loop {
			self.skip();
			if self.eat(b'}') {
				return Ok(t);
			}
			let at = self.i;
			if self.peek() == Some(b'[') && !matches!(self.s.get(self.i + 1), Some(b'[' | b'=')) {
				self.i += 1;
				let k = self.value(depth)?;
				self.skip();
				self.expect(b']', "`]` after a key")?;
				self.skip();
				self.expect(b'=', "`=` after a key")?;
				let v = self.value(depth)?;
				if k == Value::Nil || matches!(k, Value::Num(n) if n.is_nan()) {
					return Err(LuaError::Syntax { at, what: "a nil or NaN key" });
				}
				self.charge(std::mem::size_of::<(Value, Value)>())?;
				t.fields.push((k, v));
			} else {
				let name = self.name().to_vec();
				self.skip();
				if !name.is_empty() && !matches!(&name[..], b"nil" | b"true" | b"false") && self.peek() == Some(b'=') {
					self.i += 1;
					let v = self.value(depth)?;
					let k = String::from_utf8(name).map_err(|_| LuaError::NotUtf8 { at })?;
					self.charge(std::mem::size_of::<(Value, Value)>() + k.len())?;
					t.fields.push((Value::Str(k), v));
				} else {
					self.i = at;
					let v = self.value(depth)?;
					t.array.push(v);
				}
			}
			self.skip();
			if !self.eat(b',') && !self.eat(b';') {
				self.skip();
				self.expect(b'}', "`,`, `;` or `}` in a table")?;
				return Ok(t);
			}
		}
	}

	/// Prosody writes the infinities and NaN as `(1/0)`, `(-1/0)`, `(0/0)`.
	fn paren_number(&mut self) -> Result<f64, LuaError> {
		self.i += 1;
		self.skip();
		let a = self.number()?;
		self.skip();
		let r = if self.eat(b'/') {
			self.skip();
			a / self.number()?
		} else {
			a
		};
		self.skip();
		self.expect(b')', "`)` after a number")?;
		Ok(r)
	}

	fn number(&mut self) -> Result<f64, LuaError> {
		let start = self.i;
		let neg = self.eat(b'-');
		let body = self.i;
		if self.s[self.i..].starts_with(b"0x") || self.s[self.i..].starts_with(b"0X") {
			self.i += 2;
			while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
				self.i += 1;
			}
			let digits = std::str::from_utf8(&self.s[body + 2..self.i]).unwrap_or("");
			let n = u64::from_str_radix(digits, 16).map_err(|_| LuaError::Syntax { at: start, what: "a hexadecimal number" })?;
			return Ok(if neg { -(n as f64) } else { n as f64 });
		}
		while self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
			self.i += 1;
		}
		if self.peek().is_some_and(|b| b == b'e' || b == b'E') {
			self.i += 1;
			if self.peek().is_some_and(|b| b == b'+' || b == b'-') {
				self.i += 1;
			}
			while self.peek().is_some_and(|b| b.is_ascii_digit()) {
				self.i += 1;
			}
		}
		let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
		text.parse::<f64>()
			.map_err(|_| if self.i >= self.s.len() { LuaError::Truncated } else { LuaError::Syntax { at: start, what: "a number" } })
	}

	fn string(&mut self) -> Result<String, LuaError> {
		let start = self.i;
		let quote = self.s[self.i];
		self.i += 1;
		let mut out = Vec::new();
		loop {
			let Some(b) = self.peek() else { return Err(LuaError::Truncated) };
			self.i += 1;
			match b {
				_ if b == quote => break,
				b'\n' | b'\r' => return Err(LuaError::Syntax { at: self.i - 1, what: "a line break in a string" }),
				b'\\' => self.escape(&mut out)?,
				_ => out.push(b),
			}
		}
		self.charge(out.len())?;
		String::from_utf8(out).map_err(|_| LuaError::NotUtf8 { at: start })
	}

	fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), LuaError> {
		let Some(b) = self.peek() else { return Err(LuaError::Truncated) };
		let at = self.i;
		self.i += 1;
		match b {
			b'a' => out.push(7),
			b'b' => out.push(8),
			b'f' => out.push(12),
			b'n' | b'\n' => out.push(b'\n'),
			b'r' => out.push(b'\r'),
			b't' => out.push(b'\t'),
			b'v' => out.push(11),
			b'\\' | b'"' | b'\'' => out.push(b),
			b'0'..=b'9' => {
				let mut n = u32::from(b - b'0');
				for _ in 0..2 {
					match self.peek() {
						Some(d @ b'0'..=b'9') => {
							n = n * 10 + u32::from(d - b'0');
							self.i += 1;
						}
						_ => break,
					}
				}
				out.push(u8::try_from(n).map_err(|_| LuaError::Syntax { at, what: "a decimal escape above 255" })?);
			}
			b'x' => {
				let hex = self.s.get(self.i..self.i + 2).ok_or(LuaError::Truncated)?;
				let n = std::str::from_utf8(hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
				out.push(n.ok_or(LuaError::Syntax { at, what: "a \\x escape" })?);
				self.i += 2;
			}
			b'z' => {
				while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
					self.i += 1;
				}
			}
			b'u' => {
				self.expect(b'{', "`{` after \\u")?;
				let start = self.i;
				while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
					self.i += 1;
				}
				let n = std::str::from_utf8(&self.s[start..self.i]).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
				self.expect(b'}', "`}` after \\u{...")?;
				let c = n.and_then(char::from_u32).ok_or(LuaError::Syntax { at, what: "a \\u escape" })?;
				out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
			}
			_ => return Err(LuaError::Syntax { at, what: "an unknown escape" }),
		}
		Ok(())
	}

	/// `[[`, `[=[`, ...: the level (number of `=`), the opening eaten.
	fn long_bracket_open(&mut self) -> Option<usize> {
		let rest = &self.s[self.i..];
		if rest.first() != Some(&b'[') {
			return None;
		}
		let level = rest[1..].iter().take_while(|&&b| b == b'=').count();
		if rest.get(1 + level) != Some(&b'[') {
			return None;
		}
		self.i += level + 2;
		Some(level)
	}

	fn long_bracket_body(&mut self, level: usize) -> Result<&[u8], LuaError> {
		let mut close = vec![b']'];
		close.extend(std::iter::repeat_n(b'=', level));
		close.push(b']');
		let start = self.i;
		let end = self.s[start..].windows(close.len()).position(|w| w == close).ok_or(LuaError::Truncated)?;
		self.i = start + end + close.len();
		Ok(&self.s[start..start + end])
	}

	fn long_string(&mut self) -> Result<String, LuaError> {
		let at = self.i;
		let level = self.long_bracket_open().ok_or(LuaError::Syntax { at, what: "a long string" })?;
		let mut body = self.long_bracket_body(level)?;
		// Lua drops a line break right after the opening bracket.
		if body.first() == Some(&b'\n') {
			body = &body[1..];
		}
		let body = body.to_vec();
		self.charge(body.len())?;
		String::from_utf8(body).map_err(|_| LuaError::NotUtf8 { at })
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const BIG: usize = 1 << 20;

	fn s(v: &str) -> Value {
		Value::Str(v.into())
	}

	#[test]
	fn reads_what_prosody_writes() {
		// An account file and a roster as Prosody 0.12 writes them.
		let acct = b"return {\n\t[\"stored_key\"] = \"59\";\n\t[\"iteration_count\"] = 10000;\n\t[\"salt\"] = \"27f3\";\n};\n";
		let v = parse_dat(acct, BIG).unwrap();
		let t = v.as_table().unwrap();
		assert_eq!(t.str("salt"), Some("27f3"));
		assert_eq!(t.get("iteration_count"), Some(&Value::Num(10000.0)));
		let roster = br#"return {
	[false] = {
		["version"] = 3;
		["pending"] = {
			["carol@old.test"] = true;
		};
	};
	["bob@old.test"] = {
		["groups"] = {
			["Friends"] = true;
		};
		["subscription"] = "both";
		["name"] = "Bob \"B\" \195\169\n";
	};
};
"#;
		let v = parse_dat(roster, BIG).unwrap();
		let t = v.as_table().unwrap();
		assert_eq!(t.fields[0].0, Value::Bool(false));
		let bob = t.table("bob@old.test").unwrap();
		assert_eq!(bob.str("name"), Some("Bob \"B\" é\n"));
		assert_eq!(bob.table("groups").unwrap().get("Friends"), Some(&Value::Bool(true)));
	}

	#[test]
	fn array_parts_numbers_and_escapes() {
		let v = parse_dat(br#"return { "a"; 'b', [3] = "c"; x = -1.5e2, [5] = 1; {}; (1/0), (-1/0), "\65\066\x43\u{e9}\z   D\'" }"#, BIG)
			.unwrap();
		let t = v.as_table().unwrap();
		let seq = t.seq();
		assert_eq!(seq.len(), 6);
		assert_eq!((seq[0], seq[1], seq[2]), (&s("a"), &s("b"), &Value::Table(Table::default())));
		assert_eq!((seq[3], seq[4], seq[5]), (&Value::Num(f64::INFINITY), &Value::Num(f64::NEG_INFINITY), &s("ABC\u{e9}D'")));
		assert_eq!(t.array.len(), 6);
		assert_eq!(t.get("x"), Some(&Value::Num(-150.0)));
		let v = parse_dat(b"return { 'a', [2] = 'b', [3] = 'c', [5] = 'e' };", BIG).unwrap();
		assert_eq!(v.as_table().unwrap().seq(), [&s("a"), &s("b"), &s("c")]);
		assert_eq!(parse_dat(b"-- comment\nreturn [==[\nlong]]string]==]", BIG).unwrap(), s("long]]string"));
		assert!(parse_dat(b"return (0/0);", BIG).unwrap().as_num().unwrap().is_nan());
		assert_eq!(parse_dat(b"return nil", BIG).unwrap(), Value::Nil);
	}

	#[test]
	fn a_list_is_read_item_by_item() {
		let list = b"item({\n\t[\"key\"] = \"k1\";\n\t[\"when\"] = 1701.5;\n});\nitem({\n\t[\"key\"] = \"k2\";\n});\nitem({";
		let mut r = parse_list(list, BIG);
		assert_eq!(r.next().unwrap().unwrap().as_table().unwrap().str("key"), Some("k1"));
		assert_eq!(r.next().unwrap().unwrap().as_table().unwrap().str("key"), Some("k2"));
		assert_eq!(r.next().unwrap(), Err(LuaError::Truncated));
		assert!(r.next().is_none());
		assert_eq!(parse_list(b"", BIG).count(), 0);
	}

	#[test]
	fn code_and_damage_are_typed_errors() {
		for (input, want) in [
			(&b"return os.execute('rm -rf /')"[..], "Syntax"),
			(b"return { a = 1 } extra", "Syntax"),
			(b"return { [\"a\"] = ", "Truncated"),
			(b"return \"abc", "Truncated"),
			(b"return \"\\300\"", "Syntax"),
			(b"return \"\\255\"", "NotUtf8"),
			(b"return { [nil] = 1 }", "Syntax"),
			(b"return { f() }", "Syntax"),
			(b"return 1 .. 2", "Syntax"),
			(b"", "Truncated"),
		] {
			let e = parse_dat(input, BIG).unwrap_err();
			assert!(format!("{e:?}").starts_with(want), "{:?}: {e:?}", String::from_utf8_lossy(input));
		}
	}

	#[test]
	fn depth_and_size_are_bounded() {
		let deep = format!("return {}{}", "{".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
		assert!(matches!(parse_dat(deep.as_bytes(), BIG), Err(LuaError::TooDeep { .. })));
		let ok = format!("return {}{}", "{".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
		assert!(parse_dat(ok.as_bytes(), BIG).is_ok());
		// Small input, large tree: `{}` costs far more than its two bytes.
		let many = format!("return {{{}}}", "{},".repeat(10_000));
		assert_eq!(parse_dat(many.as_bytes(), 64 * 1024), Err(LuaError::TooLarge { limit: 64 * 1024 }));
		assert!(parse_dat(many.as_bytes(), BIG).is_ok());
		let long = format!("return \"{}\"", "x".repeat(2000));
		assert!(matches!(parse_dat(long.as_bytes(), 1000), Err(LuaError::TooLarge { .. })));
	}
}
