# Each function takes its own number of arguments: one for exp .. abs, two for
# min and max, three for clamp and where.
flow m(dim = 2) {
  map {
    z0 = exp(x0, 2) + abs(x0, x1)
# expect: 5:10: error: function 'exp' takes 1 argument, got 2
# expect: 5:23: error: function 'abs' takes 1 argument, got 2
    z1 = x1 + log() + min(x0) + max(x0, x1, 1)
# expect: 8:15: error: function 'log' takes 1 argument, got 0
# expect: 8:23: error: function 'min' takes 2 arguments (a, b), got 1
# expect: 8:33: error: function 'max' takes 2 arguments (a, b), got 3
  }
  map {
    z0 = clamp(x0, 1) + where(x0 > 0, 1)
# expect: 14:10: error: function 'clamp' takes 3 arguments (x, lo, hi), got 2
# expect: 14:25: error: function 'where' takes 3 arguments (cond, a, b), got 2
    z1 = x1 + clamp(x0, -1, 1, 2)
# expect: 17:15: error: function 'clamp' takes 3 arguments (x, lo, hi), got 4
  }
}
