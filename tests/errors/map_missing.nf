flow f(dim = 4) {
  map {
# expect: 2:3: error: map does not define 'z1', 'z3'
    z0 = x0
    z2 = x2
    z4 = x0
# expect: 6:5: error: 'z4' is out of range: the flow has dim 4 (z0..z3)
  }
}
