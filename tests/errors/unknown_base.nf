flow f(dim = 2, base = gaussian) {
# expect: 1:24: error: unknown base distribution 'gaussian'; expected 'normal' or 'uniform'
  permute reverse
}
