# atan maps onto (-pi/2, pi/2): as the last layer under a normal base it
# cannot be inverted at most draws.
flow e(dim = 2) {
  elementwise atan
# expect: 4:3: error: the last layer's output takes values in (-1.5708, 1.5708) only, which does not cover the base's support (-inf, inf): samples there have no inverse
}
