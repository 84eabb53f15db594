//! Start-up's code pages, handed back once the server serves.
//!
//! The kernel maps a binary's code 64 KiB at a time around each first
//! touch ("fault-around"), and start-up (settings, storage migrations,
//! certificates, every module's registration) touches nearly all of an
//! LTO-laid-out binary, so the resident set of an idle server followed the
//! binary's size byte for byte (bench/README.md "Idle RSS"). Those pages
//! are clean copies of the file: once serving, we unmap them
//! (`MADV_DONTNEED`) and what runs afterwards faults back in only what it
//! uses, from the page cache (no disk read while the file is cached).
//!
//! Only read-only mappings of our own executable with no anonymous
//! (copy-on-write) pages are touched: dropping those loses nothing, and a
//! read-only mapping cannot gain such pages afterwards. Relocated data
//! (RELRO) has anonymous pages and is left alone.

/// What one pass handed back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dropped {
	pub mappings: usize,
	pub resident_kib: u64,
}

/// One mapping of `/proc/self/smaps` we may drop: its range and resident KiB.
#[derive(Debug, PartialEq, Eq)]
struct Region {
	start: usize,
	end: usize,
	rss_kib: u64,
}

/// The read-only, purely file-backed mappings of the file with `inode` on
/// device `dev` ("major:minor" as smaps writes it), from smaps text.
fn droppable(smaps: &str, dev: &str, inode: u64) -> Vec<Region> {
	let mut out = Vec::new();
	// (region, ours and read-only, "Anonymous: 0 kB" seen)
	let mut current: Option<(Region, bool, bool)> = None;
	let finish = |c: Option<(Region, bool, bool)>, out: &mut Vec<Region>| {
		if let Some((r, true, true)) = c {
			out.push(r);
		}
	};
	for line in smaps.lines() {
		let mut words = line.split_ascii_whitespace();
		let Some(first) = words.next() else { continue };
		if let Some((start, end)) = first.split_once('-')
			&& let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16))
		{
			finish(current.take(), &mut out);
			let perms = words.next().unwrap_or("");
			let _offset = words.next();
			let this_dev = words.next().unwrap_or("");
			let this_inode = words.next().and_then(|i| i.parse::<u64>().ok()).unwrap_or(0);
			let ours = this_dev == dev && this_inode == inode && this_inode != 0;
			let read_only = perms.len() == 4 && !perms.contains('w') && perms.ends_with('p');
			current = Some((Region { start, end, rss_kib: 0 }, ours && read_only, false));
			continue;
		}
		let Some((region, _, clean)) = current.as_mut() else { continue };
		let value = words.next().and_then(|v| v.parse::<u64>().ok());
		match (first, value) {
			("Rss:", Some(v)) => region.rss_kib = v,
			("Anonymous:", v) => *clean = v == Some(0),
			_ => {}
		}
	}
	finish(current.take(), &mut out);
	out
}

/// Unmaps the executable's clean, read-only pages (blocking: reads /proc;
/// run it on the blocking pool).
#[cfg(target_os = "linux")]
pub fn drop_startup_pages() -> std::io::Result<Dropped> {
	use std::os::unix::fs::MetadataExt;
	let exe = std::fs::metadata("/proc/self/exe")?;
	let dev = format!("{:02x}:{:02x}", libc::major(exe.dev()), libc::minor(exe.dev()));
	let smaps = std::fs::read_to_string("/proc/self/smaps")?;
	let mut dropped = Dropped::default();
	for r in droppable(&smaps, &dev, exe.ino()) {
		// SAFETY: the range is a whole mapping of our own executable that is
		// read-only and has no anonymous pages: MADV_DONTNEED only unmaps
		// clean file pages, which the next access reads back unchanged.
		let rc = unsafe { libc::madvise(r.start as *mut libc::c_void, r.end - r.start, libc::MADV_DONTNEED) };
		if rc == 0 {
			dropped.mappings += 1;
			dropped.resident_kib += r.rss_kib;
		}
	}
	Ok(dropped)
}

#[cfg(not(target_os = "linux"))]
pub fn drop_startup_pages() -> std::io::Result<Dropped> {
	Ok(Dropped::default())
}

#[cfg(test)]
mod tests {
	use super::*;

	const SMAPS: &str = "\
55d0a0000000-55d0a0100000 r--p 00000000 fe:01 4242 /usr/bin/xerra
Size:               1024 kB
Rss:                 900 kB
Anonymous:             0 kB
55d0a0100000-55d0a0700000 r-xp 00100000 fe:01 4242 /usr/bin/xerra
Size:               6144 kB
Rss:                5000 kB
Anonymous:             0 kB
55d0a0700000-55d0a0780000 r--p 00700000 fe:01 4242 /usr/bin/xerra
Size:                512 kB
Rss:                 512 kB
Anonymous:           300 kB
55d0a0780000-55d0a0790000 rw-p 00780000 fe:01 4242 /usr/bin/xerra
Size:                 64 kB
Rss:                  64 kB
Anonymous:            64 kB
7f0000000000-7f0000100000 r-xp 00000000 fe:01 77 /usr/lib/libc.so.6
Size:               1024 kB
Rss:                 800 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0 [heap]
Size:               1024 kB
Rss:                1024 kB
Anonymous:          1024 kB
";

	#[test]
	fn only_clean_read_only_mappings_of_the_executable() {
		let got = droppable(SMAPS, "fe:01", 4242);
		assert_eq!(
			got,
			vec![
				Region { start: 0x55d0a0000000, end: 0x55d0a0100000, rss_kib: 900 },
				Region { start: 0x55d0a0100000, end: 0x55d0a0700000, rss_kib: 5000 },
			]
		);
		// Another file with the same inode on another device is not ours.
		assert!(droppable(SMAPS, "fe:02", 4242).is_empty());
	}

	#[test]
	fn a_mapping_without_its_anonymous_line_is_kept() {
		let smaps = "1000-2000 r-xp 00000000 fe:01 9 /x\nRss: 4 kB\n";
		assert!(droppable(smaps, "fe:01", 9).is_empty());
	}

	#[test]
	fn our_own_process_drops_and_keeps_running() {
		let d = drop_startup_pages().expect("smaps readable");
		assert!(d.mappings >= 1, "{d:?}");
		// Code still runs after its pages were unmapped.
		assert_eq!(droppable(SMAPS, "fe:01", 4242).len(), 2);
	}
}
