fn main() -> std::process::ExitCode {
	xerra::cli::main()
}
