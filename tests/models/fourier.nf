# sin and cos (periodic terms under a dominant identity): each output is
# proved increasing and inverted by Newton-bisection.
flow fourier(dim = 2) {
  param a = 0.4 (-0.9, 0.9)
  map {
    z0 = x0 + a * sin(x0)
    z1 = x1 + 0.2 * cos(2 * x1) + sin(x0) * cos(x0)
  }
}
