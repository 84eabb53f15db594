//! Typed tables over one redb table type, `&[u8] -> &[u8]`.
//!
//! redb's B-tree code is generic over a table's key and value types, so each
//! distinct pair compiled it again (half of redb's code in the binary was
//! such copies). Here every table is bytes to bytes, and the typed view is a
//! thin codec: keys are encoded so that their bytes sort exactly as redb
//! sorted the typed tuples (element by element; integers big-endian, strings
//! byte-wise with a terminator that sorts first), so every range scan means
//! what it meant before.

use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use redb::{ReadableTable as _, ReadableTableMetadata as _, StorageError, TableDefinition, TableError};

type Raw = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// A table's name and the types its rows are read and written as.
pub struct Def<K, V> {
	name: &'static str,
	types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Def<K, V> {
	fn clone(&self) -> Self {
		*self
	}
}

impl<K, V> Copy for Def<K, V> {}

impl<K, V> Def<K, V> {
	pub const fn new(name: &'static str) -> Def<K, V> {
		Def { name, types: PhantomData }
	}

	pub const fn name(self) -> &'static str {
		self.name
	}

	fn raw(self) -> Raw {
		TableDefinition::new(self.name)
	}
}

/// One element of a key. `put` writes it so that encodings compare as the
/// values do and no encoding is a prefix of another's; `take` reads it back.
pub trait Elem {
	type In<'a>: Copy;
	type Out;
	fn put(v: Self::In<'_>, out: &mut Vec<u8>);
	fn take(b: &mut &[u8]) -> Self::Out;
	#[cfg(test)]
	fn borrow(o: &Self::Out) -> Self::In<'_>;
}

/// A string: its bytes with 0 written as 0 0xff, then 0 1 (less than any
/// byte of a longer string, so "a" < "a\0" < "ab" as before).
impl Elem for &'static str {
	type In<'a> = &'a str;
	type Out = String;

	fn put(v: &str, out: &mut Vec<u8>) {
		for &b in v.as_bytes() {
			out.push(b);
			if b == 0 {
				out.push(0xff);
			}
		}
		out.extend_from_slice(&[0, 1]);
	}

	fn take(b: &mut &[u8]) -> String {
		let mut s = Vec::new();
		let mut i = 0;
		while i < b.len() {
			if b[i] == 0 {
				if b.get(i + 1) == Some(&0xff) {
					s.push(0);
					i += 2;
					continue;
				}
				i += 2;
				break;
			}
			s.push(b[i]);
			i += 1;
		}
		*b = b.get(i..).unwrap_or_default();
		// Only written from `&str`: lossy never changes a stored key.
		String::from_utf8(s).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
	}

	#[cfg(test)]
	fn borrow(o: &String) -> &str {
		o
	}
}

macro_rules! int_elem {
	($($t:ty),*) => {$(
		/// Big-endian, so bytes sort as numbers.
		impl Elem for $t {
			type In<'a> = $t;
			type Out = $t;

			fn put(v: $t, out: &mut Vec<u8>) {
				out.extend_from_slice(&v.to_be_bytes());
			}

			fn take(b: &mut &[u8]) -> $t {
				const N: usize = size_of::<$t>();
				let mut a = [0; N];
				let n = b.len().min(N);
				a[..n].copy_from_slice(&b[..n]);
				*b = &b[n..];
				<$t>::from_be_bytes(a)
			}

			#[cfg(test)]
			fn borrow(o: &$t) -> $t {
				*o
			}
		}
	)*};
}
int_elem!(u8, u16, u32, u64);

/// A whole key: one element or a tuple of them.
pub trait Key {
	type In<'a>: Copy;
	type Out;
	fn encode(k: Self::In<'_>) -> Vec<u8>;
	fn decode(b: &[u8]) -> Self::Out;
	#[cfg(test)]
	fn borrow(o: &Self::Out) -> Self::In<'_>;
}

macro_rules! key_one {
	($($t:ty),*) => {$(
		impl Key for $t {
			type In<'a> = <$t as Elem>::In<'a>;
			type Out = <$t as Elem>::Out;

			fn encode(k: Self::In<'_>) -> Vec<u8> {
				let mut out = Vec::new();
				<$t as Elem>::put(k, &mut out);
				out
			}

			fn decode(mut b: &[u8]) -> Self::Out {
				<$t as Elem>::take(&mut b)
			}

			#[cfg(test)]
			fn borrow(o: &Self::Out) -> Self::In<'_> {
				<$t as Elem>::borrow(o)
			}
		}
	)*};
}
key_one!(&'static str, u8, u16, u32, u64);

macro_rules! key_tuple {
	($($e:ident $v:ident),*) => {
		impl<$($e: Elem),*> Key for ($($e,)*) {
			type In<'a> = ($($e::In<'a>,)*);
			type Out = ($($e::Out,)*);

			fn encode(($($v,)*): Self::In<'_>) -> Vec<u8> {
				let mut out = Vec::new();
				$($e::put($v, &mut out);)*
				out
			}

			fn decode(mut b: &[u8]) -> Self::Out {
				($($e::take(&mut b),)*)
			}

			#[cfg(test)]
			#[allow(non_snake_case)]
			fn borrow(($($e,)*): &Self::Out) -> Self::In<'_> {
				($(<$e as Elem>::borrow($e),)*)
			}
		}
	};
}
key_tuple!(A a, B b);
key_tuple!(A a, B b, C c);
key_tuple!(A a, B b, C c, D d);

/// A value; needs no order.
pub trait Val {
	type In<'a>: Copy;
	type Out<'a>;
	/// The bytes of `v`, using `buf` for numbers.
	fn bytes<'r, 'v: 'r>(v: Self::In<'v>, buf: &'r mut [u8; 8]) -> &'r [u8];
	fn decode(b: &[u8]) -> Self::Out<'_>;
}

impl Val for &'static [u8] {
	type In<'a> = &'a [u8];
	type Out<'a> = &'a [u8];

	fn bytes<'r, 'v: 'r>(v: &'v [u8], _: &'r mut [u8; 8]) -> &'r [u8] {
		v
	}

	fn decode(b: &[u8]) -> &[u8] {
		b
	}
}

impl Val for &'static str {
	type In<'a> = &'a str;
	type Out<'a> = &'a str;

	fn bytes<'r, 'v: 'r>(v: &'v str, _: &'r mut [u8; 8]) -> &'r [u8] {
		v.as_bytes()
	}

	fn decode(b: &[u8]) -> &str {
		// Only written from `&str` (redb's own `&str` tables panicked too).
		std::str::from_utf8(b).expect("a stored text value is UTF-8")
	}
}

impl Val for () {
	type In<'a> = ();
	type Out<'a> = ();

	fn bytes<'r, 'v: 'r>((): (), _: &'r mut [u8; 8]) -> &'r [u8] {
		&[]
	}

	fn decode(_: &[u8]) {}
}

macro_rules! int_val {
	($($t:ty),*) => {$(
		impl Val for $t {
			type In<'a> = $t;
			type Out<'a> = $t;

			fn bytes<'r, 'v: 'r>(v: $t, buf: &'r mut [u8; 8]) -> &'r [u8] {
				const N: usize = size_of::<$t>();
				buf[..N].copy_from_slice(&v.to_be_bytes());
				&buf[..N]
			}

			fn decode(mut b: &[u8]) -> $t {
				<$t as Elem>::take(&mut b)
			}
		}
	)*};
}
int_val!(u32, u64);

/// A stored value, read as `V`.
pub struct Guard<'g, V> {
	g: redb::AccessGuard<'g, &'static [u8]>,
	v: PhantomData<V>,
}

impl<'g, V: Val> Guard<'g, V> {
	fn new(g: redb::AccessGuard<'g, &'static [u8]>) -> Guard<'g, V> {
		Guard { g, v: PhantomData }
	}

	pub fn value(&self) -> V::Out<'_> {
		V::decode(self.g.value())
	}
}

/// A stored key, read as `K`.
pub struct KeyGuard<'g, K> {
	g: redb::AccessGuard<'g, &'static [u8]>,
	k: PhantomData<K>,
}

impl<K: Key> KeyGuard<'_, K> {
	pub fn value(&self) -> K::Out {
		K::decode(self.g.value())
	}
}

/// Rows in key order (or reversed).
pub struct Range<'r, K, V> {
	r: redb::Range<'r, &'static [u8], &'static [u8]>,
	t: PhantomData<(K, V)>,
}

type Row<'r, K, V> = Result<(KeyGuard<'r, K>, Guard<'r, V>), StorageError>;

fn row<'r, K: Key, V: Val>(r: Option<Result<RawRow<'r>, StorageError>>) -> Option<Row<'r, K, V>> {
	Some(r?.map(|(k, v)| (KeyGuard { g: k, k: PhantomData }, Guard::new(v))))
}

type RawRow<'r> = (redb::AccessGuard<'r, &'static [u8]>, redb::AccessGuard<'r, &'static [u8]>);

impl<'r, K: Key, V: Val> Iterator for Range<'r, K, V> {
	type Item = Row<'r, K, V>;

	fn next(&mut self) -> Option<Self::Item> {
		row(self.r.next())
	}
}

impl<K: Key, V: Val> DoubleEndedIterator for Range<'_, K, V> {
	fn next_back(&mut self) -> Option<Self::Item> {
		row(self.r.next_back())
	}
}

fn encode_bound<'k, K: Key>(b: Bound<&K::In<'k>>) -> Bound<Vec<u8>> {
	match b {
		Bound::Included(k) => Bound::Included(K::encode(*k)),
		Bound::Excluded(k) => Bound::Excluded(K::encode(*k)),
		Bound::Unbounded => Bound::Unbounded,
	}
}

fn as_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
	match b {
		Bound::Included(v) => Bound::Included(v.as_slice()),
		Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
		Bound::Unbounded => Bound::Unbounded,
	}
}

/// Reads, on a table opened for reading or for writing.
pub trait Readable<K: Key, V: Val> {
	fn get(&self, k: K::In<'_>) -> Result<Option<Guard<'_, V>>, StorageError>;
	fn range<'k>(&self, r: impl RangeBounds<K::In<'k>>) -> Result<Range<'_, K, V>, StorageError>;
	fn iter(&self) -> Result<Range<'_, K, V>, StorageError>;
	fn len(&self) -> Result<u64, StorageError>;
}

macro_rules! readable {
	() => {
		fn get(&self, k: K::In<'_>) -> Result<Option<Guard<'_, V>>, StorageError> {
			Ok(self.t.get(K::encode(k).as_slice())?.map(Guard::new))
		}

		fn range<'k>(&self, r: impl RangeBounds<K::In<'k>>) -> Result<Range<'_, K, V>, StorageError> {
			let (lo, hi) = (encode_bound::<K>(r.start_bound()), encode_bound::<K>(r.end_bound()));
			Ok(Range { r: self.t.range::<&[u8]>((as_slice(&lo), as_slice(&hi)))?, t: PhantomData })
		}

		fn iter(&self) -> Result<Range<'_, K, V>, StorageError> {
			Ok(Range { r: self.t.iter()?, t: PhantomData })
		}

		fn len(&self) -> Result<u64, StorageError> {
			self.t.len()
		}
	};
}

/// A table in a read transaction.
pub struct ReadOnly<K, V> {
	t: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
	kv: PhantomData<(K, V)>,
}

impl<K: Key, V: Val> Readable<K, V> for ReadOnly<K, V> {
	readable!();
}

/// A table in a write transaction.
pub struct Table<'t, K, V> {
	t: redb::Table<'t, &'static [u8], &'static [u8]>,
	kv: PhantomData<(K, V)>,
}

impl<K: Key, V: Val> Readable<K, V> for Table<'_, K, V> {
	readable!();
}

impl<K: Key, V: Val> Table<'_, K, V> {
	/// Returns the value it replaced.
	pub fn insert(&mut self, k: K::In<'_>, v: V::In<'_>) -> Result<Option<Guard<'_, V>>, StorageError> {
		let mut buf = [0; 8];
		Ok(self.t.insert(K::encode(k).as_slice(), V::bytes(v, &mut buf))?.map(Guard::new))
	}

	/// Returns the value it removed.
	pub fn remove(&mut self, k: K::In<'_>) -> Result<Option<Guard<'_, V>>, StorageError> {
		Ok(self.t.remove(K::encode(k).as_slice())?.map(Guard::new))
	}

	/// Keeps only the rows `keep` says yes to.
	pub fn retain(&mut self, mut keep: impl FnMut(K::Out, V::Out<'_>) -> bool) -> Result<(), StorageError> {
		// One instantiation of redb's retain for every caller.
		let keep: &mut dyn FnMut(&[u8], &[u8]) -> bool = &mut |k, v| keep(K::decode(k), V::decode(v));
		self.t.retain(keep)
	}

	/// [`Table::retain`] within a key range.
	pub fn retain_in<'k>(
		&mut self,
		r: impl RangeBounds<K::In<'k>>,
		mut keep: impl FnMut(K::Out, V::Out<'_>) -> bool,
	) -> Result<(), StorageError> {
		let (lo, hi) = (encode_bound::<K>(r.start_bound()), encode_bound::<K>(r.end_bound()));
		let keep: &mut dyn FnMut(&[u8], &[u8]) -> bool = &mut |k, v| keep(K::decode(k), V::decode(v));
		self.t.retain_in::<&[u8], _>((as_slice(&lo), as_slice(&hi)), keep)
	}
}

/// `open` on a read transaction.
pub trait OpenRead {
	fn open<K: Key, V: Val>(&self, d: Def<K, V>) -> Result<ReadOnly<K, V>, TableError>;
}

impl OpenRead for redb::ReadTransaction {
	fn open<K: Key, V: Val>(&self, d: Def<K, V>) -> Result<ReadOnly<K, V>, TableError> {
		Ok(ReadOnly { t: self.open_table(d.raw())?, kv: PhantomData })
	}
}

/// `open` on a write transaction (creates the table if missing).
pub trait OpenWrite {
	fn open<K: Key, V: Val>(&self, d: Def<K, V>) -> Result<Table<'_, K, V>, TableError>;
}

impl OpenWrite for redb::WriteTransaction {
	fn open<K: Key, V: Val>(&self, d: Def<K, V>) -> Result<Table<'_, K, V>, TableError> {
		Ok(Table { t: self.open_table(d.raw())?, kv: PhantomData })
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn encoded_keys_sort_as_the_typed_keys() {
		let words = ["", "\0", "\0\0", "a", "a\0", "a\0b", "a\u{1}", "ab", "b", "\u{ff}", "\u{10ffff}"];
		let mut pairs = Vec::new();
		for a in words {
			for b in words {
				for n in [0u64, 1, 255, 256, u64::MAX] {
					pairs.push(((a, b), n));
				}
			}
		}
		for x in &pairs {
			for y in &pairs {
				let (ex, ey) = (<(&str, &str, u64)>::encode((x.0.0, x.0.1, x.1)), <(&str, &str, u64)>::encode((y.0.0, y.0.1, y.1)));
				assert_eq!(ex.cmp(&ey), x.cmp(y), "{x:?} {y:?}");
			}
			let e = <(&str, &str, u64)>::encode((x.0.0, x.0.1, x.1));
			assert_eq!(<(&str, &str, u64)>::decode(&e), (x.0.0.to_owned(), x.0.1.to_owned(), x.1));
		}
		assert_eq!(<(u8, u16)>::decode(&<(u8, u16)>::encode((3, 513))), (3, 513));
	}
}
