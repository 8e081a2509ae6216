flow f(dim = 2) {
  coupling affine(mask = alternate) { net = mlp(hidden = [4]) }
}
target t(dim = 2) {
  data X = "x.csv"
  param s = 1 positive
  let a = logaddexp(x0, x1)
  logp = -0.5 * dot(x, x) / s^2 + sum(x) - a
}
