# log(x0) needs x0 > 0, log(-x0) needs x0 < 0: no x0 is in both.
flow e(dim = 2) {
  map { z0 = x0 + log(x0) + log(-x0); z1 = x1 }
# expect: 3:9: error: the map is defined for no value of x0: the domains of its functions do not overlap
}
