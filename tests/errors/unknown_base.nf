flow f(dim = 2, base = uniform) {
# expect: 1:24: error: unknown base distribution 'uniform'; the only base is 'normal'
  permute reverse
}
