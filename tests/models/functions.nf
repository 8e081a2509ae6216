# The functions of the language in one map: sqrt, abs, log, log1p, expm1,
# atanh, logit, sigmoid, min/max (selects) and powers; z2 is inverted by
# Newton-bisection.
flow functions(dim = 3) {
  param c = 0.3 (-0.5, 0.5)
  map {
    z0 = x0 * exp(c) + sqrt(1 + c^2)
    z1 = x1 + 0.3 * abs(x0) + log(2 + x0^2) + expm1(0.1 * x0)
    z2 = x2 + atanh(0.5 * tanh(x2)) + max(x0, 0) * min(x1, 1) + logit(sigmoid(x1) * 0.5 + 0.25)
  }
}
