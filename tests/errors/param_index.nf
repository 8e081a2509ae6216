# A vector parameter is used by element, w[i] with an integer i in range; a
# scalar, an input or a let cannot be indexed.
flow f(dim = 2) {
  param a = 1, w[2] = 0.5, v = [1]
  map {
    let r = x0
    z0 = x0 * w[2] + w[-1] + w[0.5] + w
# expect: 7:15: error: index 2 is out of range for 'w' (2 elements: w[0]..w[1])
# expect: 7:22: error: index -1 is out of range for 'w' (2 elements: w[0]..w[1])
# expect: 7:32: error: an index must be an integer, found 0.5
# expect: 7:39: error: 'w' is a vector parameter: use one of its elements, w[0]..w[1]
    z1 = x1 + a[0] + x0[0] + r[0] + v + v[1]
# expect: 12:15: error: 'a' is a scalar parameter and cannot be indexed
# expect: 12:22: error: 'x0' is an input, not a vector: it cannot be indexed
# expect: 12:30: error: let 'r' is a scalar and cannot be indexed
# expect: 12:37: error: 'v' is a vector parameter: use one of its elements, v[0]
# expect: 12:41: error: index 1 is out of range for 'v' (1 element: v[0])
  }
}
