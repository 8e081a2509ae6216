# Four Gaussians on a square, weights 0.1, 0.2, 0.3, 0.4, standard deviation
# 0.5, written unnormalised (each term without its 1/(2 pi s^2)):
#   p~(x) = sum_k w_k exp(-|x - m_k|^2 / (2 s^2))
#   log Z = log(2 pi s^2) = log(pi / 2) = 0.451583   (the weights sum to 1)
# nfc train examples/variational/mixture.nf --target mixture --steps 3000 --lr 3e-3
# Reverse KL is mode-seeking: a flow that misses a mode underestimates log Z
# by the log of the missed weight, and ESS/N shows it.
flow spline_flow(dim = 2) {
  repeat 4 {
    coupling spline(mask = alternate, bins = 8, bound = 5) { net = mlp(hidden = [64, 64], act = relu) }
  }
}

target mixture(dim = 2) {
  let s2 = 2 * 0.5^2
  let a = log(0.1) - ((x0 - 2)^2 + (x1 - 2)^2) / s2
  let b = log(0.2) - ((x0 + 2)^2 + (x1 - 2)^2) / s2
  let c = log(0.3) - ((x0 + 2)^2 + (x1 + 2)^2) / s2
  let d = log(0.4) - ((x0 - 2)^2 + (x1 + 2)^2) / s2
  logp = logaddexp(logaddexp(a, b), logaddexp(c, d))
}
