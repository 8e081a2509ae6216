# Neal's funnel (Neal 2003), in two dimensions and normalised, so log Z = 0:
#   x0 ~ N(0, 3^2),  x1 | x0 ~ N(0, exp(x0))
# Its neck (x0 << 0) is narrow and its mouth wide: a hard geometry for
# samplers and for flows alike.
# nfc train examples/variational/funnel.nf --target funnel --steps 4000 --lr 3e-3
# The exact map is affine in x1 with log-scale x0 / 2, which affine
# couplings express; a spline's bounded slopes cannot reach far into the neck.
flow affine_flow(dim = 2) {
  elementwise affine(s = 0, t = 0)
  repeat 4 {
    coupling affine(mask = alternate) { net = mlp(hidden = [64, 64], act = relu) }
  }
}

target funnel(dim = 2) {
  let log_2pi = 1.8378770664093453
  logp = -x0^2 / 18 - log(3) - 0.5 * log_2pi - x1^2 / (2 * exp(x0)) - x0 / 2 - 0.5 * log_2pi
}
