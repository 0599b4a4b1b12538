//! Embeds the built-in experiments (`experiments/*.toml`) in the `hnn` binary, so that an
//! installed `hnn exp NAME` runs from any directory.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=experiments");
    // Read at run time: `env!` would bake in the path of the checkout this script was first
    // compiled for, which cargo reuses for another checkout sharing the target directory.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = std::path::Path::new(&manifest).join("experiments");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    let mut code =
        String::from("/// The built-in experiments: (name, TOML text).\npub const BUILTIN: &[(&str, &str)] = &[\n");
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_stem().expect("a file name").to_string_lossy().to_string();
        writeln!(code, "    ({name:?}, include_str!({:?})),", path.display().to_string()).expect("write to a string");
    }
    code.push_str("];\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("experiments.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
