# z1 = x1 + abs(x1) is 0 for every x1 <= 0: flat, not a bijection.
flow f(dim = 2) {
  map {
    z0 = x0
    z1 = x1 + abs(x1) + 0.5 * x0
# expect: 5:5: error: z1 is constant in x1 between x1 = -0.5 and 0 (dz1/dx1 = 0), so the map is not a bijection
  }
}
