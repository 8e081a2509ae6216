# What interval arithmetic cannot prove is a warning at the output: the model
# still compiles (and its inverse is exact wherever the output is monotone).
# Here w > 0 (held so in training) still leaves w + 0.5 cos(x0) unproved, and
# at w = 0.5 it touches 0 only at isolated points, between grid points.
# (z0 = x0 * w alone is proved while w > 0: see tests/test_kept_signs.cpp.)
flow f(dim = 2) {
  param w = 0.5
  map {
    z0 = x0 * w + 0.5 * sin(x0)
# expect: 9:5: warning: cannot prove dz0/dx0 != 0, so z0 may not be invertible everywhere; dz0/dx0 = w + 0.5 * cos(x0)
    z1 = x1 * exp(x0)
  }
}
