# Masked autoregressive flow (Papamakarios et al. 2017) for 2-D data: each
# layer computes z_k = x_k * exp(s_k) + t_k with (s_k, t_k) from a MADE of
# x_0..x_{k-1}. Density evaluation is one pass; sampling solves position by
# position, but nfc evaluates each hidden unit once (about one pass).
flow maf(dim = 2, base = normal) {
  repeat 5 {
    maf affine(order = natural) {
      net = made(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)                      # soft clamp of the log-scale
    }
    permute reverse
  }
}
