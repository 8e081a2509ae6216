# Each output must be solvable for its own input in closed form.
flow f(dim = 2) {
  map {
    z0 = x0 * exp(x0)
# expect: 4:5: warning: cannot prove dz0/dx0 != 0, so z0 may not be invertible everywhere; dz0/dx0 = exp(x0) + x0 * exp(x0)
# expect: 4:5: error: cannot invert z0 for x0: the input occurs more than once
    z1 = x1 + x0
  }
}
