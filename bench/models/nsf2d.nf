# W3 of the benchmark (issue 7): neural spline flow on 2 dimensions, 4
# rational-quadratic spline couplings (8 bins on [-3, 3], linear tails)
# alternating, MLP 1 -> 64 -> 64 -> 23 ReLU.
flow nsf2d(dim = 2) {
  repeat 4 {
    coupling spline(mask = alternate, bins = 8, bound = 3) {
      net = mlp(hidden = [64, 64], act = relu)
    }
  }
}
