# RealNVP with ActNorm layers on a learnable Gaussian-mixture base, for the
# eight Gaussians (builtin:8gaussians). The mixture supplies the modes, the
# couplings shape them; each ActNorm is initialised from the first batch.
flow gaussians_mixture(dim = 2, base = mixture(components = 8)) {
  repeat 4 {
    actnorm
    coupling affine(mask = alternate) {
      net = mlp(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)
    }
  }
}
