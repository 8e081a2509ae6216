flow f(dim = 2) {
  permute reverse reverse
# expect: 2:19: error: expected end of statement, found 'reverse'
  coupling affine(mask = alternate) )
# expect: 4:37: error: expected end of statement, found ')'
  map { z0 = x0 * ; z1 = x1 }
# expect: 6:19: error: expected an expression, found ';'
  = 3
# expect: 8:3: error: expected a layer, found '='
}
