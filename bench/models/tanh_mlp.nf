# A tanh-MLP flow on 8 dimensions: its cost is dominated by tanh (and the
# exp of the affine transform), which is where vector math libraries matter.
flow tanh_mlp(dim = 8) {
  repeat 4 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [64, 64], act = tanh)
      s = 2 * tanh(s / 2)
    }
    permute random(seed = 1)
  }
}
