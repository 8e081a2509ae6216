# The structural pass proves each layer triangular on the graph; a map whose
# output reads a later input is rejected, naming the pair.
flow f(dim = 3) {
  map {
    z0 = x0 + 0.5 * x2
# expect: 5:5: error: layer is not triangular: z0 depends on x2, which comes after it
    z1 = x1
    z2 = x2
  }
}
