# W1 of the benchmark (issue 7): RealNVP on 2 dimensions, 8 affine couplings
# alternating which coordinate is transformed, MLP 1 -> 64 -> 64 -> 2 ReLU,
# log-scale soft-clamped to (-2, 2).
flow realnvp2d(dim = 2) {
  repeat 8 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)
    }
  }
}
