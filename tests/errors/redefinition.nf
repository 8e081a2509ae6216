transform affine(x; s, t) = x * s + t
# expect: 1:11: error: redefinition of transform 'affine'
transform shift(x; t) = x + t
transform shift(x; t) = x - t
# expect: 4:11: error: redefinition of transform 'shift'

flow f(dim = 2) {
  coupling shift(mask = alternate)
}
