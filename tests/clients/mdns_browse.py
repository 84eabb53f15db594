#!/usr/bin/python3
"""Looks for Xerra on the LAN the way a DNS-SD client does (python3-zeroconf).

    /usr/bin/python3 mdns_browse.py --bind 10.77.0.2 [--timeout 10]

Browses _xmpp-client._tcp and _http._tcp on the interface with address
--bind, resolves every instance found, and prints one JSON object:
    {"_xmpp-client._tcp.local.": [{"name", "server", "port", "addresses"}],
     "_http._tcp.local.": [...]}
Exits 0 when both service types were found and resolved, 1 otherwise.
"""

import argparse
import json
import sys
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

TYPES = ["_xmpp-client._tcp.local.", "_http._tcp.local."]


class Collect(ServiceListener):
	def __init__(self):
		self.names = {t: set() for t in TYPES}

	def add_service(self, zc, type_, name):
		self.names[type_].add(name)

	def update_service(self, zc, type_, name):
		self.names[type_].add(name)

	def remove_service(self, zc, type_, name):
		pass


def main():
	p = argparse.ArgumentParser()
	p.add_argument("--bind", required=True, help="local address whose interface to use")
	p.add_argument("--timeout", type=float, default=10)
	args = p.parse_args()
	zc = Zeroconf(interfaces=[args.bind])
	found = {t: [] for t in TYPES}
	try:
		listener = Collect()
		browsers = [ServiceBrowser(zc, t, listener) for t in TYPES]
		deadline = time.monotonic() + args.timeout
		while time.monotonic() < deadline and not all(found.values()):
			time.sleep(0.2)
			for t in TYPES:
				for name in list(listener.names[t]):
					if any(f["name"] == name for f in found[t]):
						continue
					info = zc.get_service_info(t, name, timeout=2000)
					if info and info.port:
						found[t].append({
							"name": name,
							"server": info.server,
							"port": info.port,
							"addresses": info.parsed_addresses(),
						})
		for b in browsers:
			b.cancel()
	finally:
		zc.close()
	print(json.dumps(found))
	return 0 if all(found.values()) else 1


if __name__ == "__main__":
	sys.exit(main())
