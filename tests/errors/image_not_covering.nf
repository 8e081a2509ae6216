# exp maps onto (0, inf), which does not cover a normal base: sampling
# inverted the map at negative draws and printed -nan rows, exit 0.
flow e(dim = 2) {
  map { z0 = exp(x0); z1 = x1 }
# expect: 4:3: error: the last layer's z0 takes values in (0, inf) only, which does not cover the base's support (-inf, inf): samples there have no inverse
}
