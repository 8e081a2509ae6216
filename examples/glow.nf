# Glow-style flow for vectors (Kingma & Dhariwal 2018): each step is an
# ActNorm (initialised from the first batch), an invertible linear map in LU
# form (the 1x1 convolution of images, for vectors), and an affine coupling.
flow glow(dim = 2, base = normal) {
  repeat 4 {
    actnorm
    linear
    coupling affine(mask = halves) {
      net = mlp(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)
    }
  }
}
