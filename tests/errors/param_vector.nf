# Vector parameters: NAME[n] = value (n from 1 to 4096) or NAME = [v, ...];
# both forms together must agree on the length.
flow f(dim = 1) {
  param w[0] = 1, u[5000] = 1, s[1.5] = 1, t[n] = 1
# expect: 4:11: error: the size of 'w' must be an integer >= 1, found 0
# expect: 4:21: error: the size of 'u' must be at most 4096, found 5000
# expect: 4:34: error: the size of 's' must be an integer >= 1, found 1.5
# expect: 4:46: error: the size of 't' must be an integer, found 'n'
  param v[3] = [1, 2], e = [], k = [1, one]
# expect: 9:16: error: 'v' is declared with 3 elements but its list has 2
# expect: 9:28: error: vector 'e' needs at least one element
# expect: 9:40: error: elements of 'k' must be numbers, found 'one'
  param m = normal, p = [[1]]
# expect: 13:13: error: the initial value of 'm' must be a number or a list of numbers, found 'normal'
# expect: 13:26: error: elements of 'p' must be numbers, found a list
  map { z0 = x0 }
}
