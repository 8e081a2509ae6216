transform constant(x; c) = c * 2
# expect: 1:11: error: transform 'constant' does not depend on its input 'x'
transform twice(x; a, a) = x * a
# expect: 3:23: error: duplicate parameter 'a' in transform 'twice'

flow f(dim = 2) {
  coupling constant(mask = alternate)
}
