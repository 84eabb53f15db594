// xmpp.js (@xmpp/client 0.14) against Xerra with SASL2 (XEP-0388), Bind2
// (XEP-0386) and FAST (XEP-0484), over wss:// trusting only the box's CA:
//  1. alice logs in with her password; in the same round trip she binds,
//     enables stream management and is handed a FAST token;
//  2. her connection dies without a word; bob writes to her meanwhile;
//  3. a new client for the same device (same user-agent id), given the
//     token and NO password, logs in with HT-SHA-256-NONE and resumes the
//     stream-management session inline: bob's message arrives.
// Exit code 0 on success; what happened is printed.
//
//   node fast_client.js --url wss://DOMAIN:PORT/xmpp-websocket --domain DOMAIN \
//        --user alice --password PW --peer bob --peer-password PW --ca ca.crt --address 127.0.0.1
"use strict";

const { args, say, fail, limit } = require("./box_ws.js");
const { client, xml } = require("@xmpp/client");

limit(30000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One device: the same user-agent id on both connections.
const userAgent = () =>
  xml("user-agent", { id: "5a1e2d4c-9b7f-4c1e-8e0a-3f6b2d9c7e11" }, xml("software", {}, "xmpp.js"), xml("device", {}, "test phone"));
const common = { service: args.url, domain: args.domain, resource: "phone" };

async function main() {
  // 1. Password login, token requested and stored by the library's FAST module.
  let token = null;
  const first = client({ ...common, username: args.user, password: args.password, userAgent: userAgent() });
  first.fast.saveToken = async (t) => {
    token = t;
  };
  first.on("error", (e) => say(`first: error ${e.message || e}`));
  const address = await first.start();
  if (!token) fail("no FAST token after the password login");
  if (!first.streamManagement.enabled || !first.streamManagement.id) fail("stream management was not enabled inline");
  say(`ok: online as ${address} with SASL2; FAST token for ${token.mechanism} until ${token.expiry}; SM id ${first.streamManagement.id}`);
  await first.send(xml("presence"));
  await sleep(300);

  // 2. The connection dies; the library must not reconnect by itself here.
  // What an app keeps of its SM session across a restart (counts and what was not yet acknowledged).
  const { id, inbound, outbound, outbound_q } = first.streamManagement;
  const sm = { id, inbound, outbound, outbound_q };
  first.reconnect.stop();
  first.socket.socket.terminate();
  say("ok: connection dropped");
  await sleep(500);
  const bob = client({ ...common, resource: "desk", username: args.peer, password: args["peer-password"] });
  bob.on("error", (e) => say(`bob: error ${e.message || e}`));
  await bob.start();
  await bob.send(xml("message", { to: address.toString(), type: "chat" }, xml("body", {}, "while you were away")));
  say("ok: bob wrote while alice was away");

  // 3. The token and no password; the SM session resumed inside the SASL2 success.
  const second = client({ ...common, username: args.user, userAgent: userAgent() });
  second.fast.fetchToken = async () => token;
  second.fast.saveToken = async (t) => {
    token = t;
  };
  Object.assign(second.streamManagement, sm);
  second.on("error", (e) => fail(`second: error ${e.message || e}`));
  const resumed = new Promise((resolve) => second.streamManagement.on("resumed", resolve));
  const got = new Promise((resolve) =>
    second.on("stanza", (s) => {
      if (s.is("message") && s.getChildText("body") === "while you were away") resolve(s);
    }),
  );
  second.start().catch((e) => fail(`second start: ${e.message || e}`));
  await resumed;
  if (second.jid.toString() !== address.toString()) fail(`resumed as ${second.jid}, not ${address}`);
  say(`ok: resumed ${second.jid} inline with the FAST token, no password`);
  await got;
  say("ok: got what bob wrote while alice was away");
  await second.stop();
  await bob.stop();
  say("PASSED");
  process.exit(0);
}

main().catch((e) => fail(e.stack || e.message || e));
