flow f(dim = -3) {
# expect: 1:14: error: 'dim' must be an integer >= 1, found -3
  permute reverse
}
