//! The experiments the `hnn` command knows: the files under `experiments/` (found from the
//! working directory or any parent), and the same files embedded in the binary at build time,
//! so that an installed `hnn` runs them from anywhere. A local file overrides the embedded
//! experiment of the same name; a path to a file is used as is.

use hnn_train::{Error, Result};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/experiments.rs"));

/// An experiment's TOML text and where it came from (for error messages).
#[derive(Debug, Clone)]
pub struct Source {
    /// The TOML text.
    pub text: String,
    /// A path, or `built-in NAME`.
    pub origin: String,
}

/// A local `experiments/NAME.toml` from the working directory or a parent.
pub fn local(name: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().map(|d| d.join("experiments").join(format!("{name}.toml"))).find(|p| p.is_file())
}

/// The embedded text of a built-in experiment.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Finds an experiment: a path to a file, a local `experiments/NAME.toml`, or a built-in one.
pub fn find(name: &str) -> Result<Source> {
    let read = |path: &Path| -> Result<Source> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok(Source { text, origin: path.display().to_string() })
    };
    let direct = Path::new(name);
    if direct.is_file() {
        return read(direct);
    }
    if let Some(path) = local(name) {
        return read(&path);
    }
    if let Some(text) = builtin(name) {
        return Ok(Source { text: text.to_string(), origin: format!("built-in {name}") });
    }
    let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
    Err(Error::Config(format!(
        "no experiment `{name}`: not a file, not experiments/{name}.toml here or above, and not built in (built in: {}; \
         `hnn list` describes them)",
        names.join(", ")
    )))
}

/// The first sentence of an experiment's `description`.
pub fn summary(text: &str) -> String {
    let description = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("description").and_then(|d| d.as_str().map(String::from)))
        .unwrap_or_default();
    let first = description.split(". ").next().unwrap_or("").trim_end_matches('.');
    let mut s: String = first.chars().take(110).collect();
    if first.chars().count() > 110 {
        s.push('…');
    }
    s
}
