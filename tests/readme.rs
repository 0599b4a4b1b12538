//! README's program (`examples/readme.rs`), run in a scratch folder, and quoted in README.md as
//! it is, so that README stays true.

/// The program, included as it is (its header is plain `//` comments, so that it can be).
mod readme_program {
    include!("../examples/readme.rs");

    /// Its `main`, which is private to it.
    pub fn run() -> hnn::Result<()> {
        main()
    }
}

/// The program's body: everything after its header comment.
fn program() -> String {
    let source = include_str!("../examples/readme.rs");
    source.lines().skip_while(|l| l.starts_with("//") || l.is_empty()).collect::<Vec<_>>().join("\n")
}

#[test]
fn readme_quotes_the_program_it_runs() {
    let readme = include_str!("../README.md");
    let quoted = format!("```rust\n{}\n```", program());
    assert!(readme.contains(&quoted), "README.md must quote examples/readme.rs as it is:\n{quoted}");
}

#[test]
fn readme_program_runs() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::env::set_current_dir(dir.path())?;
    readme_program::run()?;
    let loaded = hnn::HnnModel::load("pendulum_hnn.safetensors")?;
    let z0 = hnn::prelude::Tensor::new(&[[1.0f64, 0.0]], &hnn::prelude::Device::Cpu)?;
    // The paper's pendulum, H = 3(1 − cos q) + p², after 500 steps: ṗ(1, 0) = −3 sin 1 ≈ −2.52 within 15%.
    let dp = loaded.predict_derivatives(&z0)?.to_vec2::<f64>()?[0][1];
    assert!((dp + 3.0 * 1f64.sin()).abs() < 0.15 * 3.0 * 1f64.sin(), "ṗ(1, 0) = {dp}");
    Ok(())
}
