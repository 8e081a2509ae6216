# A fold far out: z0 decreases around x0 = 200, beyond the dense grid; the
# sparse points out to 1e6 find it.
flow e(dim = 1) {
  map { z0 = x0 - 2 * tanh(x0 - 200) }
# expect: 4:9: error: z0 is not monotone in x0: dz0/dx0 = +1 at x0 = 100, -1 at x0 = 200, so the map is not a bijection
}
