# z0 = x0 exp(x0) is not monotone: its derivative (1 + x0) exp(x0) changes
# sign at x0 = -1. Interval arithmetic cannot decide it; evaluating the
# derivative on a grid finds the witness, and the map is refused.
flow f(dim = 2) {
  map {
    z0 = x0 * exp(x0)
# expect: 6:5: error: z0 is not monotone in x0: dz0/dx0 = -0.072 at x0 = -1.25, +0.12 at x0 = -0.75, so the map is not a bijection
    z1 = x1 + x0
  }
}
