flow f(dim = 0) {
# expect: 1:14: error: 'dim' must be an integer >= 1, found 0
  permute reverse
}
