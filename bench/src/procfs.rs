//! What the server process tree uses, from /proc: RSS and PSS from
//! smaps_rollup, CPU from stat (utime + stime, all threads), summed over the
//! process and its descendants (ejabberd runs helper programs).

/// Kernel clock ticks per second for /proc/PID/stat (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

fn parent_of(pid: u32) -> Option<u32> {
	let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
	stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// `pid` and every descendant.
pub fn tree(pid: u32) -> Vec<u32> {
	let all: Vec<u32> =
		std::fs::read_dir("/proc").map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()).unwrap_or_default();
	let mut out = vec![pid];
	let mut i = 0;
	while i < out.len() {
		let p = out[i];
		out.extend(all.iter().copied().filter(|c| parent_of(*c) == Some(p)));
		i += 1;
	}
	out
}

/// (RSS, PSS) in KiB.
pub fn memory(pid: u32) -> (u64, u64) {
	let mut rss = 0;
	let mut pss = 0;
	for p in tree(pid) {
		let Ok(text) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else { continue };
		for line in text.lines() {
			let value = || line.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
			if line.starts_with("Rss:") {
				rss += value();
			} else if line.starts_with("Pss:") {
				pss += value();
			}
		}
	}
	(rss, pss)
}

/// CPU seconds used so far.
pub fn cpu(pid: u32) -> f64 {
	tree(pid)
		.into_iter()
		.filter_map(|p| {
			let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
			let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
			let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
			Some(ticks as f64 / TICKS)
		})
		.sum()
}

pub fn alive(pid: u32) -> bool {
	std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Bytes under a directory (for storage per message).
pub fn dir_bytes(path: &std::path::Path) -> u64 {
	let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
	if !meta.is_dir() {
		return meta.len();
	}
	std::fs::read_dir(path).map(|d| d.filter_map(Result::ok).map(|e| dir_bytes(&e.path())).sum()).unwrap_or(0)
}
