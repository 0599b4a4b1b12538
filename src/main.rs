//! The `hnn` command: `hnn exp two_body`, `hnn train`, `hnn eval`, `hnn rollout`, `hnn data`,
//! `hnn table`. See `hnn --help`.

use std::process::ExitCode;

// glibc's malloc dominates small-tensor training loops; mimalloc is several times faster there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // A closed stdout (`hnn rollout … | head -1`) ends the command quietly, as it does other
    // Unix tools, instead of a panic in `println!`: Rust ignores SIGPIPE by default.
    #[cfg(unix)]
    // SAFETY: at start-up, before any other thread exists; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    hnn::keep_freed_memory();
    match hnn::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Our errors carry their causes in their own message (file, field or step named).
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
