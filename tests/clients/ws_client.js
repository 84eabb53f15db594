// xmpp.js (@xmpp/client) over WebSocket (RFC 7395) against Xerra: logs in
// over wss:// trusting only the box's CA, says hello to a peer and waits for
// the answer. Exit code 0 on success; what happened is printed.
//
//   node ws_client.js --url wss://DOMAIN:PORT/xmpp-websocket --domain DOMAIN \
//        --user alice --password PW --peer bob@DOMAIN --ca ca.crt --address 127.0.0.1
"use strict";

const { args, say, fail, limit } = require("./box_ws.js");
const { client, xml } = require("@xmpp/client");

limit(20000);

const xmpp = client({ service: args.url, domain: args.domain, username: args.user, password: args.password, resource: "web" });
xmpp.on("error", (e) => fail(`error: ${e.message || e}`));
xmpp.on("stanza", async (stanza) => {
  if (stanza.is("message") && stanza.getChildText("body") === "hello web") {
    say(`ok: got the answer from ${stanza.attrs.from}`);
    await xmpp.stop();
    say("PASSED");
    process.exit(0);
  }
});
xmpp.on("online", async (address) => {
  say(`ok: online as ${address.toString()} over WebSocket`);
  await xmpp.send(xml("presence"));
  // After login a message may be as big as a stanza (before it, 16 KiB).
  await xmpp.send(xml("message", { to: args.peer, type: "chat" }, xml("body", {}, "b".repeat(100000))));
  await xmpp.send(xml("message", { to: args.peer, type: "chat" }, xml("body", {}, "hello from the browser side")));
  say("ok: sent a big message and a small one");
});
xmpp.start().catch((e) => fail(`start: ${e.message || e}`));
