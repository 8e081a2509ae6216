flow f(dim = 2, context = -1) {
# expect: 1:27: error: 'context' must be an integer >= 0, found -1
  permute reverse
}
