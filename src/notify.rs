//! systemd integration (`Type=notify`): readiness once the listeners are up,
//! a watchdog ping from the executor (so a stuck executor gets the service
//! restarted), and a stopping notice. Without `NOTIFY_SOCKET` these do nothing.

use sd_notify::NotifyState;

pub fn ready(status: &str) {
	let _ = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
	let _ = sd_notify::notify(&[NotifyState::Status(status)]);
}

pub fn stopping() {
	let _ = sd_notify::notify(&[NotifyState::Stopping]);
}

/// Pings the watchdog at half the interval systemd asked for, forever.
/// It runs on the executor thread: if that thread hangs, the pings stop.
pub async fn watchdog() {
	let Some(interval) = sd_notify::watchdog_enabled() else { return };
	loop {
		async_io::Timer::after(interval / 2).await;
		let _ = sd_notify::notify(&[NotifyState::Watchdog]);
	}
}
