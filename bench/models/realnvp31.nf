# V2 of the variational benchmark: RealNVP on 31 dimensions (the logistic
# regression's weights), 4 affine couplings alternating the transformed
# half, MLP -> 64 -> 64 ReLU, log-scale soft-clamped to (-2, 2).
flow realnvp31(dim = 31) {
  repeat 4 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)
    }
  }
}
