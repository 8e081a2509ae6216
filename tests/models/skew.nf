# A flow without parameters.
flow skew(dim = 1) {
  map { z0 = sinh(1.4 * asinh(x0) - 0.3) }
  map { z0 = x0 * exp(0.4) + 0.7 }
}
