flow f(dim = 2) {
  repeat 0 {
# expect: 2:10: error: repeat count must be an integer >= 1, found 0
    permute reverse
  }
  repeat 20000 {
# expect: 6:10: error: repeat count must be at most 10000, found 20000
    permute reverse
  }
}
