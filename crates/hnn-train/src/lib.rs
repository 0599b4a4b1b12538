//! # hnn-train: training (gradient and trajectory matching), evaluation, checkpoints, experiments and the `hnn` command line. (Being built: issue #3.)
