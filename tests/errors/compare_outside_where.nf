# Comparisons are only the condition of where(cond, a, b); they bind loosest
# and do not chain.
transform step(x; t) = x + (t > 0)
# expect: 3:29: error: a comparison can only be the condition of where(cond, a, b)
flow f(dim = 2) {
  map {
    let r = x0 >= 1
# expect: 7:13: error: a comparison can only be the condition of where(cond, a, b)
    z0 = x0 + where((x0 < 1) == (x0 > 2), 1, 2)
# expect: 9:22: error: a comparison can only be the condition of where(cond, a, b)
# expect: 9:34: error: a comparison can only be the condition of where(cond, a, b)
    z1 = x1 + where(0 < x0 <= 1, 1, 2)
# expect: 12:28: error: comparisons do not chain: 'a < b < c' is not allowed
  }
  map { z0 = x0; z1 = x1 * exp(x0 != 0) }
# expect: 15:32: error: a comparison can only be the condition of where(cond, a, b)
}
