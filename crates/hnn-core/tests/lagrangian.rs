//! Lagrangian models: the MLP's Hessian and tangents against finite differences, the pivoted
//! solve (answers, gradients, singular matrices named), the Euler–Lagrange field against a
//! hand-written Lagrangian and against its own equations, energy conservation for any
//! weights, DeLaN's positive-definite mass, and parameter gradients of an acceleration loss.

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{VarBuilder, VarMap};
use hnn_core::init::orthogonal_init;
use hnn_core::lagrangian::LagrangianJet;
use hnn_core::linalg::solve;
use hnn_core::mlp::{Mlp, MlpConfig};
use hnn_core::models::MASS_FLOOR;
use hnn_core::symplectic::split_qp;
use hnn_core::{
    Activation, DeepLagrangian, Error, EulerLagrange, Integrator, Lagrangian, NeuralLagrangian, Result, VectorField,
};
use rand::{Rng, SeedableRng};

fn random(seed: u64, rows: usize, cols: usize, scale: f64) -> Tensor {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..rows * cols).map(|_| rng.random_range(-scale..scale)).collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
}

fn vec2(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_vec2::<f64>().unwrap()
}

fn vec3(t: &Tensor) -> Vec<Vec<Vec<f64>>> {
    t.to_vec3::<f64>().unwrap()
}

/// Row `b` of x with component `j` moved by `h`.
fn nudged(x: &Tensor, j: usize, h: f64) -> Tensor {
    let width = x.dims()[1];
    let mut e = vec![0.0; width];
    e[j] = h;
    x.broadcast_add(&Tensor::from_vec(e, (1, width), &Device::Cpu).unwrap()).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

fn mlp(input: usize, hidden: &[usize], output: usize, activation: Activation, seed: u64) -> (VarMap, Mlp) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let config = MlpConfig { input, hidden: hidden.to_vec(), output, activation };
    let net = Mlp::new(&config, vb).unwrap();
    // Non-zero biases, so that no symmetry hides a wrong term.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for var in varmap.all_vars() {
        let n = var.elem_count();
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-0.8..0.8)).collect();
        var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
    }
    (varmap, net)
}

#[test]
fn hessian_products_match_finite_differences_of_the_gradient() {
    let h = 1e-5;
    for (i, activation) in [Activation::Tanh, Activation::Softplus, Activation::Sin, Activation::Gelu, Activation::Silu]
        .into_iter()
        .enumerate()
    {
        for hidden in [vec![7], vec![6, 5], vec![5, 4, 6]] {
            let (_vars, net) = mlp(4, &hidden, 1, activation, i as u64);
            let x = random(3, 9, 4, 1.5);
            let directions = Tensor::eye(4, DType::F64, &Device::Cpu).unwrap().narrow(0, 1, 3).unwrap();
            let (y, grad, products) = net.value_grad_and_hessian_products(&x, &directions).unwrap();
            assert_eq!(y.dims(), [9]);
            assert_eq!(products.dims(), [9, 3, 4]);
            let products = vec3(&products);
            for (m, j) in (1..4).enumerate() {
                let plus = vec2(&net.value_and_input_grad(&nudged(&x, j, h)).unwrap().1);
                let minus = vec2(&net.value_and_input_grad(&nudged(&x, j, -h)).unwrap().1);
                for b in 0..9 {
                    for k in 0..4 {
                        let fd = (plus[b][k] - minus[b][k]) / (2.0 * h);
                        let got = products[b][m][k];
                        assert!(close(got, fd, 1e-7), "{activation} {hidden:?}: H[{k}, {j}] = {got}, fd {fd}");
                    }
                }
            }
            // The gradient returned alongside is the network's own.
            let own = vec2(&net.value_and_input_grad(&x).unwrap().1);
            assert_eq!(vec2(&grad), own);
        }
    }
}

#[test]
fn tangents_match_finite_differences_of_the_output() {
    let h = 1e-6;
    for hidden in [vec![8], vec![6, 5]] {
        let (_vars, net) = mlp(3, &hidden, 6, Activation::Softplus, 4);
        let x = random(5, 7, 3, 2.0);
        let directions = random(6, 2, 3, 1.0);
        let (y, dy) = net.forward_with_tangents(&x, &directions).unwrap();
        assert_eq!(vec2(&y), vec2(&net.forward(&x).unwrap()));
        let dy = vec3(&dy);
        let dirs = vec2(&directions);
        for (m, d) in dirs.iter().enumerate() {
            let step = Tensor::from_vec(d.clone(), (1, 3), &Device::Cpu).unwrap();
            let plus = vec2(&net.forward(&x.broadcast_add(&(&step * h).unwrap()).unwrap()).unwrap());
            let minus = vec2(&net.forward(&x.broadcast_sub(&(&step * h).unwrap()).unwrap()).unwrap());
            for b in 0..7 {
                for o in 0..6 {
                    let fd = (plus[b][o] - minus[b][o]) / (2.0 * h);
                    assert!(close(dy[b][m][o], fd, 1e-7), "{hidden:?}: ẏ = {}, fd {fd}", dy[b][m][o]);
                }
            }
        }
    }
}

/// A batch of matrices from rows of numbers.
fn matrices(rows: &[Vec<f64>], n: usize) -> Tensor {
    Tensor::from_vec(rows.concat(), (rows.len(), n, n), &Device::Cpu).unwrap()
}

#[test]
fn the_solve_pivots_and_answers_a_x_equals_b() {
    let n = 5;
    let mut rows: Vec<Vec<f64>> = vec2(&random(11, 6, n * n, 1.0));
    // A zero leading entry and a permutation matrix need the row exchanges.
    rows[0][0] = 0.0;
    rows[1] = (0..n * n).map(|i| if (i / n + 1) % n == i % n { 1.0 } else { 0.0 }).collect();
    let a = matrices(&rows, n);
    let b = random(12, 6, n, 1.0);
    let x = solve(&a, &b, "A").unwrap();
    let back = hnn_core::linalg::small_matvec(&a, &x).unwrap();
    for (r, e) in vec2(&back).iter().flatten().zip(vec2(&b).iter().flatten()) {
        assert!((r - e).abs() < 1e-12, "A x = {r}, b = {e}");
    }
}

#[test]
fn a_singular_or_non_finite_system_is_named_not_solved_into_nan() {
    let good = vec![2.0, 1.0, 1.0, 3.0];
    for bad in
        [vec![1.0, 2.0, 2.0, 4.0], vec![0.0; 4], vec![f64::NAN, 1.0, 1.0, 1.0], vec![1e300, 1.0, f64::INFINITY, 1.0]]
    {
        let a = matrices(&[good.clone(), bad.clone()], 2);
        let b = Tensor::ones((2, 2), DType::F64, &Device::Cpu).unwrap();
        match solve(&a, &b, "the test matrix") {
            Err(Error::IllConditioned { what, state, .. }) => {
                assert_eq!((what.as_str(), state), ("the test matrix", 1), "{bad:?}");
            }
            other => panic!("{bad:?}: expected IllConditioned, got {other:?}"),
        }
    }
    let message = solve(&matrices(&[vec![0.0; 4]], 2), &Tensor::ones((1, 2), DType::F64, &Device::Cpu).unwrap(), "M")
        .unwrap_err()
        .to_string();
    assert!(message.contains("delan"), "the error names the alternative: {message}");
}

#[test]
fn solve_gradients_are_the_closed_form() {
    // x = A⁻¹b, loss = c·x: ∂loss/∂b = A⁻ᵀc, ∂loss/∂A = −(A⁻ᵀc) xᵀ.
    let n = 3;
    let mut rows = vec2(&random(21, 4, n * n, 1.0));
    rows[2][0] = 0.0;
    let a = Var::from_tensor(&matrices(&rows, n)).unwrap();
    let b = Var::from_tensor(&random(22, 4, n, 1.0)).unwrap();
    let c = random(23, 4, n, 1.0);
    let x = solve(a.as_tensor(), b.as_tensor(), "A").unwrap();
    let grads = (&x * &c).unwrap().sum_all().unwrap().backward().unwrap();
    let at = a.as_tensor().detach().transpose(1, 2).unwrap().contiguous().unwrap();
    let lambda = solve(&at, &c, "Aᵀ").unwrap();
    let ga = vec3(grads.get(a.as_tensor()).unwrap());
    let gb = vec2(grads.get(b.as_tensor()).unwrap());
    let (lambda, x) = (vec2(&lambda), vec2(&x));
    for s in 0..4 {
        for i in 0..n {
            assert!(close(gb[s][i], lambda[s][i], 1e-10), "∂/∂b = {}, A⁻ᵀc = {}", gb[s][i], lambda[s][i]);
            for j in 0..n {
                let want = -lambda[s][i] * x[s][j];
                assert!(close(ga[s][i][j], want, 1e-10), "∂/∂A = {}, closed form {want}", ga[s][i][j]);
            }
        }
    }
}

/// L = ½(1 + q²)q̇² − ½q², written by hand: q̈ = −q(1 + q̇²)/(1 + q²). Its mixed term
/// ∂²L/∂q̇∂q = 2qq̇ is what a sign error in the Euler–Lagrange assembly would get wrong.
struct Bead;

impl Lagrangian for Bead {
    fn degrees_of_freedom(&self) -> usize {
        1
    }
    fn lagrangian(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.jet(z)?.value)
    }
    fn jet(&self, z: &Tensor) -> Result<LagrangianJet> {
        let (q, v) = split_qp(z)?;
        let inertia = (q.sqr()? + 1.0)?;
        let value = (((&inertia * v.sqr()?)? - q.sqr()?)? * 0.5)?.squeeze(1)?;
        Ok(LagrangianJet {
            value,
            dl_dq: ((&q * v.sqr()?)? - &q)?,
            dl_dv: (&inertia * &v)?,
            mass: inertia.unsqueeze(2)?,
            mixed: ((&q * &v)? * 2.0)?.unsqueeze(2)?,
        })
    }
}

#[test]
fn the_euler_lagrange_field_of_a_known_lagrangian_is_its_equation_of_motion() {
    let field = EulerLagrange::new(Bead);
    let z = random(31, 16, 2, 2.0);
    let dz = vec2(&field.time_derivatives(&z).unwrap());
    for (row, d) in vec2(&z).iter().zip(&dz) {
        let (q, v) = (row[0], row[1]);
        assert_eq!(d[0], v);
        let want = -q * (1.0 + v * v) / (1.0 + q * q);
        assert!(close(d[1], want, 1e-14), "q̈ = {}, exact {want}", d[1]);
    }
    // Its energy is ½(1 + q²)q̇² + ½q².
    let e = field.energy_function().unwrap().energy(&z).unwrap().to_vec1::<f64>().unwrap();
    for (row, e) in vec2(&z).iter().zip(e) {
        let want = 0.5 * (1.0 + row[0] * row[0]) * row[1] * row[1] + 0.5 * row[0] * row[0];
        assert!(close(e, want, 1e-14));
    }
}

fn lnn(dof: usize, seed: u64) -> (VarMap, NeuralLagrangian) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let m = NeuralLagrangian::from_network(dof, &[12, 12], Activation::Softplus, vb).unwrap();
    orthogonal_init(&varmap, seed).unwrap();
    (varmap, m)
}

fn delan(dof: usize, seed: u64) -> (VarMap, DeepLagrangian) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let m = DeepLagrangian::from_networks(dof, &[12, 12], Activation::Tanh, vb).unwrap();
    orthogonal_init(&varmap, seed).unwrap();
    (varmap, m)
}

/// Every block of `l`'s jet against central differences of L (first derivatives) and of the
/// jet's own ∂L/∂q̇ (second derivatives, checked against the first by the other test).
fn check_jet(l: &dyn Lagrangian, z: &Tensor, what: &str) {
    let (batch, width) = z.dims2().unwrap();
    let n = width / 2;
    let h = 1e-5;
    let jet = l.jet(z).unwrap();
    let value = l.lagrangian(z).unwrap().to_vec1::<f64>().unwrap();
    assert_eq!(jet.value.to_vec1::<f64>().unwrap(), value);
    // The energy's shortcut (no Hessian) gives the jet's L and ∂L/∂q̇.
    let (short_value, momentum) = l.value_and_momentum(z).unwrap();
    for (a, b) in short_value.to_vec1::<f64>().unwrap().iter().zip(&value) {
        assert!(close(*a, *b, 1e-14), "{what}: L by value_and_momentum {a}, by the jet {b}");
    }
    for (a, b) in vec2(&momentum).iter().flatten().zip(vec2(&jet.dl_dv).iter().flatten()) {
        assert!(close(*a, *b, 1e-14), "{what}: ∂L/∂q̇ by value_and_momentum {a}, by the jet {b}");
    }
    let grad = vec2(&Tensor::cat(&[&jet.dl_dq, &jet.dl_dv], 1).unwrap());
    let (mass, mixed) = (vec3(&jet.mass), vec3(&jet.mixed));
    for j in 0..width {
        let plus = l.lagrangian(&nudged(z, j, h)).unwrap().to_vec1::<f64>().unwrap();
        let minus = l.lagrangian(&nudged(z, j, -h)).unwrap().to_vec1::<f64>().unwrap();
        let p_plus = vec2(&l.jet(&nudged(z, j, h)).unwrap().dl_dv);
        let p_minus = vec2(&l.jet(&nudged(z, j, -h)).unwrap().dl_dv);
        for b in 0..batch {
            let fd = (plus[b] - minus[b]) / (2.0 * h);
            assert!(close(grad[b][j], fd, 1e-7), "{what}: ∂L/∂z{j} = {}, fd {fd}", grad[b][j]);
            for i in 0..n {
                let fd = (p_plus[b][i] - p_minus[b][i]) / (2.0 * h);
                let got = if j < n { mixed[b][i][j] } else { mass[b][i][j - n] };
                assert!(close(got, fd, 1e-7), "{what}: ∂²L/∂q̇{i}∂z{j} = {got}, fd {fd}");
            }
        }
    }
}

#[test]
fn the_jets_of_both_lagrangian_models_match_finite_differences() {
    for dof in [1, 2, 3] {
        let z = random(40 + dof as u64, 6, 2 * dof, 1.5);
        let (_a, l) = lnn(dof, 1);
        check_jet(l.lagrangian(), &z, "LNN");
        let (_b, d) = delan(dof, 2);
        check_jet(d.lagrangian(), &z, "DeLaN");
    }
}

/// z + s·ż for every state.
fn along(z: &Tensor, dz: &Tensor, s: f64) -> Tensor {
    (z + (dz * s).unwrap()).unwrap()
}

#[test]
fn both_models_flow_by_their_own_euler_lagrange_equations_and_conserve_their_energy() {
    let h = 1e-5;
    for dof in [1, 2, 3] {
        let (_a, l) = lnn(dof, 5);
        let (_b, d) = delan(dof, 6);
        let models: [(&dyn VectorField, &dyn Lagrangian, &str); 2] =
            [(&l, l.lagrangian(), "LNN"), (&d, d.lagrangian(), "DeLaN")];
        for (field, lagrangian, what) in models {
            let z = random(50 + dof as u64, 8, 2 * dof, 1.0);
            let dz = field.time_derivatives(&z).unwrap();
            // d/dt ∂L/∂q̇ along the flow (central difference in time) is ∂L/∂q.
            let p_plus = lagrangian.jet(&along(&z, &dz, h)).unwrap().dl_dv;
            let p_minus = lagrangian.jet(&along(&z, &dz, -h)).unwrap().dl_dv;
            let dp_dt = vec2(&((p_plus - p_minus).unwrap() / (2.0 * h)).unwrap());
            let dl_dq = vec2(&lagrangian.jet(&z).unwrap().dl_dq);
            for (a, b) in dp_dt.iter().flatten().zip(dl_dq.iter().flatten()) {
                assert!(close(*a, *b, 1e-6), "{what}: d/dt ∂L/∂q̇ = {a}, ∂L/∂q = {b}");
            }
            // ∇E·ż = 0 at every state, whatever the weights.
            let energy = field.energy_function().expect("an energy");
            let grad = energy.grad(&z).unwrap();
            let power = (&grad * &dz).unwrap().sum(1).unwrap().to_vec1::<f64>().unwrap();
            let scale = (grad.sqr().unwrap().sum(1).unwrap() * dz.sqr().unwrap().sum(1).unwrap())
                .unwrap()
                .sqrt()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            for (p, s) in power.iter().zip(&scale) {
                assert!(p.abs() <= 1e-12 * (1.0 + s), "{what}: dE/dt = {p} (|∇E||ż| = {s})");
            }
        }
    }
}

#[test]
fn energy_is_conserved_along_a_rollout_to_the_integrators_order() {
    let (_vars, l) = lnn(2, 7);
    let z0 = random(61, 4, 4, 0.8);
    let energy = |z: &Tensor| l.energy_function().unwrap().energy(z).unwrap().to_vec1::<f64>().unwrap();
    let e0 = energy(&z0);
    let drift = |dt: f64| {
        let steps = (1.0 / dt).round() as usize;
        let z = hnn_core::integrators::Rk4.propagate(&l, &z0, dt, steps).unwrap();
        energy(&z).iter().zip(&e0).map(|(e, e0)| (e - e0).abs()).fold(0.0, f64::max)
    };
    let (coarse, fine) = (drift(0.02), drift(0.01));
    assert!(fine < 1e-6, "RK4 over t = 1 drifts {fine}");
    // Fourth order: halving dt divides the drift by about 16.
    assert!(coarse / fine > 8.0, "drift {coarse} at dt 0.02, {fine} at 0.01");
}

#[test]
fn the_delan_mass_matrix_is_positive_definite_everywhere() {
    for seed in 0..4 {
        let (_vars, d) = delan(3, seed);
        let z = random(70 + seed, 64, 6, 4.0);
        let m = d.lagrangian().mass_matrix(&z).unwrap();
        let x = random(80 + seed, 64, 3, 1.0);
        let xmx = (hnn_core::linalg::small_matvec(&m, &x).unwrap() * &x).unwrap().sum(1).unwrap();
        let xx = x.sqr().unwrap().sum(1).unwrap();
        for (a, b) in xmx.to_vec1::<f64>().unwrap().iter().zip(xx.to_vec1::<f64>().unwrap()) {
            assert!(*a >= MASS_FLOOR * b * (1.0 - 1e-12), "xᵀMx = {a} < ε|x|² = {}", MASS_FLOOR * b);
        }
        // Symmetric, and its energy is ½q̇ᵀMq̇ + V ≥ V.
        let mt = m.transpose(1, 2).unwrap();
        let diff = (&m - &mt).unwrap().abs().unwrap().max_keepdim(D::Minus1).unwrap().flatten_all().unwrap();
        assert!(diff.max(0).unwrap().to_scalar::<f64>().unwrap() < 1e-14);
    }
}

/// L = ½q²q̇² − ½q²: its mass q² vanishes at q = 0, where q̈ is undetermined.
struct Degenerate;

impl Lagrangian for Degenerate {
    fn degrees_of_freedom(&self) -> usize {
        1
    }
    fn lagrangian(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.jet(z)?.value)
    }
    fn jet(&self, z: &Tensor) -> Result<LagrangianJet> {
        let (q, v) = split_qp(z)?;
        let q2 = q.sqr()?;
        Ok(LagrangianJet {
            value: (((&q2 * v.sqr()?)? - &q2)? * 0.5)?.squeeze(1)?,
            dl_dq: ((&q * v.sqr()?)? - &q)?,
            dl_dv: (&q2 * &v)?,
            mass: q2.unsqueeze(2)?,
            mixed: ((&q * &v)? * 2.0)?.unsqueeze(2)?,
        })
    }
}

#[test]
fn a_singular_mass_matrix_is_an_error_naming_the_state_not_a_nan_rollout() {
    let field = EulerLagrange::new(Degenerate);
    let z = Tensor::from_vec(vec![0.5, 1.0, 0.0, 1.0, -0.3, 0.2], (3, 2), &Device::Cpu).unwrap();
    let err = field.time_derivatives(&z).unwrap_err();
    assert!(matches!(err, Error::IllConditioned { state: 1, .. }), "{err}");
    assert!(err.to_string().contains("∂²L/∂q̇²"), "{err}");
    // An LNN whose network is zero is the free particle ½|q̇|²: q̈ = 0, no singularity.
    let (vars, l) = lnn(2, 9);
    for var in vars.all_vars() {
        var.set(&var.zeros_like().unwrap()).unwrap();
    }
    let dz = l.time_derivatives(&random(91, 3, 4, 1.0)).unwrap();
    assert_eq!(dz.narrow(1, 2, 2).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap(), 0.0);
}

/// The loss mean((q̈ − target)²) of a model with variables `vars`.
fn acceleration_loss(field: &dyn VectorField, z: &Tensor, target: &Tensor) -> Tensor {
    let dof = z.dims()[1] / 2;
    let acc = field.time_derivatives(z).unwrap().narrow(1, dof, dof).unwrap();
    (acc - target).unwrap().sqr().unwrap().mean_all().unwrap()
}

#[test]
fn parameter_gradients_of_an_acceleration_loss_match_finite_differences() {
    let (a, l) = lnn(2, 11);
    let (b, d) = delan(2, 12);
    let cases: [(&VarMap, &dyn VectorField, &str); 2] = [(&a, &l, "LNN"), (&b, &d, "DeLaN")];
    let z = random(101, 10, 4, 1.0);
    let target = random(102, 10, 2, 1.0);
    for (vars, field, what) in cases {
        let loss = acceleration_loss(field, &z, &target);
        let grads = loss.backward().unwrap();
        let mut checked = 0;
        for var in vars.all_vars() {
            let g = grads.get(var.as_tensor()).expect("every variable gets a gradient").flatten_all().unwrap();
            let g = g.to_vec1::<f64>().unwrap();
            let original = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
            for i in [0, original.len() / 2, original.len() - 1] {
                let h = 1e-6;
                let at = |s: f64| {
                    let mut v = original.clone();
                    v[i] += s;
                    var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
                    acceleration_loss(field, &z, &target).to_scalar::<f64>().unwrap()
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                at(0.0);
                assert!(close(g[i], fd, 1e-5), "{what}: ∂loss/∂θ = {}, fd {fd}", g[i]);
                checked += 1;
            }
        }
        assert!(checked >= 12, "{what}: {checked} parameters checked");
    }
}
