// Starts Converse.js (loaded just before, as a module) with the settings
// the server wrote into the page. Served by Xerra at /chat/start.js.
const s = JSON.parse(document.getElementById("xerra-chat").textContent);

// The login screen's footer shows sponsor logos from conversejs.org: an
// element defined before Converse's own wins (nothing loads from outside).
customElements.define("converse-footer", class extends HTMLElement {});

window.converse.initialize({
	view_mode: "fullscreen",
	websocket_url: s.websocket_url,
	bosh_service_url: s.bosh_service_url,
	discover_connection_methods: false,
	locked_domain: s.domain,
	muc_domain: s.muc_domain,
	allow_registration: false,
	auto_reconnect: true,
	// Every asset from the box, nothing from a CDN or a provider list.
	assets_path: s.assets_path,
	emoji_image_path: s.assets_path + "images/",
	use_system_emojis: true,
	xmpp_providers_url: "",
	embed_3rd_party_media_players: false,
	loglevel: "info",
});
