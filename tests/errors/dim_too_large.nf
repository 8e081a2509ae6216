flow f(dim = 5000) {
# expect: 1:14: error: 'dim' must be at most 4096, found 5000
  permute reverse
}
