# Map outputs without a closed-form inverse: inverted by Newton-bisection.
flow newton(dim = 2) {
  param a = 0.6 (-0.9, 0.9)
  map {
    z0 = x0 + a * tanh(x0)
    z1 = x1 * exp(0.2 * x0) + 0.3 * sinh(x1)
  }
}
