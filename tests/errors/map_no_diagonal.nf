# z1 must depend on x1, or the layer cannot be inverted.
flow f(dim = 2) {
  map {
    z0 = x0
    z1 = 2 * x0 + x1 - x1
# expect: 5:5: error: layer is not invertible: z1 does not depend on x1
  }
}
