# param NAME[n] = init [positive | (lo, hi)], ...
flow f(dim = 1) {
  param a = 1 b = 2
# expect: 3:15: error: expected ',' between parameter declarations, found 'b'
  param c 1
# expect: 5:11: error: expected '=' and an initial value after 'c', found number '1'
  param d = 1 (0 1)
# expect: 7:18: error: expected ',' between the bounds of the interval, found number '1'
  param e[2 = 1
# expect: 9:13: error: expected ']' after the vector size, found '='
  map { let = 1; z0 = x0 * a * c * d * e[0] }
# expect: 11:9: error: unknown map output 'let'; outputs are named z0
}
