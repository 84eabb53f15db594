//! `reconnect`: what a phone's reconnect costs the server, two ways, for
//! user 1, `--logins` times each:
//! - full: what a client that cannot resume does, xmppbench's login
//!   (TCP, STARTTLS, TLS, SCRAM-SHA-1 over RFC 6120 SASL, stream restart,
//!   bind, initial presence, roster get of `--contacts` contacts) and an
//!   XEP-0198 enable; then a polite close;
//! - fast: TCP, STARTTLS, TLS, one SASL2 `<authenticate/>` with a FAST
//!   token (XEP-0484, HT-SHA-256-NONE) and an inline XEP-0198 resume of
//!   the session the connection before left behind; then the connection
//!   is dropped without a word, as a phone's is.
//!
//! Round trips are the client's waits for the server (the TLS 1.3
//! handshake counted as one); CPU is the server's, from /proc.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::hmac;
use xerra::xmpp::element::Element;

use crate::client::{self, KeyCache, SASL2, Session, Target};
use crate::procfs;
use crate::scenarios::{Opts, emit, local, percentile};

const SM: &str = "urn:xmpp:sm:3";
const FAST: &str = "urn:xmpp:fast:0";
const UA: &str = "<user-agent id='7f3c9a52-6f0e-4c1a-9a43-bench0000001'><software>xmppbench</software></user-agent>";
const WAIT: Duration = Duration::from_secs(60);

/// Connected, STARTTLS done, the secure stream's features read: 4 round
/// trips (header, STARTTLS, TLS handshake, header).
async fn secure(t: &Target, tls: &futures_rustls::TlsConnector) -> Result<(Session, Element), String> {
	let mut s = client::connect(t, None).await?;
	s.open(&t.domain).await?;
	s.starttls(tls, &t.domain).await?;
	let f = s.open(&t.domain).await?;
	Ok((s, f))
}

/// The full login: 4 + auth/challenge, response/success, header, bind,
/// presence + roster, enable = 10.
async fn full(t: &Target, tls: &futures_rustls::TlsConnector, keys: &RefCell<KeyCache>) -> Result<u32, String> {
	let (mut s, _) = client::login(t, 1, tls, keys).await?;
	s.send(&format!("<enable xmlns='{SM}' resume='true'/>")).await?;
	// Presences (its own among them) come before the answer.
	loop {
		let e = s.next(WAIT).await?;
		if e.is("enabled", SM) {
			break;
		}
		if e.ns() == SM {
			return Err(format!("SM enable: {}", e.to_xml("jabber:client")));
		}
	}
	s.close().await;
	Ok(10)
}

/// One FAST reconnect with inline resumption: 4 + authenticate/success = 5.
async fn fast(t: &Target, tls: &futures_rustls::TlsConnector, token: &str, previd: &str) -> Result<u32, String> {
	let (mut s, f) = secure(t, tls).await?;
	let offered = f.child("authentication", SASL2).and_then(|a| a.child("inline", SASL2)).and_then(|i| i.child("fast", FAST));
	if offered.is_none() {
		return Err("the server offers no FAST".into());
	}
	let user = format!("{}1", t.prefix);
	let proof = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes()), b"Initiator");
	let initial = B64.encode([user.as_bytes(), b"\0", proof.as_ref()].concat());
	s.send(&format!(
		"<authenticate xmlns='{SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>{initial}</initial-response>{UA}\
		 <fast xmlns='{FAST}'/><resume xmlns='{SM}' previd='{previd}' h='0'/></authenticate>"
	))
	.await?;
	let ok = s.next(WAIT).await?;
	if !ok.is("success", SASL2) || ok.child("resumed", SM).is_none() {
		return Err(format!("FAST resume: {}", ok.to_xml("jabber:client")));
	}
	// The features come with the success, in the same flight.
	s.next(WAIT).await?;
	drop(s);
	Ok(5)
}

pub(crate) fn reconnect(o: &Opts) -> Result<(), String> {
	let t = o.target.clone();
	let tls = client::tls_connector();
	let keys = RefCell::new(KeyCache::default());
	let n = o.logins.max(1);
	let mut rows = Vec::new();
	// User 1's roster: what a login without resumption fetches again.
	local(async |_| -> Result<(), String> {
		let (mut s, roster) = client::login(&t, 1, &tls, &keys).await?;
		let have = roster.children().next().map_or(0, |q| q.children().count());
		for c in have..o.contacts {
			let jid = format!("{}{}@{}", t.prefix, c + 2, t.domain);
			s.iq(&format!("<iq type='set' id='{{id}}'><query xmlns='jabber:iq:roster'><item jid='{jid}'/></query></iq>"), WAIT).await?;
		}
		s.close().await;
		Ok(())
	})?;
	// Full logins.
	let c0 = procfs::cpu(o.pid);
	let mut times = Vec::new();
	let mut rtts = 0;
	for _ in 0..n {
		let start = Instant::now();
		rtts = local(async |_| full(&t, &tls, &keys).await)?;
		times.push(start.elapsed().as_secs_f64() * 1000.0);
	}
	let full_cpu = (procfs::cpu(o.pid) - c0) * 1000.0 / n as f64;
	times.sort_by(f64::total_cmp);
	rows.push(("full", rtts, percentile(&times, 0.5), full_cpu));

	// A password login that asks for a token and a resumable session.
	let (token, previd) = local(async |_| -> Result<(String, String), String> {
		let (mut s, _) = secure(&t, &tls).await?;
		let inline = format!(
			"{UA}<request-token xmlns='{FAST}' mechanism='HT-SHA-256-NONE'/>\
			 <bind xmlns='urn:xmpp:bind:0'><tag>bench</tag><enable xmlns='{SM}' resume='true'/></bind>"
		);
		let ok = client::scram_sha1_with(&mut s, &format!("{}1", t.prefix), &t.password, &keys, Some(&inline)).await?;
		let token = ok.child("token", FAST).and_then(|e| e.attr("token")).ok_or("no FAST token")?.to_owned();
		let previd = ok
			.child("bound", "urn:xmpp:bind:0")
			.and_then(|b| b.child("enabled", SM))
			.and_then(|e| e.attr("id"))
			.ok_or("SM not enabled inline")?
			.to_owned();
		drop(s);
		Ok((token, previd))
	})?;
	let c0 = procfs::cpu(o.pid);
	let mut times = Vec::new();
	for _ in 0..n {
		let start = Instant::now();
		rtts = local(async |_| fast(&t, &tls, &token, &previd).await)?;
		times.push(start.elapsed().as_secs_f64() * 1000.0);
	}
	let fast_cpu = (procfs::cpu(o.pid) - c0) * 1000.0 / n as f64;
	times.sort_by(f64::total_cmp);
	rows.push(("fast", rtts, percentile(&times, 0.5), fast_cpu));

	for (kind, rtts, p50, cpu) in rows {
		eprintln!(
			"[{}] reconnect {kind} ({} contacts): {rtts} round trips, p50 {p50:.1} ms, server CPU {cpu:.2} ms each",
			o.label, o.contacts
		);
		emit(
			o,
			"reconnect",
			&[
				("kind", kind.to_owned()),
				("contacts", o.contacts.to_string()),
				("logins", n.to_string()),
				("round_trips", rtts.to_string()),
				("p50_ms", format!("{p50:.1}")),
				("cpu_ms_per_reconnect", format!("{cpu:.2}")),
			],
		);
	}
	eprintln!("[{}] reconnect: FAST + inline resume costs {:.0}% of a full login's CPU", o.label, fast_cpu * 100.0 / full_cpu.max(1e-9));
	Ok(())
}
