//! `hnn list`: the built-in experiments, model kinds, systems and integrators.

use hnn_train::model::ModelKind;

pub(super) fn run() -> hnn_train::Result<()> {
    say!("Experiments (hnn exp NAME; a local experiments/NAME.toml overrides the built-in one):");
    for (name, text) in crate::experiments::BUILTIN {
        let local = crate::experiments::local(name).map(|p| format!("  [local: {}]", p.display())).unwrap_or_default();
        say!("  {name:<24} {}{local}", crate::experiments::summary(text));
    }
    say!("\nModel kinds (--model, model.kinds):");
    for kind in ModelKind::all() {
        say!("  {:<24} {}", kind.name(), kind.family().summary());
    }
    say!("\nSystems ([data.task.system] kind):");
    for (name, formula) in hnn_systems::System::KINDS {
        say!("  {name:<24} {formula}");
    }
    say!("\nIntegrators (fixed step; adaptive: dopri5, dop853):");
    let names: Vec<&str> = hnn_core::IntegratorKind::ALL.iter().map(|(_, n)| *n).collect();
    say!("  {}", names.join(", "));
    Ok(())
}
