flow f(dim = 2) {
  coupling late(mask = alternate)
}
transform late(x; t) = x + t
# expect: 4:11: error: transform 'late' is defined after the flow; define transforms before it
