mod cli;

fn main() {
    // Die quietly on a closed pipe (`firedrill ls latest | head`) like other Unix tools,
    // instead of panicking on the next print.
    // SAFETY: setting a signal disposition to its default before any threads start.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        // Pack-sized buffers come and go all the time; a fixed mmap threshold returns them
        // to the system instead of letting per-thread arenas keep them, which bounds RSS.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    std::process::exit(cli::main());
}
