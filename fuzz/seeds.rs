//! Writes the seed inputs of every fuzz target into DIR/TARGET/ (the
//! committed corpus is these, grown by fuzzing and minimised; see fuzz/run):
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example seeds -- fuzz/corpus
//!
//! Real-looking traffic: stanzas, SASL messages, HTTP heads, SOCKS5
//! greetings, WebSocket frames, forms, and stored rows from our own encoders.

use std::path::Path;

const CLIENT_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
	xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0' xml:lang='en'>";

const STANZAS: &[&str] = &[
	"<message to='bob@example.org' type='chat' id='m1'><body>Lunch at noon? &amp; bring &lt;cake&gt;</body>\
	 <active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>",
	"<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
	"<presence><show>away</show><status xml:lang='de'>Mittagspause</status><priority>5</priority>\
	 <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>",
	"<iq type='set' id='r1'><query xmlns='jabber:iq:roster' ver='7'><item jid='carol@example.org' name='Carol'>\
	 <group>Office</group></item></query></iq>",
	"<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'>\
	 <item id='ab12'><metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='1024' id='ab12' type='image/png'/></metadata></item>\
	 </publish></pubsub></iq>",
	"<message to='room@conference.example.org' type='groupchat'><body>hi all\r\n</body>\
	 <x xmlns='jabber:x:oob' xmlns:a='urn:example:attrs' a:hint='keep'><url>https://example.org/f.png</url></x></message>",
	"<iq type='get' id='q1'><query xmlns='urn:xmpp:mam:2' queryid='f27'><x xmlns='jabber:x:data' type='submit'>\
	 <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>bob@example.org</value></field>\
	 </x><set xmlns='http://jabber.org/protocol/rsm'><max>20</max><before/></set></query></iq>",
	"<message to='bob@example.org'><body><![CDATA[x < y]]> and &#x1F600; &#233;</body></message>",
];

fn main() {
	let dir = std::env::args().nth(1).expect("usage: seeds DIR");
	let dir = Path::new(&dir);
	let mut n = 0;
	let mut put = |target: &str, name: &str, data: &[u8]| {
		let d = dir.join(target);
		std::fs::create_dir_all(&d).unwrap();
		std::fs::write(d.join(format!("seed-{name}")), data).unwrap();
		n += 1;
	};

	// reader: a control byte (chunking, limits), then a stream.
	let all: String = STANZAS.concat();
	for (i, s) in STANZAS.iter().enumerate() {
		put("reader", &format!("stanza{i}"), &[&[(i as u8).wrapping_mul(37)], format!("{CLIENT_HEADER}{s}").as_bytes()].concat());
	}
	put("reader", "all", &[&[4u8], format!("{CLIENT_HEADER}\n {all} </stream:stream>").as_bytes()].concat());
	put("reader", "keepalive", &[&[1u8], format!("{CLIENT_HEADER}{}<presence/>", " \n".repeat(40)).as_bytes()].concat());
	let server_header = "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' \
		xmlns:db='jabber:server:dialback' from='example.net' to='example.org' version='1.0'>";
	put(
		"reader",
		"s2s",
		&[&[2u8], format!("{server_header}<message from='a@example.net' to='b@example.org'><body>x</body></message>").as_bytes()].concat(),
	);

	// stream: flags (bit 0 direct TLS, 1 channel binding, 2 registration,
	// 3 tiny limits, high bits the chunking), then what a client sends.
	let open = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";
	let plain_auth = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHBlbmNpbA==</auth>";
	let bind = "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>phone</resource></bind></iq>";
	let after = "<enable xmlns='urn:xmpp:sm:3' resume='true'/><message to='bob@example.org' type='chat'><body>hi</body></message>\
		<r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='1'/><inactive xmlns='urn:xmpp:csi:0'/>\
		<iq type='get' id='v1' to='example.org'><query xmlns='jabber:iq:version'/></iq>\
		<presence from='alice@example.org/phone'/><message from='eve@example.org'/></stream:stream>";
	put(
		"stream",
		"starttls",
		&[&[0u8], format!("<?xml version='1.0'?>{open}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>{open}{plain_auth}").as_bytes()]
			.concat(),
	);
	put("stream", "login", &[&[1u8], format!("{open}{plain_auth}{open}{bind}{after}").as_bytes()].concat());
	put("stream", "login-split", &[&[0x31u8], format!("{open}{plain_auth}{open}{bind}{after}").as_bytes()].concat());
	put(
		"stream",
		"scram",
		&[
			&[3u8],
			format!(
				"{open}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256-PLUS'>cD10bHMtZXhwb3J0ZXIsLG49YWxpY2Uscj1yT3ByTkdmd0ViZVJXZ2JORWtxTw==</auth>\
				 <response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8lM2QscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==</response>\
				 <abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
			)
			.as_bytes(),
		]
		.concat(),
	);
	put(
		"stream",
		"register",
		&[
			&[5u8],
			format!(
				"{open}<iq type='get' id='reg1'><query xmlns='jabber:iq:register'/></iq>\
				 <iq type='set' id='t1'><preauth xmlns='urn:xmpp:pars:0' token='abc'/></iq><message/>"
			)
			.as_bytes(),
		]
		.concat(),
	);
	put(
		"stream",
		"resume",
		&[
			&[1u8],
			format!("{open}{plain_auth}{open}<resume xmlns='urn:xmpp:sm:3' previd='some-id' h='3'/><r xmlns='urn:xmpp:sm:3'/>").as_bytes(),
		]
		.concat(),
	);

	// sasl: a control byte (mechanism, channel binding), then messages
	// separated by 0xFF.
	let sep = |parts: &[&[u8]]| parts.join(&0xffu8);
	put("sasl", "plain", &[&[0u8][..], b"\0alice\0pencil"].concat());
	put("sasl", "plain-authzid", &[&[0u8][..], b"alice@example.org\0alice\0pencil"].concat());
	put("sasl", "plain-late", &[&[0u8][..], &sep(&[b"", b"\0alice\0pencil"])].concat());
	put(
		"sasl",
		"scram-sha1",
		&[
			&[1u8][..],
			&sep(&[
				b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL",
				b"c=biws,r=fyko+d2lbbFgONRv9qkxdawLAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			]),
		]
		.concat(),
	);
	put(
		"sasl",
		"scram-sha256",
		&[
			&[2u8][..],
			&sep(&[
				b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
				b"c=biws,r=rOprNGfwEbeRWgbNEkqOAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			]),
		]
		.concat(),
	);
	put("sasl", "scram-plus", &[&[0x14u8][..], &sep(&[b"p=tls-exporter,,n=alice,r=abcdefghijklmnop", b"c=cD10bHMtZXhwb3J0ZXIsLAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=,r=abcdefghijklmnopAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="])].concat());
	put("sasl", "scram-y", &[&[0x32u8][..], b"y,a=alice@example.org,n=alice,r=xyz,ext=1"].concat());
	put("sasl", "scram-escaped", &[&[1u8][..], b"n,,n=al=2Cice=3D,r=x"].concat());

	// jid
	for (i, j) in [
		"alice@example.org/phone",
		"ALICE@Example.ORG",
		"room@conference.example.org/Nick Name",
		"example.org.",
		"[::1]",
		"user@[2001:db8::1]/res",
		"\u{00e9}l\u{00e8}ve@\u{00e9}cole.example/t\u{00e9}l\u{00e9}phone",
		"\u{ff21}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}@\u{4f8b}\u{3048}\u{3002}jp",
		"a@b/c/d@e",
		"\u{13bc}@example.org",
		"user\u{2163}@example.org/\u{1f600}",
	]
	.iter()
	.enumerate()
	{
		put("jid", &format!("{i}"), j.as_bytes());
	}

	// http_page and http_upload: request heads as browsers and clients send them.
	let page = [
		"GET / HTTP/1.1\r\nHost: xerra.local\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\nAccept-Language: de,en;q=0.8\r\n\r\n",
		"GET /ca.pem?download=1 HTTP/1.1\r\nHost: 192.168.1.20\r\n\r\n",
		"POST /setup HTTP/1.1\r\nHost: xerra.local\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\ncode=123456&user=admin&password=secret1",
		"HEAD / HTTP/1.0\r\n\r\n",
		"POST /invite HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
	];
	for (i, p) in page.iter().enumerate() {
		put("http_page", &format!("{i}"), p.as_bytes());
	}
	let upload = [
		"PUT /upload/AbCdEfGhIjKlMnOpQrSt/report%202024.pdf HTTP/1.1\r\nHost: example.org:5281\r\nContent-Type: application/pdf\r\nContent-Length: 123456\r\n\r\n%PDF-1.7",
		"GET /upload/AbCdEfGhIjKlMnOpQrSt/photo.jpg HTTP/1.1\r\nHost: example.org:5281\r\nRange: bytes=0-\r\n\r\n",
		"OPTIONS /upload/x/y HTTP/1.1\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n\r\n",
		"GET /xmpp-websocket HTTP/1.1\r\nHost: example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: xmpp\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /.well-known/host-meta.json HTTP/1.1\r\n\r\n",
	];
	for (i, p) in upload.iter().enumerate() {
		put("http_upload", &format!("{i}"), p.as_bytes());
	}

	// upload_slot
	put(
		"upload_slot",
		"request",
		b"<request xmlns='urn:xmpp:http:upload:0' filename='tr\xc3\xa8s cool.jpg' size='23456' content-type='image/jpeg'/>",
	);
	put("upload_slot", "traversal", b"<request filename='../../etc/passwd' size='1'/>");
	put("upload_slot", "name", " .hidden file\u{202e}gpj.exe ".as_bytes());

	// websocket: masked client frames, one message, our output.
	let framing = "urn:ietf:params:xml:ns:xmpp-framing";
	let ws_open = format!("<open xmlns='{framing}' to='example.org' version='1.0'/>");
	let ws_msg = "<message to='bob@example.org' xmlns='jabber:client'><body>hello</body></message>";
	let ws_close = format!("<close xmlns='{framing}'/>");
	let frames =
		[frame(1, ws_open.as_bytes()), frame(9, b"ping"), frame(1, ws_msg.as_bytes()), frame(1, ws_close.as_bytes()), frame(8, &[3, 232])]
			.concat();
	put("websocket", "frames", &frames);
	put("websocket", "open", ws_open.as_bytes());

	// bosh: a request body (XEP-0124/0206): creation, login, restart,
	// terminate; the same bytes drive a session's rids.
	for (name, body) in [
		("create", "<body xmlns='http://jabber.org/protocol/httpbind' rid='1573741820' to='example.org' xml:lang='en' wait='60' hold='1' ver='1.6' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'/>"),
		("auth", "<body xmlns='http://jabber.org/protocol/httpbind' rid='1573741821' sid='4e7a9c1d'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHBlbmNpbA==</auth></body>"),
		("restart", "<body xmlns='http://jabber.org/protocol/httpbind' rid='1573741822' sid='4e7a9c1d' to='example.org' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'/>"),
		("chat", "<body xmlns='http://jabber.org/protocol/httpbind' rid='1573741823' sid='4e7a9c1d'><message xmlns='jabber:client' to='bob@example.org' type='chat'><body>hi &amp; bye</body></message><presence xmlns='jabber:client'/></body>"),
		("terminate", "<body xmlns='http://jabber.org/protocol/httpbind' rid='1573741824' sid='4e7a9c1d' type='terminate'><presence xmlns='jabber:client' type='unavailable'/></body>"),
	] {
		put("bosh", name, body.as_bytes());
	}
	put("bosh", "rids", &[1u8, 1, 2, 0x83, 2, 3, 0x84, 1, 5, 4, 0x86, 6, 6, 6]);
	put(
		"websocket",
		"ours",
		b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='example.org' version='1.0'>\
		  <stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features><message to='a@example.org'><body>hi</body></message></stream:stream>",
	);

	// socks5: greeting, then CONNECT to a stream hash.
	let hash = xerra::proto::socks5::stream_hash("sid1", "alice@example.org/phone", "bob@example.org/laptop");
	let mut req = vec![5u8, 1, 0, 3, 40];
	req.extend_from_slice(hash.as_bytes());
	req.extend_from_slice(&[0, 0]);
	put("socks5", "connect", &[&[5u8, 2, 0, 2][..], &req].concat());
	put("socks5", "ipv4", &[5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);

	// dialback
	let key = xerra::proto::dialback::key(b"s3cr3tf0rd14lb4ck", "example.org", "example.net", "D60000229F");
	put(
		"dialback",
		"result-verify",
		format!(
			"{server_header}<db:result from='example.net' to='example.org'>{key}</db:result>\
			 <db:verify from='example.net' to='example.org' id='D60000229F'>{key}</db:verify>\
			 <db:result from='example.net' to='example.org' type='valid'/>"
		)
		.as_bytes(),
	);

	// form
	for (i, f) in [
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>\
		 <field var='with'><value>juliet@capulet.lit</value></field><field var='start'><value>2024-06-07T00:00:00Z</value></field></x>",
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>\
		 <field var='pubsub#persist_items'><value>true</value></field><field var='pubsub#access_model'><value>whitelist</value></field>\
		 <field var='pubsub#max_items'><value>max</value></field></x>",
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
		 <field var='muc#roomconfig_roomname' type='text-single'><value>Lunch</value></field>\
		 <field var='muc#roomconfig_roomowners' type='jid-multi'><value>a@example.org</value><value>b@example.org</value></field>\
		 <field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_moderatedroom'><value>0</value></field></x>",
	]
	.iter()
	.enumerate()
	{
		put("form", &format!("{i}"), f.as_bytes());
	}

	// store: rows from our encoders, and the room row as versions 1 and 2.
	for (i, row) in xerra::store::fuzzing::sample_rows().into_iter().enumerate() {
		put("store", &format!("{i}"), &row);
		if i == 6 {
			for v in [1u8, 2] {
				put("store", &format!("{i}-v{v}"), &[&[v][..], &row[1..]].concat());
			}
		}
	}
	println!("{n} seeds written to {}", dir.display());
}

/// A WebSocket frame as a browser sends it: final, masked.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
	let mask = [0x37u8, 0xfa, 0x21, 0x3d];
	let mut out = vec![0x80 | opcode];
	match payload.len() {
		n if n < 126 => out.push(0x80 | n as u8),
		n => {
			out.push(0x80 | 126);
			out.extend_from_slice(&(n as u16).to_be_bytes());
		}
	}
	out.extend_from_slice(&mask);
	out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
	out
}
