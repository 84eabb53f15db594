//! What the box's web page answers: the first-boot wizard while the box is
//! unconfigured, the CA certificate for clients to trust, a health check.
//! Plain HTML forms, no scripts: works in any browser, and on a phone.

use super::{Request, Response};
use crate::server::App;
use crate::setup::{self, Answers, Plan, SetupError};
use crate::xmpp::element::escape;

const STYLE: &str = "body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.4}\
label{display:block;margin-top:1em;font-weight:bold}input,textarea{width:100%;padding:.4em;box-sizing:border-box}\
textarea{height:8em}button{margin-top:1.5em;padding:.6em 2em;font-size:1.1em}.error{color:#b00;font-weight:bold}\
code{background:#eee;padding:0 .2em;word-break:break-all}small{color:#555}";

pub async fn route(app: &App, req: Request) -> Response {
	let setup_open = app.setup_open();
	match (req.method.as_str(), req.path.as_str()) {
		("GET" | "HEAD", "/") if setup_open => Response::redirect("/setup"),
		("GET" | "HEAD", "/") => index(app, &req),
		("GET" | "HEAD", "/setup") if setup_open => form(app, &Answers::default(), None, 200),
		("GET" | "HEAD", "/setup/restore") if setup_open => restore_form(app, None, 200),
		("POST", "/setup") if setup_open => submit(app, &req).await,
		(_, "/setup" | "/setup/restore") => page(
			404,
			"Setup is closed",
			"<p>This box is already set up. The setup page is closed for good.</p><p><a href=\"/\">Home</a></p>",
		),
		("GET" | "HEAD", "/ca.pem") => {
			let mut r = Response::new(200, "application/x-pem-file", app.ca.cert_pem.clone());
			r.headers.push(("Content-Disposition", "attachment; filename=\"xerra-ca.pem\"".into()));
			r
		}
		("GET" | "HEAD", "/ca.crt") => {
			let mut r = Response::new(200, "application/pkix-cert", app.ca.cert_der.clone());
			r.headers.push(("Content-Disposition", "attachment; filename=\"xerra-ca.crt\"".into()));
			r
		}
		("GET" | "HEAD", "/metrics") => crate::stats::openmetrics::answer(app, &req).await,
		("GET" | "HEAD", "/health") => Response::text(200, if setup_open { "setup\n" } else { "ok\n" }),
		("GET" | "HEAD", "/.well-known/host-meta") => host_meta(app, false),
		("GET" | "HEAD", "/.well-known/host-meta.json") => host_meta(app, true),
		(_, "/" | "/ca.pem" | "/ca.crt" | "/health" | "/metrics") => Response::text(405, "method not allowed\n"),
		_ => page(404, "Not found", "<p>Nothing here. <a href=\"/\">Home</a></p>"),
	}
}

/// XEP-0156 where a browser given the box's name looks, as on the HTTPS
/// port; nothing while the box is not serving (no WebSocket yet).
fn host_meta(app: &App, json: bool) -> Response {
	let server = app.server.borrow().clone();
	match server.filter(|s| s.upload_port.get().is_some()) {
		Some(server) => {
			let (body, ty) = crate::http::upload::host_meta_document(&server, json);
			let mut r = Response::new(200, ty, body);
			// Web clients on any origin read it (XEP-0156 §3.2.1).
			r.headers.push(("Access-Control-Allow-Origin", "*".into()));
			r
		}
		None => page(404, "Not found", "<p>No WebSocket endpoint here. <a href=\"/\">Home</a></p>"),
	}
}

fn page(status: u16, title: &str, body: &str) -> Response {
	let html = format!(
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
		 <title>{} - Xerra</title><style>{STYLE}</style></head><body><h1>{}</h1>\n{body}\n</body></html>\n",
		escape(title),
		escape(title)
	);
	Response::new(status, "text/html; charset=utf-8", html)
}

/// Installing the CA is what makes every app trust the box (Dino 0.4 takes
/// nothing else). An app that asks instead shows a fingerprint of its own
/// choosing: each is listed as that app writes it, so it can be compared
/// character by character. Gajim 1.7 shows the server certificate's SHA-256
/// (upper case, colons, 8 bytes a line); Conversations each certificate of
/// the chain's SHA-256 (lower case, colons); Profanity 0.13 the SHA-1 of the
/// certificate that failed, which is the CA, sent in the chain (lower case,
/// no separators).
fn trust_section(app: &App) -> String {
	let ca = &app.ca.cert_der;
	let leaf = app.server.borrow().as_ref().map(|s| s.tls_leaf.borrow().clone()).filter(|l| !l.is_empty());
	let row = |name: &str, id: &str, value: String| format!("<tr><th>{name}</th><td><code id=\"{id}\">{value}</code></td></tr>");
	let mut rows = String::new();
	if let Some(leaf) = &leaf {
		let sha256 = digest(&ring::digest::SHA256, leaf);
		let gajim = sha256.chunks(8).map(|line| hex(line, true, ":")).collect::<Vec<_>>().join("<br>");
		rows.push_str(&row("Server certificate SHA-256 (Gajim)", "fp-gajim", gajim));
		rows.push_str(&row("Server certificate SHA-256 (Conversations)", "fp-conversations", hex(&sha256, false, ":")));
	}
	rows.push_str(&row("CA SHA-1 (Profanity)", "fp-profanity", hex(&digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, ca), false, "")));
	rows.push_str(&row("CA SHA-256 (the box's console)", "ca-fingerprint", app.ca.fingerprint()));
	let renewal = if leaf.is_some() {
		"The server certificate is renewed every few months, and its fingerprints with it; the CA's stay."
	} else {
		"The server certificate's fingerprints (Gajim, Conversations) are on the home page once the box serves."
	};
	format!(
		"<h2>Trust this box</h2><p>Chat apps check the server's certificate. This box signs its own: install its \
		 certificate authority on your devices, and every app trusts the box (Dino accepts nothing else).</p>\
		 <p><a id=\"ca-pem\" href=\"/ca.pem\">Download the CA certificate (PEM, Linux)</a> · \
		 <a id=\"ca-crt\" href=\"/ca.crt\">(DER: Android, Windows, iPhone, Mac)</a></p>\
		 <p>An app that asks whether to trust the certificate shows a fingerprint: it must be the one listed here \
		 for that app, written the same way.</p><table id=\"fingerprints\">{rows}</table><p><small>{renewal}</small></p>"
	)
}

fn digest(algorithm: &'static ring::digest::Algorithm, der: &[u8]) -> Vec<u8> {
	ring::digest::digest(algorithm, der).as_ref().to_vec()
}

fn hex(bytes: &[u8], upper: bool, separator: &str) -> String {
	let byte = |b: &u8| if upper { format!("{b:02X}") } else { format!("{b:02x}") };
	bytes.iter().map(byte).collect::<Vec<_>>().join(separator)
}

/// Where apps connect: the client ports as bound (or, before the server
/// runs, as configured), and the WebSocket endpoint for web apps.
fn ports(app: &App) -> String {
	let server = app.server.borrow().clone();
	let config = app.config();
	let (c2s, direct) = match &server {
		Some(s) => s.c2s_ports.get(),
		None => (config.c2s_port, config.c2s_tls_port),
	};
	let mut ways = Vec::new();
	if let Some(p) = c2s.filter(|p| *p != 0) {
		ways.push(format!("port <code id=\"port-c2s\">{p}</code> (STARTTLS)"));
	}
	if let Some(p) = direct.filter(|p| *p != 0) {
		ways.push(format!("port <code id=\"port-c2s-tls\">{p}</code> (direct TLS)"));
	}
	let mut text =
		if ways.is_empty() { String::from("the server is this box.") } else { format!("the server is this box, {}.", ways.join(" or ")) };
	if let Some(url) = server.filter(|s| s.upload_port.get().is_some()).map(|s| crate::http::upload::websocket_url(&s)) {
		text.push_str(&format!(" Web apps connect to <code id=\"websocket\">{}</code>.", escape(&url)));
	}
	text
}

fn index(app: &App, req: &Request) -> Response {
	let domain = app.domain();
	let body = format!(
		"<p>Xerra serves chat addresses <b>name@{d}</b>. In your chat app (Conversations, Gajim, Dino, Monal, …) \
		 log in with your address and password; {ports}</p>{}{}{}",
		web_client_link(app, req),
		console_link(app, req),
		trust_section(app),
		d = escape(&domain),
		ports = ports(app),
	);
	page(200, &format!("Chat at {domain}"), &body)
}

/// The web client (`/chat/` on the HTTPS port), when it is on.
fn web_client_link(app: &App, req: &Request) -> String {
	let on = app.server.borrow().as_ref().is_some_and(|s| s.config.web_client_dir.is_some());
	let Some(base) = https_base(app, req).filter(|_| on) else { return String::new() };
	let url = format!("{base}/chat/");
	format!("<p>No app at hand? <a id=\"web-client\" href=\"{u}\">Chat in this browser</a> (<code>{u}</code>).</p>", u = escape(&url))
}

/// Where the admin console is: the HTTPS port, on the host this page was
/// reached by (an address or a name that already works from here).
fn console_link(app: &App, req: &Request) -> String {
	let Some(base) = https_base(app, req) else { return String::new() };
	let url = format!("{base}/console/");
	format!(
		"<h2>Admins</h2><p>Run the box from the <a id=\"console\" href=\"{u}\">admin console</a> (<code>{u}</code>): people, \
		 departments, invitations, settings, statistics. Your browser will ask you to trust the box's certificate \
		 (below).</p>",
		u = escape(&url)
	)
}

/// `https://HOST:PORT` of the HTTPS port, on the host this page was reached
/// by (an address or a name that already works from here).
fn https_base(app: &App, req: &Request) -> Option<String> {
	let port = app.server.borrow().as_ref().and_then(|s| s.upload_port.get())?;
	let host = req.header("host").unwrap_or("");
	// The host without its port ([v6]:port, name:port); our domain if it is not plain.
	let host = match host.rsplit_once(':') {
		Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
		_ => host,
	};
	let plain = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
	let host = if plain { host.to_owned() } else { app.domain() };
	Some(format!("https://{host}:{port}"))
}

fn form(app: &App, a: &Answers, error: Option<&SetupError>, status: u16) -> Response {
	let value = |v: &str, default: &str| escape(if v.is_empty() { default } else { v });
	let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(&e.to_string()))).unwrap_or_default();
	let body = format!(
		"<p>Welcome. Three questions and this box is your office's chat server.</p>\
		 <p>Moving from another box, or replacing one? <a id=\"restore\" href=\"/setup/restore\">Restore from a backup</a> instead.</p>{error}\
		 <form id=\"setup\" method=\"post\" action=\"/setup\">\
		 <label for=\"code\">Setup code</label><small>Shown on the box's console and in <code>xerra-setup.txt</code> on its boot partition.</small>\
		 <input id=\"code\" name=\"code\" autocomplete=\"off\" autocapitalize=\"characters\" required>\
		 <label for=\"domain\">1. Chat domain</label><small>Addresses will look like anna@this-domain. A LAN name such as \
		 <code>xerra.local</code> or <code>xerra.lan</code>, or a domain you own. It cannot be changed later.</small>\
		 <input id=\"domain\" name=\"domain\" value=\"{domain}\" required>\
		 <label for=\"admin\">2. Admin account</label><small>User name of the person who runs the box.</small>\
		 <input id=\"admin\" name=\"admin\" value=\"{admin}\" required>\
		 <label for=\"password\">Admin password</label><small>At least {min} characters.</small>\
		 <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"{min}\" required>\
		 <label for=\"password2\">Admin password again</label>\
		 <input id=\"password2\" name=\"password2\" type=\"password\" autocomplete=\"new-password\" minlength=\"{min}\" required>\
		 <label for=\"people\">3. Who will chat here? (optional)</label><small>One person per line: <code>Full Name</code> or \
		 <code>Full Name, Department</code>. Each gets an account and a password shown on the next page.</small>\
		 <textarea id=\"people\" name=\"people\">{people}</textarea>\
		 <button type=\"submit\" id=\"apply\">Set up</button></form>{trust}",
		domain = value(&a.domain, setup::DEFAULT_DOMAIN),
		admin = value(&a.admin, setup::DEFAULT_ADMIN),
		people = escape(&a.people),
		min = setup::MIN_PASSWORD_CHARS,
		trust = trust_section(app),
	);
	page(status, "Set up Xerra", &body)
}

async fn submit(app: &App, req: &Request) -> Response {
	let mut a = Answers::default();
	let mut code = String::new();
	for (k, v) in form_urlencoded::parse(&req.body) {
		match &*k {
			"code" => code = v.into_owned(),
			"domain" => a.domain = v.into_owned(),
			"admin" => a.admin = v.into_owned(),
			"password" => a.password = v.into_owned(),
			"password2" => a.password2 = v.into_owned(),
			"people" => a.people = v.into_owned(),
			_ => {}
		}
	}
	let result = match app.check_code(&code, req.peer.ip()).await {
		Ok(()) => app.finish_setup(&a).await,
		Err(e) => Err(e),
	};
	match result {
		Ok(plan) => {
			log::info!("set up from the web page at {} for {}", req.peer.ip(), plan.domain);
			done(app, &plan)
		}
		Err(e) => {
			let status = match e {
				SetupError::WrongCode => 403,
				SetupError::LockedOut(_) => 429,
				SetupError::AlreadyConfigured => 409,
				SetupError::Store(_) => 500,
				_ => 400,
			};
			// Passwords are never sent back into the page.
			a.password.clear();
			a.password2.clear();
			form(app, &a, Some(&e), status)
		}
	}
}

/// The wizard's "Restore from a backup" form (posted to `restore::upload`).
pub fn restore_form(app: &App, error: Option<&str>, status: u16) -> Response {
	let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e))).unwrap_or_default();
	let body = format!(
		"<p>The box comes back as the backup's box: the same domain, accounts, rooms, archives, files and certificate \
		 authority, so every app reconnects without noticing.</p>{error}\
		 <form id=\"restore\" method=\"post\" action=\"/setup/restore\" enctype=\"multipart/form-data\">\
		 <label for=\"code\">Setup code</label><small>Shown on the box's console and in <code>xerra-setup.txt</code> on its boot partition.</small>\
		 <input id=\"code\" name=\"code\" autocomplete=\"off\" autocapitalize=\"characters\" required>\
		 <label for=\"secret\">Recovery key or passphrase</label><small>The <code>AGE-SECRET-KEY-1…</code> of the emergency kit, \
		 or the passphrase the backup was made with.</small>\
		 <input id=\"secret\" name=\"secret\" type=\"password\" autocomplete=\"off\" required>\
		 <label for=\"file\">Backup file</label><small>At most {max}.</small>\
		 <input id=\"file\" name=\"file\" type=\"file\" accept=\".xerra-backup\" required>\
		 <button type=\"submit\" id=\"apply\">Restore</button></form>\
		 <p><a href=\"/setup\">Set up a new box instead</a></p>",
		max = crate::store::mib(app.limits().setup_restore_max_bytes),
	);
	page(status, "Restore Xerra from a backup", &body)
}

/// After a restore: the box starts again with it.
pub fn restored(text: &str) -> Response {
	page(
		200,
		"Restored",
		&format!(
			"<p id=\"restored\">{}</p><p>In a moment the box serves again; apps reconnect by themselves. \
			 Its web console is on the HTTPS port as before.</p>",
			escape(text.trim())
		),
	)
}

fn done(app: &App, plan: &Plan) -> Response {
	let d = escape(&plan.domain);
	let mut people = String::new();
	for p in &plan.people {
		let dep = p.department.as_deref().map(|x| format!(" <small>({})</small>", escape(x))).unwrap_or_default();
		people.push_str(&format!(
			"<li class=\"account\">{}: <span class=\"jid\">{}@{d}</span> password <code class=\"password\">{}</code>{dep}</li>",
			escape(&p.name),
			escape(&p.user),
			escape(&p.password)
		));
	}
	let people = if people.is_empty() {
		String::new()
	} else {
		format!(
			"<h2>Accounts</h2><p>Give each person their address and password (shown only now; print or copy this page).</p><ul id=\"accounts\">{people}</ul>"
		)
	};
	let body = format!(
		"<p id=\"done\">Done. The chat server now serves <b>{d}</b>; setup is closed.</p>\
		 <p>Admin: <span class=\"jid\" id=\"admin-jid\">{}@{d}</span></p>{people}{}\
		 <p>Connect a chat app with one of these addresses: {}</p>",
		escape(&plan.admin),
		trust_section(app),
		ports(app),
	);
	page(200, "Xerra is set up", &body)
}
