//! When scheduled backups are due, when they are overdue, and which old ones
//! go: plain functions of times and names (no clock, no files), so they are
//! tested without waiting. (Whether a backup fits is `backup::create`'s check.)

/// No successful backup for this long while a schedule is on: overdue (a
/// day between two due times, and two hours' grace for a slow one).
pub const OVERDUE_SECS: i64 = 26 * 3600;

const DAY: i64 = 86_400;

/// The first moment strictly after `after` (unix seconds) whose local wall
/// clock reads `hh:mm`, for a zone `offset` seconds east of UTC.
pub fn next_due(after: i64, offset: i32, (hh, mm): (u8, u8)) -> i64 {
	let offset = i64::from(offset);
	let local = after + offset;
	let day_start = local.div_euclid(DAY) * DAY;
	let at = day_start + i64::from(hh) * 3600 + i64::from(mm) * 60 - offset;
	if at > after { at } else { at + DAY }
}

/// Whether a backup is due at `now`: the daily time has come since the last
/// attempt (made or failed), or, before any attempt, since the schedule was
/// first seen (`since`). A time missed while the box was off is due at once.
pub fn is_due(now: i64, last_attempt: Option<i64>, since: i64, offset: i32, at: (u8, u8)) -> bool {
	now >= next_due(last_attempt.unwrap_or(since), offset, at)
}

/// Overdue: more than [`OVERDUE_SECS`] since the last success, or since the
/// schedule was first seen when there never was one.
pub fn is_overdue(now: i64, last_ok: Option<i64>, since: i64) -> bool {
	now - last_ok.unwrap_or(since) > OVERDUE_SECS
}

/// A scheduled backup's file name: `xerra-backup-YYYYMMDD-HHMMSS.EXT` (UTC),
/// so names sort by age and nothing else in the folder looks like one.
pub fn file_name(unix: i64, ext: &str) -> String {
	let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
	format!("xerra-backup-{:04}{:02}{:02}-{:02}{:02}{:02}.{ext}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// Whether `name` is one of ours (made by [`file_name`] with `ext`).
pub fn is_ours(name: &str, ext: &str) -> bool {
	let Some(stamp) = name.strip_prefix("xerra-backup-").and_then(|n| n.strip_suffix(ext)).and_then(|n| n.strip_suffix('.')) else {
		return false;
	};
	stamp.len() == 15 && stamp.bytes().enumerate().all(|(i, b)| if i == 8 { b == b'-' } else { b.is_ascii_digit() })
}

/// Of the names in the folder, ours beyond the newest `keep`: the ones to
/// delete after a success. Other files are never touched.
pub fn to_delete(names: &[String], ext: &str, keep: usize) -> Vec<String> {
	let mut ours: Vec<&String> = names.iter().filter(|n| is_ours(n, ext)).collect();
	ours.sort_unstable();
	let extra = ours.len().saturating_sub(keep);
	ours.into_iter().take(extra).cloned().collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	// 2026-12-07 00:00:00 UTC.
	const MIDNIGHT: i64 = 1_796_601_600;

	#[test]
	fn the_next_due_time_is_today_or_tomorrow_in_local_time() {
		let at = (3, 30);
		assert_eq!(next_due(MIDNIGHT, 0, at), MIDNIGHT + 3 * 3600 + 1800);
		assert_eq!(next_due(MIDNIGHT + 3 * 3600 + 1800, 0, at), MIDNIGHT + DAY + 3 * 3600 + 1800, "strictly after");
		assert_eq!(next_due(MIDNIGHT + 12 * 3600, 0, at), MIDNIGHT + DAY + 3 * 3600 + 1800);
		// One hour east of UTC (CET): 03:30 local is 02:30 UTC.
		assert_eq!(next_due(MIDNIGHT, 3600, at), MIDNIGHT + 2 * 3600 + 1800);
		// 23:30 UTC is 00:30 of the next local day there: 03:30 local comes 3 h later.
		assert_eq!(next_due(MIDNIGHT - 1800, 3600, at), MIDNIGHT + 2 * 3600 + 1800);
		// Five hours west (EST): 03:30 local is 08:30 UTC.
		assert_eq!(next_due(MIDNIGHT, -5 * 3600, at), MIDNIGHT + 8 * 3600 + 1800);
		assert_eq!(next_due(MIDNIGHT + 9 * 3600, -5 * 3600, at), MIDNIGHT + DAY + 8 * 3600 + 1800);
		assert_eq!(next_due(MIDNIGHT, 0, (0, 0)), MIDNIGHT + DAY);
		assert_eq!(next_due(MIDNIGHT - 1, 0, (0, 0)), MIDNIGHT);
	}

	#[test]
	fn a_backup_is_due_once_a_day_and_a_missed_one_at_once() {
		let at = (3, 30);
		let since = MIDNIGHT + 10 * 3600;
		assert!(!is_due(since + 60, None, since, 0, at), "set up at 10:00: not before tomorrow 03:30");
		assert!(is_due(MIDNIGHT + DAY + 3 * 3600 + 1800, None, since, 0, at));
		let made = MIDNIGHT + DAY + 3 * 3600 + 1805;
		assert!(!is_due(made + 3600, Some(made), since, 0, at), "made today: not again today");
		assert!(is_due(made + DAY, Some(made), since, 0, at));
		// The box was off for three days: due as soon as it runs again.
		assert!(is_due(made + 3 * DAY + 7 * 3600, Some(made), since, 0, at));
	}

	#[test]
	fn overdue_after_26_hours_without_a_success() {
		let since = MIDNIGHT;
		assert!(!is_overdue(since + 25 * 3600, None, since));
		assert!(is_overdue(since + 26 * 3600 + 1, None, since));
		assert!(!is_overdue(MIDNIGHT + 3 * DAY, Some(MIDNIGHT + 2 * DAY + 3600), since));
		assert!(is_overdue(MIDNIGHT + 3 * DAY + 7201, Some(MIDNIGHT + 2 * DAY), since));
	}

	#[test]
	fn names_sort_by_age_and_only_ours_are_deleted() {
		let a = file_name(MIDNIGHT + 3 * 3600 + 1800, "xbk");
		assert_eq!(a, "xerra-backup-20261207-033000.xbk");
		assert!(is_ours(&a, "xbk"));
		for other in
			["xerra-backup-20261207-033000.xbk.tmp", "xerra-backup-2026120-033000.xbk", "notes.txt", "xerra-backup-20261207x033000.xbk"]
		{
			assert!(!is_ours(other, "xbk"), "{other}");
		}
		let names: Vec<String> = [
			file_name(MIDNIGHT + 2 * DAY, "xbk"),
			"holiday.jpg".to_owned(),
			file_name(MIDNIGHT, "xbk"),
			file_name(MIDNIGHT + DAY, "xbk"),
			"xerra-backup-20261208-000000.xbk.tmp".to_owned(),
		]
		.into();
		assert_eq!(to_delete(&names, "xbk", 2), vec![file_name(MIDNIGHT, "xbk")]);
		assert_eq!(to_delete(&names, "xbk", 1), vec![file_name(MIDNIGHT, "xbk"), file_name(MIDNIGHT + DAY, "xbk")]);
		assert!(to_delete(&names, "xbk", 3).is_empty());
	}
}
