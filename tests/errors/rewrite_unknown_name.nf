# A rewrite sees the transform's parameters, not the data.
flow f(dim = 2) {
  coupling affine(mask = alternate) {
    s = 2 * tanh(x0 / 2)
# expect: 4:18: error: unknown name 'x0' in rewrite of 's'; a rewrite may use only the parameters of 'affine'
    t = tt
# expect: 6:9: error: unknown name 'tt' in rewrite of 't'; did you mean 't'?
  }
}
