# The first argument of where must be a comparison: < <= > >= == !=.
flow f(dim = 2) {
  map {
    z0 = x0 + where(x0, 1, 2)
# expect: 4:21: error: the condition of where(cond, a, b) must be a comparison: one of < <= > >= == !=
    z1 = x1 + where(sigmoid(x0) - 0.5, x0, 0) + where(x0 == 0, 1, where(1, x0, 0))
# expect: 6:21: error: the condition of where(cond, a, b) must be a comparison: one of < <= > >= == !=
# expect: 6:73: error: the condition of where(cond, a, b) must be a comparison: one of < <= > >= == !=
  }
}
