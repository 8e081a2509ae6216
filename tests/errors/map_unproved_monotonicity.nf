# z0 = x0 exp(x0) has no closed-form inverse and is not monotone (its
# derivative changes sign at x0 = -1): nfc compiles it with a Newton-bisection
# inverse, and warns that invertibility is not proved.
flow f(dim = 2) {
  map {
    z0 = x0 * exp(x0)
# expect: 6:5: warning: cannot prove dz0/dx0 != 0, so z0 may not be invertible everywhere; dz0/dx0 = exp(x0) + x0 * exp(x0)
    z1 = x1 + x0
  }
}
