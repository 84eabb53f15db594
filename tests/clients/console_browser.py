#!/usr/bin/python3
"""Drives Debian's headless chromium for tests/console.rs, one step at a time.

    /usr/bin/python3 console_browser.py [--timeout SECONDS]

Reads one JSON command per line on stdin and answers each with one JSON
line on stdout ({"ok": true, ...} or {"ok": false, "error": "..."}), so the
Rust test can do XMPP things between the browser's steps. Commands:

    {"cmd": "open", "url": U}                 navigate and wait for the load
    {"cmd": "reload"}                         the browser's reload button
    {"cmd": "fill", "selector": S, "text": T} focus, clear with Backspace, type T
    {"cmd": "click", "selector": S}           a mouse click at the element's centre;
                                              waits for the page it loads, if any
    {"cmd": "page"}                           url, title, HTTP status, html, text
    {"cmd": "js", "expr": E}                  the value of E in the page
    {"cmd": "agent", "ua": UA}                what the browser says it is, from now on
    {"cmd": "shot", "path": P, "width": W, "height": H, "mobile": bool}
                                              a PNG of the whole page at that size
    {"cmd": "file", "selector": S, "path": P}  chooses file P in the file input S
    {"cmd": "download", "selector": S, "dir": D}
                                              clicks a download link and waits for the
                                              file to be saved in D; its name and size
    {"cmd": "quit"}

Every name resolves to 127.0.0.1 (--host-resolver-rules), so nothing leaves
the machine; the box's certificate is not checked by the browser
(--ignore-certificate-errors: the test has no way to install its CA in
chromium's store). Chromium and its profile are always removed; the whole run
is limited to --timeout seconds (300). Reuses web_wizard.py's DevTools client.
"""

import argparse
import base64
import json
import shutil
import signal
import sys
import tempfile

from web_wizard import PAGE_WAIT, Cdp, Failure, limit_run, page_ws_url, start_chromium, stop_chromium

CHROMIUM_FLAGS = ("--host-resolver-rules=MAP * 127.0.0.1", "--ignore-certificate-errors", "--window-size=1100,900")

READ_PAGE = r"""(() => {
	const nav = performance.getEntriesByType("navigation")[0];
	return {
		url: location.href,
		title: document.title,
		status: nav ? nav.responseStatus : null,
		html: document.documentElement.outerHTML,
		text: document.body ? document.body.innerText : "",
	};
})()"""


def wait_load(cdp):
	if cdp.wait_event({"Page.loadEventFired"}, PAGE_WAIT) is None:
		raise Failure(f"no page load within {PAGE_WAIT}s")


def node_of(cdp, selector):
	root = cdp.call("DOM.getDocument", depth=0)["root"]["nodeId"]
	node = cdp.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
	if not node:
		raise Failure(f"nothing matches {selector!r} on {cdp.js('location.href')}")
	return node


def fill(cdp, selector, text):
	sel = json.dumps(selector)
	found = cdp.js(f"""(() => {{
		const el = document.querySelector({sel});
		if (!el) return null;
		el.scrollIntoView({{block: "center"}});
		el.focus();
		if (el.select) el.select();
		return el.value;
	}})()""")
	if found is None:
		raise Failure(f"no field {selector!r}")
	if found:
		for kind in ("rawKeyDown", "keyUp"):
			cdp.call("Input.dispatchKeyEvent", type=kind, key="Backspace", code="Backspace",
				windowsVirtualKeyCode=8, nativeVirtualKeyCode=8)
	if text:
		cdp.call("Input.insertText", text=text)
	got = cdp.js(f"document.querySelector({sel}).value")
	if got != text:
		raise Failure(f"{selector!r} holds {got!r} after typing {text!r}")


def click(cdp, selector):
	"""A real mouse click; returns whether a new page was loaded."""
	cdp.js(f"document.querySelector({json.dumps(selector)})?.scrollIntoView({{block: 'center'}})")
	node = node_of(cdp, selector)
	quad = cdp.call("DOM.getBoxModel", nodeId=node)["model"]["border"]
	x = sum(quad[0::2]) / 4
	y = sum(quad[1::2]) / 4
	cdp.events.clear()
	cdp.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
	for kind in ("mousePressed", "mouseReleased"):
		cdp.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=1, clickCount=1)
	if cdp.wait_event({"Page.frameRequestedNavigation", "Page.frameStartedLoading"}, 2) is None:
		return False
	wait_load(cdp)
	return True


def download(cdp, selector, into):
	"""Clicks a link that downloads, and waits until the file is saved."""
	cdp.call("Page.setDownloadBehavior", behavior="allow", downloadPath=into)
	cdp.events.clear()
	click(cdp, selector)
	begin = cdp.wait_event({"Page.downloadWillBegin"}, PAGE_WAIT)
	if begin is None:
		raise Failure(f"clicking {selector!r} started no download")
	name = begin["params"]["suggestedFilename"]
	while True:
		ev = cdp.wait_event({"Page.downloadProgress"}, PAGE_WAIT)
		if ev is None:
			raise Failure(f"the download of {name} did not finish within {PAGE_WAIT}s")
		state = ev["params"]["state"]
		if state == "completed":
			return {"name": name, "bytes": ev["params"].get("receivedBytes", 0)}
		if state == "canceled":
			raise Failure(f"the download of {name} was cancelled")


def shot(cdp, path, width, height, mobile):
	cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)
	try:
		# Relayout at the new width before measuring the page.
		cdp.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
		full = cdp.js("Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight))")
		h = max(height, min(int(full or height), 8000))
		cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=h, deviceScaleFactor=1, mobile=mobile)
		cdp.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
		data = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
		with open(path, "wb") as f:
			f.write(base64.b64decode(data))
		# How wide the page really is: wider than the screen means sideways scrolling.
		return {"path": path, "scroll_width": cdp.js("document.documentElement.scrollWidth"), "height": h}
	finally:
		cdp.call("Emulation.clearDeviceMetricsOverride")


def step(cdp, c):
	cmd = c.get("cmd")
	if cmd == "open":
		cdp.events.clear()
		nav = cdp.call("Page.navigate", url=c["url"])
		if nav.get("errorText"):
			raise Failure(f"cannot open {c['url']}: {nav['errorText']}")
		wait_load(cdp)
		return cdp.js(READ_PAGE)
	if cmd == "reload":
		cdp.events.clear()
		cdp.call("Page.reload", ignoreCache=True)
		wait_load(cdp)
		return cdp.js(READ_PAGE)
	if cmd == "fill":
		fill(cdp, c["selector"], c["text"])
		return {}
	if cmd == "click":
		loaded = click(cdp, c["selector"])
		return {"loaded": loaded, **cdp.js(READ_PAGE)}
	if cmd == "page":
		return cdp.js(READ_PAGE)
	if cmd == "js":
		return {"value": cdp.js(c["expr"])}
	if cmd == "agent":
		cdp.call("Emulation.setUserAgentOverride", userAgent=c["ua"])
		return {}
	if cmd == "file":
		cdp.call("DOM.setFileInputFiles", files=[c["path"]], nodeId=node_of(cdp, c["selector"]))
		return {}
	if cmd == "download":
		return download(cdp, c["selector"], c["dir"])
	if cmd == "shot":
		return shot(cdp, c["path"], c.get("width", 1100), c.get("height", 900), c.get("mobile", False))
	raise Failure(f"unknown command {cmd!r}")


def main():
	p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	p.add_argument("--timeout", type=int, default=300)
	args = p.parse_args()
	limit_run(args.timeout)
	tmp = tempfile.mkdtemp(prefix="xerra-console-")
	proc = cdp = None
	try:
		proc = start_chromium(tmp, CHROMIUM_FLAGS)
		cdp = Cdp(page_ws_url(proc, tmp))
		for domain in ("Page", "DOM", "Runtime"):
			cdp.call(f"{domain}.enable")
		print(json.dumps({"ok": True, "ready": True}), flush=True)
		for line in sys.stdin:
			c = json.loads(line)
			if c.get("cmd") == "quit":
				break
			try:
				out = {"ok": True, **step(cdp, c)}
			except Failure as e:
				out = {"ok": False, "error": str(e)}
			print(json.dumps(out), flush=True)
	except Failure as e:
		print(json.dumps({"ok": False, "error": str(e)}), flush=True)
		return 1
	finally:
		signal.alarm(0)
		if cdp is not None:
			cdp.close()
		stop_chromium(proc)
		shutil.rmtree(tmp, ignore_errors=True)
	return 0


if __name__ == "__main__":
	sys.exit(main())
