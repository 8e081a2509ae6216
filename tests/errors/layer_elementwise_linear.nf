flow f(dim = 2) {
  elementwise affine(q = 1)
# expect: 2:22: error: 'q' is not a parameter of transform 'affine'
  elementwise exp(s = 1)
# expect: 4:19: error: function 'exp' takes no parameters
  elementwise affine(s = x)
# expect: 6:26: error: initial value of 's' must be a number, found 'x'
  linear { net = mlp() }
# expect: 8:12: error: 'linear' takes no network
  elementwise nope
# expect: 10:15: error: unknown transform 'nope'
}
