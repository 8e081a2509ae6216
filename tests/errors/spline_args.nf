transform spline(x; t) = x + t
# expect: 1:11: error: 'spline' is the built-in spline transformer; give this transform another name

flow f(dim = 2) {
  coupling spline(mask = alternate, bins = 0)
# expect: 5:44: error: 'bins' must be an integer >= 1, found 0
  coupling spline(mask = alternate, bound = -3, min_width = 0.2)
# expect: 7:45: error: 'bound' must be a number > 0, found number -3
# expect: 7:61: error: 'min_width' must be a number > 0 and at most 1/bins = 0.125, found number 0.2
  coupling spline(mask = alternate, min_derivative = relu, min_height = 1e-3)
# expect: 10:54: error: 'min_derivative' must be a number > 0, found 'relu'
  coupling affine(mask = alternate, bins = 4)
# expect: 12:37: error: unknown argument 'bins' for 'coupling'
  coupling spline(mask = alternate) {
    s = 2 * tanh(s / 2)
# expect: 15:5: error: cannot rewrite 's': the spline transformer takes no rewrites
  }
  coupling splin(mask = alternate)
# expect: 18:12: error: unknown transform 'splin'; did you mean 'spline'?
}
