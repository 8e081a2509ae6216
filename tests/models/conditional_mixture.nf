# A conditional flow with a mixture base: the context enters a coupling's
# network and a MADE; emitted code takes it as an argument.
flow conditional_mixture(dim = 2, context = 2, base = mixture(components = 3)) {
  coupling affine(mask = alternate) {
    net = mlp(hidden = [8], act = tanh)
  }
  maf affine(order = reverse) {
    net = made(hidden = [8], act = tanh)
  }
}
