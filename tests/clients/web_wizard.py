#!/usr/bin/python3
"""Walks Xerra's first-boot web wizard the way a person does, in a real browser.

    /usr/bin/python3 web_wizard.py --url http://127.0.0.1:PORT/ --code K7QF-M2XD \
        --domain xerra.test --admin admin --password 'PW' \
        --people 'Anna Berg, Sales\\nJoan Puig, Sales' [--expect-error]

Starts Debian's chromium headless and drives it over the Chrome DevTools
Protocol (python3-websocket): opens URL (which redirects to /setup), types
into every form field with Input.insertText, clicks #apply with the mouse,
waits for the next page and reads it. A literal "\\n" in --people is a line
break.

Prints one JSON object on stdout:
    {"ok", "url", "status": "done"|"error"|null, "error", "fingerprint",
     "accounts": [{"jid", "password"}], "title"}
and exits 0 if the page reached is the one expected (the done page, or the
error page with --expect-error), 1 otherwise with the reason on stderr.
Chromium and its profile directory are always removed; the whole run is
limited to --timeout seconds (60).

Needs chromium and python3-websocket (tests/setup installs them); run it
with /usr/bin/python3.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

# How long one page may take to load after a navigation or a click.
PAGE_WAIT = 30


class Failure(Exception):
	"""The wizard run did not get where it should."""


class TimedOut(Failure):
	"""The overall time limit ran out."""


class Cdp:
	"""One DevTools websocket session: numbered commands, queued events."""

	def __init__(self, ws_url):
		# Chromium refuses websocket clients that send an Origin it was not told about.
		self.ws = websocket.create_connection(ws_url, timeout=PAGE_WAIT, suppress_origin=True)
		self.next_id = 0
		self.events = []

	def close(self):
		try:
			self.ws.close()
		except Exception:
			pass

	def _recv(self, deadline):
		left = deadline - time.monotonic()
		if left <= 0:
			return None
		self.ws.settimeout(left)
		try:
			return json.loads(self.ws.recv())
		except websocket.WebSocketTimeoutException:
			return None

	def call(self, method, **params):
		self.next_id += 1
		mid = self.next_id
		self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
		deadline = time.monotonic() + PAGE_WAIT
		while True:
			msg = self._recv(deadline)
			if msg is None:
				raise Failure(f"no answer to {method}")
			if msg.get("id") == mid:
				if "error" in msg:
					raise Failure(f"{method}: {msg['error'].get('message')}")
				return msg.get("result", {})
			if "method" in msg:
				self.events.append(msg)

	def wait_event(self, names, timeout):
		"""Returns the first queued or arriving event named in `names`, or None."""
		deadline = time.monotonic() + timeout
		while True:
			for i, ev in enumerate(self.events):
				if ev["method"] in names:
					del self.events[i]
					return ev
			msg = self._recv(deadline)
			if msg is None:
				return None
			if "method" in msg:
				self.events.append(msg)

	def js(self, expr):
		"""Evaluates `expr` in the page and returns its value (JSON-able)."""
		r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
		if "exceptionDetails" in r:
			raise Failure(f"page script failed: {r['exceptionDetails'].get('text')} in {expr[:80]}")
		return r["result"].get("value")


def start_chromium(tmp, extra_flags=()):
	log = open(os.path.join(tmp, "chromium.log"), "wb")
	cmd = [
		"chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
		"--remote-debugging-port=0", f"--user-data-dir={tmp}/profile",
		# Nothing outside loopback is reachable; keep chromium from trying.
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", *extra_flags, "about:blank",
	]
	# Own process group, so the renderer and zygote children go with it.
	return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)


def stop_chromium(proc):
	if proc is None:
		return
	for sig in (signal.SIGTERM, signal.SIGKILL):
		try:
			os.killpg(proc.pid, sig)
		except ProcessLookupError:
			return
		try:
			proc.wait(timeout=5)
			return
		except subprocess.TimeoutExpired:
			pass


def page_ws_url(proc, tmp):
	"""Waits for chromium's DevTools port and returns the page target's websocket."""
	port_file = os.path.join(tmp, "profile", "DevToolsActivePort")
	deadline = time.monotonic() + 20
	port = None
	while time.monotonic() < deadline:
		if proc.poll() is not None:
			raise Failure(f"chromium exited with {proc.returncode}: {chromium_log(tmp)}")
		try:
			with open(port_file) as f:
				port = int(f.readline().strip())
			break
		except (OSError, ValueError):
			time.sleep(0.1)
	if port is None:
		raise Failure(f"chromium wrote no DevToolsActivePort: {chromium_log(tmp)}")
	# No proxy may stand between us and loopback, whatever the environment says.
	opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
	while time.monotonic() < deadline:
		with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
			targets = json.load(r)
		pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
		if pages:
			return pages[0]["webSocketDebuggerUrl"]
		time.sleep(0.1)
	raise Failure("chromium has no page target")


def chromium_log(tmp):
	try:
		with open(os.path.join(tmp, "chromium.log"), "rb") as f:
			return f.read()[-2000:].decode(errors="replace").strip()
	except OSError:
		return ""


def load(cdp, what, start):
	"""Runs `start` (which begins a navigation) and waits until the new page has loaded."""
	cdp.events.clear()
	start()
	if cdp.wait_event({"Page.loadEventFired"}, PAGE_WAIT) is None:
		raise Failure(f"{what}: no page load within {PAGE_WAIT}s")


def type_into(cdp, name, text):
	"""Focuses the field `name`, clears it with a real Backspace and types `text`."""
	sel = json.dumps(f'#setup [name="{name}"]')
	found = cdp.js(f"""(() => {{
		const el = document.querySelector({sel});
		if (!el) return null;
		el.scrollIntoView({{block: "center"}});
		el.focus();
		el.select();
		return el.value;
	}})()""")
	if found is None:
		raise Failure(f"the form has no field named {name!r}")
	if found:
		# The selection covers the pre-filled value; Backspace removes it as a person would.
		for kind in ("rawKeyDown", "keyUp"):
			cdp.call("Input.dispatchKeyEvent", type=kind, key="Backspace", code="Backspace",
				windowsVirtualKeyCode=8, nativeVirtualKeyCode=8)
	if text:
		cdp.call("Input.insertText", text=text)
	got = cdp.js(f"document.querySelector({sel}).value")
	# Browsers store textarea line breaks as \n; compare the same way.
	if got != text.replace("\r\n", "\n"):
		raise Failure(f"field {name!r} holds {got!r} after typing {text!r}")


def click_apply(cdp):
	"""Clicks #apply at the centre of its box; falls back to a DOM click if nothing starts."""
	cdp.js('document.querySelector("#apply") && document.querySelector("#apply").scrollIntoView({block: "center"})')
	root = cdp.call("DOM.getDocument", depth=0)["root"]["nodeId"]
	node = cdp.call("DOM.querySelector", nodeId=root, selector="#apply")["nodeId"]
	if not node:
		raise Failure("the page has no #apply button")
	try:
		quad = cdp.call("DOM.getBoxModel", nodeId=node)["model"]["content"]
	except Failure:
		quad = None
	if quad:
		x = sum(quad[0::2]) / 4
		y = sum(quad[1::2]) / 4
		cdp.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
		for kind in ("mousePressed", "mouseReleased"):
			cdp.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=1, clickCount=1)
		# A real click starts a navigation at once; only without one is a second way tried,
		# so the form is never sent twice.
		started = cdp.wait_event({"Page.frameRequestedNavigation", "Page.frameStartedLoading"}, 3)
		if started is not None:
			return "mouse"
	cdp.js('document.querySelector("#apply").click()')
	return "dom"


READ_PAGE = r"""(() => {
	const text = (el) => el ? el.textContent.trim() : null;
	return {
		url: location.href,
		title: document.title,
		done: !!document.getElementById("done"),
		error: document.getElementById("error") ? text(document.getElementById("error")) : null,
		fingerprint: text(document.getElementById("ca-fingerprint")),
		accounts: Array.from(document.querySelectorAll("li.account")).map((li) => ({
			jid: text(li.querySelector(".jid")),
			password: text(li.querySelector("code.password")),
		})),
		form: !!document.getElementById("setup"),
	};
})()"""


def run(args, out):
	tmp = tempfile.mkdtemp(prefix="xerra-wizard-")
	proc = cdp = None
	try:
		proc = start_chromium(tmp)
		cdp = Cdp(page_ws_url(proc, tmp))
		for domain in ("Page", "DOM", "Runtime"):
			cdp.call(f"{domain}.enable")
		nav = []
		load(cdp, f"opening {args.url}", lambda: nav.append(cdp.call("Page.navigate", url=args.url)))
		if nav[0].get("errorText"):
			raise Failure(f"cannot open {args.url}: {nav[0]['errorText']}")
		where = cdp.js("location.href")
		out["url"] = where
		if not cdp.js('!!document.querySelector("form#setup")'):
			raise Failure(f"{where} shows no form#setup (title {cdp.js('document.title')!r})")
		fields = [("code", args.code), ("domain", args.domain), ("admin", args.admin),
			("password", args.password), ("password2", args.password2 if args.password2 is not None else args.password),
			("people", args.people.replace("\\n", "\n"))]
		for name, value in fields:
			type_into(cdp, name, value)
		how = []
		load(cdp, "submitting the form", lambda: how.append(click_apply(cdp)))
		page = cdp.js(READ_PAGE)
		out.update(url=page["url"], title=page["title"], error=page["error"],
			fingerprint=page["fingerprint"], accounts=page["accounts"], click=how[0])
		out["status"] = "done" if page["done"] else "error" if page["error"] is not None else None
		want = "error" if args.expect_error else "done"
		if out["status"] != want:
			got = out["status"] or "neither #done nor #error"
			detail = f": {page['error']}" if page["error"] else ""
			raise Failure(f"expected the {want} page, got {got}{detail} at {page['url']} (title {page['title']!r})")
		if want == "error" and not page["form"]:
			raise Failure("the error page does not show the form again")
		if want == "done" and not page["fingerprint"]:
			raise Failure("the done page shows no #ca-fingerprint")
		out["ok"] = True
	finally:
		# The time limit must not cut the cleanup short.
		signal.alarm(0)
		if cdp is not None:
			cdp.close()
		stop_chromium(proc)
		shutil.rmtree(tmp, ignore_errors=True)


def limit_run(seconds):
	"""The whole run ends with TimedOut after `seconds`; SIGTERM from a test
	harness exits (through the callers' cleanup of chromium and its profile)."""
	def on_alarm(signum, frame):
		raise TimedOut(f"gave up after {seconds}s")

	signal.signal(signal.SIGALRM, on_alarm)
	signal.signal(signal.SIGTERM, lambda s, f: sys.exit(1))
	signal.alarm(seconds)


def attempt(run, *args):
	"""Runs `run(*args)` under the limit set by limit_run; returns why it
	failed, or None."""
	try:
		run(*args)
		return None
	except Failure as e:
		return str(e)
	except (OSError, websocket.WebSocketException) as e:
		return f"{type(e).__name__}: {e}"
	finally:
		signal.alarm(0)


def main():
	p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	p.add_argument("--url", required=True, help="the wizard's base URL, e.g. http://127.0.0.1:8080/")
	p.add_argument("--code", required=True, help="the first-boot setup code")
	p.add_argument("--domain", required=True)
	p.add_argument("--admin", required=True)
	p.add_argument("--password", required=True)
	p.add_argument("--password2", help="what to type in the repeat field (default: --password)")
	p.add_argument("--people", default="", help='one "Name, Group" per line; a literal \\n breaks lines')
	p.add_argument("--expect-error", action="store_true", help="succeed only if the wizard shows #error")
	p.add_argument("--timeout", type=int, default=60, help="limit for the whole run, seconds")
	args = p.parse_args()

	limit_run(args.timeout)
	out = {"ok": False, "url": None, "status": None, "error": None, "fingerprint": None, "accounts": [], "title": None}
	reason = attempt(run, args, out)
	print(json.dumps(out), flush=True)
	if reason:
		print(f"web_wizard: {reason}", file=sys.stderr)
		return 1
	return 0


if __name__ == "__main__":
	sys.exit(main())
