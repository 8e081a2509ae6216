# A conditional flow with every context network: the embedding every
# conditioner reads, an elementwise layer whose parameters are a network of
# it, and a diagonal normal base whose mean and log-scale are one.
flow conditional_networks(dim = 4, context = 1,
                          context_net = mlp(hidden = [16], out = 4, act = tanh),
                          base = diag_normal(net = mlp(hidden = [16], act = tanh))) {
  repeat 2 {
    maf affine(order = natural) {
      net = made(hidden = [32, 32], act = tanh)
      s = 2 * tanh(s / 2)
    }
    permute reverse
  }
  elementwise affine {
    net = mlp(hidden = [8])
    s = tanh(s)
  }
}
