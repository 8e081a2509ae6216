# Inverse autoregressive flow (Kingma et al. 2016): each layer is the inverse
# of a MAF layer, so sampling x_k = z_k * exp(s_k) + t_k with (s_k, t_k) from
# a MADE of z_0..z_{k-1} is one pass, and the density solves position by
# position (one loop in the compiled code; trainable by maximum likelihood).
flow iaf(dim = 2, base = normal) {
  repeat 5 {
    iaf affine {
      net = made(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)
    }
    permute reverse
  }
}
