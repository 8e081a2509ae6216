# Only the built-in functions may be called.
transform f(x; s) = x * exq(s) + foo(s)
# expect: 2:25: error: unknown function 'exq'; did you mean 'exp'?
# expect: 2:34: error: unknown function 'foo'

flow m(dim = 2) {
  map {
    z0 = tahn(x0)
# expect: 8:10: error: unknown function 'tahn'; did you mean 'tanh'?
    z1 = x1
  }
}
