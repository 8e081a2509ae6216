# Only a parameter of the coupling's transform can be rewritten.
flow f(dim = 2) {
  coupling affine(mask = alternate) {
    x = 2 * tanh(s)
# expect: 4:5: error: 'x' is not a parameter of transform 'affine'
    s = tanh(s); s = s / 2
# expect: 6:18: error: duplicate rewrite of 's'
  }
}
