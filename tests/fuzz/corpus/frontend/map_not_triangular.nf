# The structural pass looks for an order in which the map is triangular; when
# the outputs' dependencies form a cycle there is none, and the cycle is named.
flow f(dim = 3) {
  map {
    z0 = x0 + 0.5 * x2
# expect: 5:5: error: layer is not triangular in any order: z0 depends on x2, z2 depends on x0
    z1 = x1
    z2 = x2 - 0.1 * x0
  }
}
