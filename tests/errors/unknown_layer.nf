# A misspelt layer keyword gets a hint.
flow f(dim = 2) {
  coupl affine(mask = alternate)
# expect: 3:3: error: unknown layer 'coupl'; did you mean 'coupling'?
  permut reverse
# expect: 5:3: error: unknown layer 'permut'; did you mean 'permute'?
  squeeze
# expect: 7:3: error: unknown layer 'squeeze'
}
