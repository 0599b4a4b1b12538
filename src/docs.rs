//! The book's chapters (`docs/src/*.md`) as doc tests: `cargo test --doc` compiles and runs
//! every Rust sample in them, hidden `# ` lines included, as it does the crate's own examples.
//! Samples marked `rust,ignore` are programs the book includes from `examples/`, which tests
//! run (`tests/docs.rs` holds every chapter to these two rules). Compiled only for doc tests.

/// One empty module per chapter, documented by the chapter's text.
macro_rules! chapters {
    ($($module:ident: $file:literal),* $(,)?) => {
        $(
            #[doc = include_str!(concat!("../docs/src/", $file))]
            pub mod $module {}
        )*
    };
}

chapters! {
    introduction: "introduction.md",
    getting_started: "getting-started.md",
    tutorial: "tutorial.md",
    library: "library.md",
    python: "python.md",
    models: "models.md",
    integrators: "integrators.md",
    experiments: "experiments.md",
    cli: "cli.md",
    formats: "formats.md",
    results: "results.md",
    beyond: "beyond.md",
    pixels: "pixels.md",
    performance: "performance.md",
    robustness: "robustness.md",
    architecture: "architecture.md",
    contributing: "contributing.md",
}
