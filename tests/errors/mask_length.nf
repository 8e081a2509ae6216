flow f(dim = 3) {
  coupling affine(mask = [0, 1])
# expect: 2:26: error: mask has 2 entries but the flow has dim 3
}
