//! The `hnn` command: `hnn exp two_body`, `hnn train`, `hnn eval`, `hnn rollout`, `hnn data`,
//! `hnn table`. See `hnn --help`.

// glibc's malloc dominates small-tensor training loops; mimalloc is several times faster there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    hnn::keep_freed_memory();
    hnn::cli::main()
}
