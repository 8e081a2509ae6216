flow f(dim = 2) {
  map {
    z0 = x0 $ 2
# expect: 3:13: error: unexpected character '$'
    z1 = x1 + 1.2.3
# expect: 5:15: error: malformed number '1.2.3'
  }
}
