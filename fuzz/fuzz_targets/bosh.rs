//! BOSH (`proto::bosh`, /http-bind): any bytes give a request body or
//! `bad-request`, never a panic; and a session fed any sequence of rids
//! (taken, repeated, out of order, answered or not) never feeds the same
//! rid's payload twice, never holds more than `hold` requests, keeps at
//! most `requests` responses, and resends exactly what it answered.
#![no_main]

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use xerra::proto::bosh::{self, Body, Bounds, Input, Request, Session};

fuzz_target!(|data: &[u8]| {
	if let Ok(b) = bosh::parse(&String::from_utf8_lossy(data), common::PRE_AUTH) {
		// What a body carries is bytes of a jabber:client stream, within the limit.
		assert!(b.payload.len() <= data.len() * 8 + 64);
	}
	let Some((&first, rest)) = data.split_first() else { return };
	let bounds = Bounds { max_wait: Duration::from_secs(60), max_hold: usize::from(first % 3), inactivity: Duration::from_secs(60) };
	let start = Body { rid: 1000, hold: Some(u64::from(first >> 2)), ..Body::default() };
	let (mut s, ticket) = Session::new("sid".into(), &start, bounds);
	let hold = s.hold;
	let mut held = vec![ticket];
	let mut fed = HashSet::new();
	let mut answers: HashMap<u64, String> = HashMap::new();
	let now = Instant::now();
	for &x in rest {
		let rid = 1000 + u64::from(x & 0x0f);
		match s.request(Body { rid, payload: format!("<m{rid}/>"), ..Body::default() }) {
			Ok(Request::Taken(t)) => {
				for i in &t.input {
					if let Input::Bytes(b) = i {
						assert!(fed.insert(b.clone()), "fed twice: {b}");
					}
				}
				held.push(t.ticket);
				if let Some(r) = t.released {
					held.retain(|h| *h != r);
				}
			}
			Ok(Request::Resend(text)) => assert_eq!(answers.get(&rid), Some(&text), "resent what was not answered for {rid}"),
			Ok(Request::Supersede(r)) => assert!(s.is_held(r)),
			Err(_) => {}
		}
		held.retain(|h| s.is_held(*h));
		assert!(held.len() <= hold, "{} held, hold {hold}", held.len());
		if x & 0x80 != 0
			&& let Some(t) = s.first_held()
		{
			s.answered(t, now);
			let text = format!("<body n='{t}'/>");
			s.remember(t, text.clone());
			answers.insert(t, text);
		}
		assert!(s.sent_bytes() <= s.requests() * "<body n='1015'/>".len());
	}
});
