fn main() {
    std::process::exit(fleet::cli::run(std::env::args_os()));
}
