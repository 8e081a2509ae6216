flow f(dim = 2, base = gaussian) {
# expect: 1:24: error: unknown base distribution 'gaussian'; expected 'normal', 'diag_normal', 'uniform', 'mixture(components = K)' or 'student_t(df = nu)'
  permute reverse
}
