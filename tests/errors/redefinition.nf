transform affine(x; s, t) = x * exp(s) + t     # shadowing a standard transform is allowed
transform shift(x; t) = x + t
transform shift(x; t) = x - t
# expect: 3:11: error: redefinition of transform 'shift'

flow f(dim = 2) {
  coupling shift(mask = alternate)
}
