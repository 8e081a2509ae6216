# Declared but never used parameters and lets are warnings, not errors: the
# model is valid (and `nfc check` exits 0).
flow f(dim = 2) {
  param a = 1, b = 2 positive
# expect: 4:16: warning: parameter 'b' is never used
  map {
    param c[2] = 0.5
# expect: 7:11: warning: parameter 'c' is never used
    let r = x0 + a
    let unused = x1
# expect: 10:9: warning: let 'unused' is never used
    z0 = r
    z1 = x1
  }
}
