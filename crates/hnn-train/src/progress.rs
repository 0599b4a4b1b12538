//! The training loop's progress bar: indicatif's with the `progress` feature (the `hnn`
//! command turns it on), nothing without it, so a library user compiles no terminal code.

/// A progress bar over training steps; hidden when not asked for or built without `progress`.
pub struct Progress {
    #[cfg(feature = "progress")]
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// A bar for `total` steps of which `done` are done, labelled `label`; hidden unless `show`.
    pub fn new(show: bool, label: &str, total: usize, done: usize) -> Self {
        #[cfg(feature = "progress")]
        {
            if !show {
                return Self { bar: indicatif::ProgressBar::hidden() };
            }
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>14} [{bar:30}] {pos}/{len} {msg} {per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.set_position(done as u64);
            Self { bar }
        }
        #[cfg(not(feature = "progress"))]
        {
            let _ = (show, label, total, done);
            Self {}
        }
    }

    /// Moves the bar to `step` with a message.
    pub fn update(&self, step: usize, message: impl FnOnce() -> String) {
        #[cfg(feature = "progress")]
        if !self.bar.is_hidden() {
            self.bar.set_position(step as u64);
            self.bar.set_message(message());
        }
        #[cfg(not(feature = "progress"))]
        let _ = (step, message);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        #[cfg(feature = "progress")]
        self.bar.finish_and_clear();
    }
}
