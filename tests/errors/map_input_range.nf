flow f(dim = 2) {
  map {
    z0 = x0
    z1 = x1 + x2
# expect: 4:15: error: 'x2' is out of range: the flow has dim 2 (x0..x1)
  }
  map {
    z0 = y
# expect: 8:10: error: unknown name 'y' in map; inputs are named x0..x1
    z1 = x1
  }
}
