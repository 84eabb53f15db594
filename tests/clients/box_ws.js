// What the xmpp.js tests (ws_client.js, fast_client.js) share: their
// `--name value` arguments, and a WebSocket for @xmpp/client under which
// the box's name resolves to the test address (a LAN's DNS or mDNS would)
// and only the box's CA (--ca) is trusted; say/fail print and end the run
// (exit 1), and the whole run fails after `timeoutMs`.
"use strict";

const fs = require("fs");
const dns = require("dns");
const WS = require("ws");

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];

globalThis.WebSocket = class extends WS {
  constructor(url, protocols) {
    super(url, protocols, {
      ca: fs.readFileSync(args.ca),
      lookup: (host, opts, cb) => dns.lookup(args.address, opts, cb),
    });
  }
};

const say = (t) => console.log(t);
const fail = (t) => {
  say(`FAILED: ${t}`);
  process.exit(1);
};

function limit(timeoutMs) {
  setTimeout(() => fail("timed out"), timeoutMs);
}

module.exports = { args, say, fail, limit };
