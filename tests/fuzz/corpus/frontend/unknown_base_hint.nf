# Every layer kind may sit on either base; a misspelt base gets a hint.
flow f(dim = 2, base = unifrom) {
# expect: 2:24: error: unknown base distribution 'unifrom'; did you mean 'uniform'?
  coupling affine(mask = alternate)
  map { z0 = x0; z1 = x1 }
}
