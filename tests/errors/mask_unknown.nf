flow f(dim = 2) {
  coupling affine(mask = alternte)
# expect: 2:26: error: unknown mask 'alternte'; did you mean 'alternate'?
  coupling affine(maks = halves)
# expect: 4:12: error: missing argument 'mask' for 'coupling'
# expect: 4:19: error: unknown argument 'maks' for 'coupling'; did you mean 'mask'?
  coupling affin(mask = halves)
# expect: 7:12: error: unknown transform 'affin'; did you mean 'affine'?
}
