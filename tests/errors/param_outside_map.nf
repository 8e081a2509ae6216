# Parameters and lets are for maps only: transforms and coupling rewrites
# cannot use them.
transform scaled(x; s) = x * exp(s * k)
# expect: 3:38: error: 'k' is a flow parameter and cannot be used in transform 'scaled': parameters are for maps only
flow f(dim = 2) {
  param k = 0.5 (0, 1)
  coupling affine(mask = alternate) {
    s = k * tanh(s)
# expect: 8:9: error: 'k' is a flow parameter and cannot be used in a coupling rewrite: parameters are for maps only
    t = t + r + c
# expect: 10:13: error: 'r' is a let of the map on line 14 and cannot be used in a coupling rewrite
# expect: 10:17: error: 'c' is a parameter of the map on line 14 and cannot be used in a coupling rewrite
  }
  map {
    param c = 1
    let r = x0 * c * k
    z0 = r; z1 = x1
  }
}
