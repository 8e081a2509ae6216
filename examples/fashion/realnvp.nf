# RealNVP-style coupling flow for Fashion-MNIST (Dinh et al. 2017, with
# fully connected conditioners instead of ResNets): 6 affine couplings that
# alternate which half of the pixels they transform, each conditioned by an
# MLP with two hidden layers of 1024 units, on dequantised pixels mapped
# through the logit with alpha = 0.05 of the RealNVP paper.
flow fashion_realnvp(dim = 784, image = [28, 28, 1]) {
  dequantize(levels = 256)
  elementwise logit(alpha = 0.05)
  repeat 6 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [1024, 1024], act = relu)
      s = 2 * tanh(s / 2)                       # soft clamp of the log-scale
    }
  }
}
