//! The `hnn` command line: one module per subcommand, each with its clap arguments and its
//! `run`. Whether an experiment or checkpoint is state-space or pixels is decided once, by
//! `Config::read` and `is_pixel_checkpoint`.

mod data;
mod eval;
mod exp;
mod fit;
mod list;
mod rollout;
mod table;
mod train;

use clap::{Args, Parser, Subcommand};
use hnn_pixels::experiment::PixelExperiment;
use hnn_train::device::{DeviceChoice, Precision};
use hnn_train::experiment::ExperimentConfig;
use hnn_train::Result;
use std::path::Path;

/// Hamiltonian Neural Networks: train, evaluate and integrate learned dynamics.
#[derive(Debug, Parser)]
#[command(name = "hnn", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where and in what precision to compute.
#[derive(Debug, Args)]
struct Compute {
    /// Device: auto picks CUDA/Metal when this build supports it and the machine has one.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Precision of training.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    dtype: Precision,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an experiment end to end: data → train HNN and baseline → evaluate → checkpoints,
    /// metrics.json, plots, under OUT/NAME/SEED/.
    Exp(exp::ExpArgs),
    /// Train one model of an experiment config (optionally resuming a checkpoint).
    Train(train::TrainArgs),
    /// Evaluate a checkpoint with the experiment config stored in it (or another one).
    Eval(eval::EvalArgs),
    /// Integrate a checkpoint's learned dynamics from a state; prints CSV (t, z…, H).
    Rollout(rollout::RolloutArgs),
    /// Generate (or load and convert) an experiment's dataset and save it (.safetensors or .npz).
    Data(data::DataArgs),
    /// List the built-in experiments (and local files that override them), model kinds,
    /// systems and integrators.
    List,
    /// Fit models to your own data (.npz, .csv, or an hnn dataset file) and write a run
    /// directory: MODEL.safetensors, metrics.json, loss.png (and phase.png for trajectories).
    Fit(fit::FitArgs),
    /// Aggregate runs (metrics.json files) into a Markdown table shaped like the paper's Table 1.
    Table(table::TableArgs),
}

/// An experiment file: state-space (the default) or pixels (`kind = "pixels"`).
enum Config {
    State(Box<ExperimentConfig>),
    Pixels(Box<PixelExperiment>),
}

impl Config {
    /// An experiment by name or path (see [`crate::experiments::find`]).
    fn read(name: &str) -> Result<Self> {
        let crate::experiments::Source { text, origin } = crate::experiments::find(name)?;
        let kind =
            text.parse::<toml::Table>().ok().and_then(|t| t.get("kind").and_then(|k| k.as_str().map(String::from)));
        match kind.as_deref() {
            Some("pixels") => Ok(Config::Pixels(Box::new(PixelExperiment::from_toml(&text, &origin)?))),
            _ => Ok(Config::State(Box::new(ExperimentConfig::from_toml(&text, &origin)?))),
        }
    }
}

/// Whether a checkpoint is a pixel model's (else a state-space model's).
fn is_pixel_checkpoint(path: &Path) -> Result<bool> {
    Ok(hnn_train::checkpoint::format_of(path)? == hnn_pixels::experiment::CHECKPOINT_FORMAT)
}

/// Writes one line of the command's results to standard output (see the `say!` macro).
pub(crate) fn say(args: std::fmt::Arguments<'_>) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_fmt(args).and_then(|()| out.write_all(b"\n")).map_err(|e| hnn_train::Error::io("standard output", e))
}

/// Whether to draw progress bars: when stderr is a terminal.
fn progress() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// Parses the arguments and runs the command.
pub fn main() -> anyhow::Result<()> {
    hnn_core::exec::threads::init();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    run(cli.command)?;
    Ok(())
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Exp(args) => args.run(),
        Command::Train(args) => args.run(),
        Command::Eval(args) => args.run(),
        Command::Rollout(args) => args.run(),
        Command::Data(args) => args.run(),
        Command::List => list::run(),
        Command::Fit(args) => args.run(),
        Command::Table(args) => args.run(),
    }
}
