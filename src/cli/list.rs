//! `hnn list`: the built-in experiments, model kinds, systems and integrators.

use hnn_train::model::ModelKind;

pub(super) fn run() {
    println!("Experiments (hnn exp NAME; a local experiments/NAME.toml overrides the built-in one):");
    for (name, text) in crate::experiments::BUILTIN {
        let local = crate::experiments::local(name).map(|p| format!("  [local: {}]", p.display())).unwrap_or_default();
        println!("  {name:<24} {}{local}", crate::experiments::summary(text));
    }
    println!("\nModel kinds (--model, model.kinds):");
    for kind in ModelKind::all() {
        println!("  {:<24} {}", kind.name(), kind.family().summary());
    }
    println!("\nSystems ([data.task.system] kind):");
    for (name, formula) in hnn_systems::System::KINDS {
        println!("  {name:<24} {formula}");
    }
    println!("\nIntegrators (fixed step; adaptive: dopri5, dop853):");
    let names: Vec<&str> = hnn_core::IntegratorKind::ALL.iter().map(|(_, n)| *n).collect();
    println!("  {}", names.join(", "));
}
