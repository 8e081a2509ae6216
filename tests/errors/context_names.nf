# A conditional flow's maps read its context as c0..c{C-1}; the names are
# reserved for it, and an index past the context is an error.
flow f(dim = 2, context = 2) {
  param c1 = 0.5
# expect: 4:9: error: a parameter cannot be named 'c1': c0, c1, ... are the context
  map {
    z0 = x0 + c2
# expect: 7:15: error: 'c2' is out of range: the flow has context 2 (c0..c1)
    z1 = x1 * exp(c0) + c1[0]
# expect: 9:25: error: 'c1' is a context value, not a vector: it cannot be indexed
  }
}
