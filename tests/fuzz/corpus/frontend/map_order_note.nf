# A map triangular only in another order is accepted, and the order reported.
flow f(dim = 2) {
  map {
    z0 = x0 + x1^3
    z1 = x1 * 2
# expect: 5:5: note: the map is triangular in the order z1, z0 (each output uses only the inputs of outputs before it); it is inverted in that order
  }
}
