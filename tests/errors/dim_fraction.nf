flow f(dim = 2.5) {
# expect: 1:14: error: 'dim' must be an integer >= 1, found 2.5
  permute reverse
}
