# A one-dimensional flow has nothing to condition on.
flow f(dim = 1) {
  coupling affine(mask = alternate)
# expect: 3:26: error: mask 'alternate' needs dim >= 2, but the flow has dim 1
  coupling affine(mask = halves)
# expect: 5:26: error: mask 'halves' needs dim >= 2, but the flow has dim 1
}
