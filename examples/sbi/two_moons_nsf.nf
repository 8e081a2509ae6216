# two_moons.nf with rational-quadratic spline transformers (neural spline
# flows, Durkan et al. 2019) in place of the affine ones: the crescents are
# curved, which splines follow and affine layers only approximate.
#   python3 examples/sbi/sbi.py two_moons --model examples/sbi/two_moons_nsf.nf
flow two_moons_nsf(dim = 2, context = 2,
                   context_net = mlp(hidden = [50], out = 10, act = tanh),
                   base = diag_normal(net = mlp(hidden = [50], act = tanh))) {
  repeat 5 {
    maf spline(order = natural, bins = 8, bound = 4) {
      net = made(hidden = [50, 50], act = tanh)
    }
    permute reverse
  }
}
