//! `hnn table`: Table 1 from the run directories under a folder.

use hnn_train::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(super) struct TableArgs {
    /// Directory to scan.
    #[arg(default_value = "runs")]
    dir: PathBuf,
}

impl TableArgs {
    pub(super) fn run(self) -> Result<()> {
        let runs = hnn_train::table::collect(&self.dir)?;
        if runs.is_empty() {
            return Err(Error::Config(format!("no metrics.json under {}", self.dir.display())));
        }
        say!("{}", hnn_train::table::markdown(&runs));
        Ok(())
    }
}
