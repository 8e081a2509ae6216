# z0 = x0 + sin(x0) is a bijection (dz0/dx0 = 1 + cos(x0) >= 0, zero only at
# isolated points), but interval arithmetic cannot prove dz0/dx0 > 0 and the
# sign search finds no sign change: nfc compiles it with a Newton-bisection
# inverse, and warns that invertibility is not proved.
flow f(dim = 2) {
  map {
    z0 = x0 + sin(x0)
# expect: 7:5: warning: cannot prove dz0/dx0 != 0, so z0 may not be invertible everywhere; dz0/dx0 = 1 + cos(x0)
    z1 = x1 + x0
  }
}
