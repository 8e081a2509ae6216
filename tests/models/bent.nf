# A coupling transform without a closed-form inverse: a vector solve.
transform bent(x; s, t) = x * exp(s) + 0.5 * tanh(x) + t
flow bentflow(dim = 3) {
  repeat 2 {
    coupling bent(mask = alternate) { net = mlp(hidden = [8], act = tanh); s = 2 * tanh(s / 2) }
  }
}
