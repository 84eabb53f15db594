fn main() -> std::process::ExitCode {
	// Everything Xerra writes (database, keys, uploads) is for its own user
	// only, whoever started it and however (systemd sets the same).
	nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
	xerra::cli::main()
}
