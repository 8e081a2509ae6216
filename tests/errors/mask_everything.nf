flow f(dim = 2) {
  coupling affine(mask = [1, 1])
# expect: 2:26: error: mask transforms every dimension; a coupling layer needs at least one identity dimension
}
