# The Foundation's scaling case: 5 coupling layers with 2x512-unit
# conditioners on 64 dimensions (about 2.8 M parameters).
flow coupling64(dim = 64) {
  repeat 5 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [512, 512], act = relu)
      s = 3 * tanh(s / 3)
    }
    permute random(seed = 1)
  }
}
