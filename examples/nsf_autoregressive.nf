# Neural spline flow, autoregressive (Durkan et al. 2019, NSF-AR): each
# dimension passes through a rational-quadratic spline (8 bins on [-3, 3],
# the identity outside) whose 23 parameters come from a MADE of the
# dimensions before it.
flow nsf_autoregressive(dim = 2, base = normal) {
  repeat 3 {
    maf spline(bins = 8, bound = 3) { net = made(hidden = [64, 64], act = relu) }
    permute reverse
  }
}
