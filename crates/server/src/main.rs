fn main() -> std::process::ExitCode {
    imgtag_server::cli::main()
}
