//! `hnn data`: an experiment's dataset, generated or loaded, saved to a file.

use super::Config;
use hnn_train::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(super) struct DataArgs {
    /// Experiment name or config path.
    name: String,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Data file for experiments that read one.
    #[arg(long)]
    data: Option<PathBuf>,
}

impl DataArgs {
    pub(super) fn run(self) -> Result<()> {
        let DataArgs { name, out, seed, data } = self;
        match Config::read(&name)? {
            Config::Pixels(p) => {
                let ds = p.data.generate(seed)?;
                ds.save(&out)?;
                say!("{}: {:?} frames → {}", p.name, ds.frames.dims(), out.display());
            }
            Config::State(cfg) => {
                let ds = cfg.data.load(seed, data.as_deref())?;
                hnn_systems::io::save(&ds, &out)?;
                say!(
                    "{}: {} train + {} test samples of {} (dof {}) → {}",
                    cfg.name,
                    ds.train.len(),
                    ds.test.len(),
                    ds.meta.system,
                    ds.meta.dof,
                    out.display()
                );
            }
        }
        Ok(())
    }
}
