# A second z0 where z1 is missing is most likely the z1: the error is at the
# second z0 and says so (it was "map does not define 'z1'" at the map).
flow f(dim = 2) {
  map {
    z0 = x0
    z0 = x0 + x1
# expect: 6:5: error: duplicate definition of 'z0'; the map does not define 'z1' (is this it?)
  }
}
