# Every function takes exactly one argument.
flow m(dim = 2) {
  map {
    z0 = exp(x0, 2)
# expect: 4:10: error: function 'exp' takes 1 argument, got 2
    z1 = x1 + log()
# expect: 6:15: error: function 'log' takes 1 argument, got 0
  }
}
