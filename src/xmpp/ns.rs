//! Every XML namespace Xerra speaks, each with the spec that defines it.

/// RFC 6120 §4.8.1: the stream namespace.
pub const STREAM: &str = "http://etherx.jabber.org/streams";
/// RFC 6120 §4.8.2: content namespace for client-to-server streams.
pub const CLIENT: &str = "jabber:client";
/// RFC 6120 §4.8.2: content namespace for server-to-server streams.
pub const SERVER: &str = "jabber:server";
/// XEP-0114: content namespace of external component streams.
pub const COMPONENT: &str = "jabber:component:accept";
/// RFC 6120 §4.9.3: defined stream error conditions.
pub const STREAMS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// RFC 6120 §5: STARTTLS.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// RFC 6120 §6: SASL.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// RFC 6120 §7: resource binding.
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// RFC 6120 §8.3: stanza error conditions.
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// RFC 3921 §3 (kept by draft-cridland-xmpp-session-01): the legacy session feature.
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// RFC 6121 §2: roster management.
pub const ROSTER: &str = "jabber:iq:roster";
/// RFC 6121 §2.6 / XEP-0237: roster versioning stream feature.
pub const ROSTER_VER: &str = "urn:xmpp:features:rosterver";
/// RFC 6121 §3.4: subscription pre-approval stream feature.
pub const PRE_APPROVAL: &str = "urn:xmpp:features:pre-approval";
/// XEP-0030: Service Discovery, info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030: Service Discovery, items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0199: XMPP Ping.
pub const PING: &str = "urn:xmpp:ping";
/// XEP-0092: Software Version.
pub const VERSION: &str = "jabber:iq:version";
/// XEP-0202: Entity Time.
pub const TIME: &str = "urn:xmpp:time";
/// XEP-0203: Delayed Delivery.
pub const DELAY: &str = "urn:xmpp:delay";
/// XEP-0160: Best Practices for Handling Offline Messages (disco feature).
pub const MSGOFFLINE: &str = "msgoffline";
/// XEP-0012 Last Activity.
pub const LAST: &str = "jabber:iq:last";
/// XEP-0054 vcard-temp.
pub const VCARD: &str = "vcard-temp";
/// XEP-0280 Message Carbons.
pub const CARBONS: &str = "urn:xmpp:carbons:2";
/// XEP-0297 Stanza Forwarding.
pub const FORWARD: &str = "urn:xmpp:forward:0";
/// XEP-0334 Message Processing Hints.
pub const HINTS: &str = "urn:xmpp:hints";
/// XEP-0049 Private XML Storage.
pub const PRIVATE: &str = "jabber:iq:private";
/// XEP-0060 Publish-Subscribe (and XEP-0163 PEP, which profiles it).
pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// XEP-0060 §8: owner use cases (configure, delete, purge).
pub const PUBSUB_OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
/// XEP-0060 §7.1.2.1: event notifications.
pub const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
/// XEP-0060 §7.1.3: application-specific error conditions.
pub const PUBSUB_ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";
/// XEP-0060 §7.1.5: FORM_TYPE of publish options.
pub const PUBSUB_PUBLISH_OPTIONS: &str = "http://jabber.org/protocol/pubsub#publish-options";
/// XEP-0060 §16.4.4: FORM_TYPE of node configuration.
pub const PUBSUB_NODE_CONFIG: &str = "http://jabber.org/protocol/pubsub#node_config";
/// XEP-0004 Data Forms.
pub const DATA_FORMS: &str = "jabber:x:data";
/// XEP-0115 Entity Capabilities.
pub const CAPS: &str = "http://jabber.org/protocol/caps";
/// XEP-0198 Stream Management.
pub const SM: &str = "urn:xmpp:sm:3";
/// XEP-0352 Client State Indication.
pub const CSI: &str = "urn:xmpp:csi:0";
/// XEP-0085 Chat State Notifications.
pub const CHATSTATES: &str = "http://jabber.org/protocol/chatstates";
/// XEP-0191 Blocking Command.
pub const BLOCKING: &str = "urn:xmpp:blocking";
/// XEP-0191 §3.5: the application error for stanzas to a blocked JID.
pub const BLOCKING_ERRORS: &str = "urn:xmpp:blocking:errors";
/// XEP-0357 Push Notifications.
pub const PUSH: &str = "urn:xmpp:push:0";
/// XEP-0357 §7: FORM_TYPE of the notification summary.
pub const PUSH_SUMMARY: &str = "urn:xmpp:push:summary";
/// XEP-0313 Message Archive Management.
pub const MAM: &str = "urn:xmpp:mam:2";
/// XEP-0359 Unique and Stable Stanza IDs.
pub const SID: &str = "urn:xmpp:sid:0";
/// XEP-0059 Result Set Management.
pub const RSM: &str = "http://jabber.org/protocol/rsm";
/// XEP-0384 OMEMO (the version clients deploy).
pub const OMEMO: &str = "eu.siacs.conversations.axolotl";
/// XEP-0353 Jingle Message Initiation (call invitations), and the version
/// some clients already send.
pub const JINGLE_MESSAGE: &str = "urn:xmpp:jingle-message:0";
pub const JINGLE_MESSAGE_1: &str = "urn:xmpp:jingle-message:1";
/// XEP-0045 Multi-User Chat: joining.
pub const MUC: &str = "http://jabber.org/protocol/muc";
/// XEP-0045: occupant information.
pub const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
/// XEP-0045: owner use cases (configuration, destruction).
pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
/// XEP-0045: admin and moderator use cases (roles, affiliations).
pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
/// XEP-0045 §10.2: FORM_TYPE of room configuration.
pub const MUC_ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";
/// XEP-0045 §6.4: FORM_TYPE of extended room information.
pub const MUC_ROOMINFO: &str = "http://jabber.org/protocol/muc#roominfo";
/// XEP-0045 §7.13: FORM_TYPE of voice requests and their approval.
pub const MUC_REQUEST: &str = "http://jabber.org/protocol/muc#request";
/// XEP-0045 §7.10: FORM_TYPE of room registration.
pub const MUC_REGISTER: &str = "http://jabber.org/protocol/muc#register";
/// XEP-0410 §3.2: the room answers self-pings itself.
pub const MUC_SELF_PING: &str = "http://jabber.org/protocol/muc#self-ping-optimization";
/// XEP-0045 §7.4 (1.31): the room keeps the sender's message id.
pub const MUC_STABLE_ID: &str = "http://jabber.org/protocol/muc#stable_id";
/// XEP-0421 Anonymous unique occupant identifiers for MUCs.
pub const OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";
/// XEP-0249 Direct MUC Invitations.
pub const CONFERENCE: &str = "jabber:x:conference";
/// XEP-0157 §2: FORM_TYPE of contact addresses in the server's disco#info.
pub const SERVERINFO: &str = "http://jabber.org/network/serverinfo";
/// XEP-0065 SOCKS5 Bytestreams.
pub const BYTESTREAMS: &str = "http://jabber.org/protocol/bytestreams";
/// XEP-0363 HTTP File Upload.
pub const HTTP_UPLOAD: &str = "urn:xmpp:http:upload:0";
/// XEP-0050 Ad-Hoc Commands.
pub const COMMANDS: &str = "http://jabber.org/protocol/commands";
/// XEP-0077 In-Band Registration.
pub const REGISTER: &str = "jabber:iq:register";
/// XEP-0077 §8: the stream feature.
pub const REGISTER_FEATURE: &str = "http://jabber.org/features/iq-register";
/// XEP-0379 / XEP-0445: pre-authentication tokens.
pub const PARS: &str = "urn:xmpp:pars:0";
/// XEP-0398 User Avatar to vCard-Based Avatars Conversion.
pub const PEP_VCARD_CONVERSION: &str = "urn:xmpp:pep-vcard-conversion:0";
/// XEP-0153 vCard-Based Avatars: the photo hash in presence.
pub const VCARD_UPDATE: &str = "vcard-temp:x:update";
/// XEP-0440: SASL Channel-Binding Type Capability.
pub const SASL_CB: &str = "urn:xmpp:sasl-cb:0";
/// XML's own namespace (xml:lang).
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// `ns` as a static string if it is one of the namespaces above, so an
/// element in it needs no copy of its own.
pub fn known(ns: &str) -> Option<&'static str> {
	Some(match ns {
		STREAM => STREAM,
		CLIENT => CLIENT,
		SERVER => SERVER,
		COMPONENT => COMPONENT,
		STREAMS => STREAMS,
		TLS => TLS,
		SASL => SASL,
		BIND => BIND,
		STANZAS => STANZAS,
		SESSION => SESSION,
		ROSTER => ROSTER,
		ROSTER_VER => ROSTER_VER,
		PRE_APPROVAL => PRE_APPROVAL,
		DISCO_INFO => DISCO_INFO,
		DISCO_ITEMS => DISCO_ITEMS,
		PING => PING,
		VERSION => VERSION,
		TIME => TIME,
		DELAY => DELAY,
		MSGOFFLINE => MSGOFFLINE,
		LAST => LAST,
		VCARD => VCARD,
		CARBONS => CARBONS,
		FORWARD => FORWARD,
		HINTS => HINTS,
		PRIVATE => PRIVATE,
		PUBSUB => PUBSUB,
		PUBSUB_OWNER => PUBSUB_OWNER,
		PUBSUB_EVENT => PUBSUB_EVENT,
		PUBSUB_ERRORS => PUBSUB_ERRORS,
		PUBSUB_PUBLISH_OPTIONS => PUBSUB_PUBLISH_OPTIONS,
		PUBSUB_NODE_CONFIG => PUBSUB_NODE_CONFIG,
		DATA_FORMS => DATA_FORMS,
		CAPS => CAPS,
		SM => SM,
		CSI => CSI,
		CHATSTATES => CHATSTATES,
		BLOCKING => BLOCKING,
		BLOCKING_ERRORS => BLOCKING_ERRORS,
		PUSH => PUSH,
		PUSH_SUMMARY => PUSH_SUMMARY,
		MAM => MAM,
		SID => SID,
		RSM => RSM,
		OMEMO => OMEMO,
		MUC => MUC,
		MUC_USER => MUC_USER,
		MUC_OWNER => MUC_OWNER,
		MUC_ADMIN => MUC_ADMIN,
		MUC_ROOMCONFIG => MUC_ROOMCONFIG,
		MUC_ROOMINFO => MUC_ROOMINFO,
		MUC_REQUEST => MUC_REQUEST,
		MUC_REGISTER => MUC_REGISTER,
		MUC_SELF_PING => MUC_SELF_PING,
		MUC_STABLE_ID => MUC_STABLE_ID,
		OCCUPANT_ID => OCCUPANT_ID,
		CONFERENCE => CONFERENCE,
		SERVERINFO => SERVERINFO,
		BYTESTREAMS => BYTESTREAMS,
		HTTP_UPLOAD => HTTP_UPLOAD,
		COMMANDS => COMMANDS,
		REGISTER => REGISTER,
		REGISTER_FEATURE => REGISTER_FEATURE,
		PARS => PARS,
		PEP_VCARD_CONVERSION => PEP_VCARD_CONVERSION,
		VCARD_UPDATE => VCARD_UPDATE,
		SASL_CB => SASL_CB,
		XML => XML,
		_ => return None,
	})
}
