flow f(dim = 3) {
  coupling affine(mask = [0, 0, 0])
# expect: 2:26: error: mask transforms no dimension
}
