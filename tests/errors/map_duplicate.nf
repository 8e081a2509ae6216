flow f(dim = 2) {
  map {
    z0 = x0
    z1 = x1
    z0 = 2 * x0
# expect: 5:5: error: duplicate definition of 'z0'
  }
}
