//! xmppbench: drives an XMPP server with real clients and measures the
//! server process (memory from /proc, CPU per login and per message,
//! latency, storage). Works against any server with users PREFIX1..N that
//! share one password; `bench/run` starts Xerra, Prosody and ejabberd.
//!
//! Every measurement prints one result line `key=value ...` on stdout (what
//! `xmppbench report` reads) and a readable summary on stderr.

mod abuse;
mod client;
mod insecure_tls;
mod procfs;
mod reconnect;
mod report;
mod scenarios;

use std::process::ExitCode;

const HELP: &str = "\
Usage: xmppbench SCENARIO [options]

Scenarios (each needs --pid of the server, except `report`):
  idle        memory of the idle server
  sessions    log in N idle sessions (--sessions 1000,5000,10000): login
              rate and CPU per login, memory per session, memory after leave
  msgs        --pairs P clients pairs chat (to bare JIDs) for --duration s,
              at most --window in flight per direction (closed loop), or
              --rate R msgs/s in total (paced): msgs/s, latency, CPU
  offline     one user sends --count messages to an offline one: storage
              bytes per message (--data-dir), then the flush at login
  roster      a user with --contacts contacts logs in --logins times
  reconnect   user 1 (--contacts in its roster) reconnects --logins times
              the full way (the login above, then SM enable) and with SASL2 +
              a FAST token + inline SM resume: round trips, p50, server CPU
  abuse       --attack NAME: one host attacks (see bench/README.md), a
              normal client from 127.0.0.2 logs in and chats meanwhile:
              peak RSS growth, the normal client, RSS --after s later
  report DIR  the markdown table from DIR/*.txt result files

Options:
  --pid PID          server process to measure      --label NAME   (server)
  --host H --port P  (127.0.0.1, 5222)              --domain D     (bench.local)
  --prefix P --password PW   users P1..Pn           (user, pw)
  --threads T        driver threads (2)             --concurrency C logins in flight (50)
  --settle S         seconds before memory samples (5)
  --sessions LIST --pairs N --duration S --window W --rate R --size BYTES
  --repeats N --count N --contacts N --logins N --data-dir DIR
  abuse: --attack NAME --scale F (counts x F) --hold S (20) --after S (15)
         --limits c2s_preauth=N,c2s_stanza=N,s2s_preauth=N,children=N
         --s2s-port P --restart CMD (restarts the server, prints its new PID)
         --rss-ceiling MIB (ends an attack early past it; default the
         smaller of 4096 and a quarter of MemAvailable)
";

fn main() -> ExitCode {
	let args: Vec<String> = std::env::args().skip(1).collect();
	if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
		print!("{HELP}");
		return ExitCode::SUCCESS;
	}
	match scenarios::run(&args) {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("xmppbench: {e}");
			ExitCode::FAILURE
		}
	}
}
