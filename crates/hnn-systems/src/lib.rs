//! # hnn-systems: analytic Hamiltonians (spring, pendulum, N-body, ...), the reference data generators, datasets and their file formats. (Being built: issue #7.)
