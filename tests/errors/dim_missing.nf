flow f(base = normal) {
# expect: 1:6: error: missing argument 'dim' for flow 'f'
  permute reverse
}
