//! The `hnn` command: `hnn exp two_body`, `hnn train`, `hnn eval`, `hnn rollout`, `hnn data`,
//! `hnn table`. See `hnn --help`.

use std::process::ExitCode;

// The allocator is the library's (hnn's default feature `mimalloc`, tuned for training loops).

fn main() -> ExitCode {
    // A closed stdout (`hnn rollout … | head -1`) ends the command quietly, as it does other
    // Unix tools, instead of a panic in `println!`: Rust ignores SIGPIPE by default.
    #[cfg(unix)]
    // SAFETY: at start-up, before any other thread exists; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match hnn::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Our errors carry their causes in their own message (file, field or step named).
            // A standard error that cannot be written either (a full device) leaves only the
            // exit status: no panic.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}
