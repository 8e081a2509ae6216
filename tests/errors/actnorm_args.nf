# ActNorm is a bare keyword: its tensors are learned, initialised from data.
flow f(dim = 2) {
  actnorm(eps = 1e-6)
# expect: 3:10: error: 'actnorm' takes no arguments and no block
  actnorm { }
# expect: 5:11: error: 'actnorm' takes no arguments and no block
  actnrom
# expect: 7:3: error: unknown layer 'actnrom'; did you mean 'actnorm'?
}
