# A constraint is `positive` or an open interval (lo, hi) with lo < hi; the
# initial value must lie inside it (the raw value is its inverse image).
flow f(dim = 1) {
  param a = -1 positive, b = 0 positive
# expect: 4:13: error: initial value -1 of 'a' is not positive
# expect: 4:30: error: initial value 0 of 'b' is not positive
  param c = 1 (-1, 1), d = 0.5 (1, 0), e = 0 (2, 2)
# expect: 7:13: error: initial value 1 of 'c' is not inside (-1, 1)
# expect: 7:32: error: empty interval (1, 0) for 'd': the lower bound must be less than the upper
# expect: 7:46: error: empty interval (2, 2) for 'e': the lower bound must be less than the upper
  param v = [0.5, -0.5, 2] (0, 1)
# expect: 11:19: error: initial value -0.5 of 'v[1]' is not inside (0, 1)
# expect: 11:25: error: initial value 2 of 'v[2]' is not inside (0, 1)
  param g = 1 postive, h = 1 bounded, k = 1 (0, top)
# expect: 14:15: error: unknown constraint 'postive'; did you mean 'positive'?
# expect: 14:30: error: unknown constraint 'bounded'; expected 'positive' or an interval '(lo, hi)'
# expect: 14:49: error: interval bounds must be numbers, found 'top'
  param m = 1 (-1e20, 2), n = 0 (-1e308, 1e308)
# expect: 18:13: error: initial value 1 of 'm' is too close to a bound of (-1e20, 2)
# expect: 18:33: error: interval (-1e308, 1e308) for 'n' is too wide
  map { z0 = x0 * a + b + c + d + e + v[0] + g + h + k + m + n }
}
