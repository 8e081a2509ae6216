# What interval arithmetic cannot prove is a warning at the output: the model
# still compiles (and its inverse is exact wherever the output is monotone).
flow f(dim = 2) {
  param w = 0.5
  map {
    z0 = x0 * w
# expect: 6:5: warning: cannot prove dz0/dx0 != 0, so z0 may not be invertible everywhere; dz0/dx0 = w
    z1 = x1 * exp(x0)
  }
}
