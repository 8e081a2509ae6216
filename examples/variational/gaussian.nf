# A correlated Gaussian written unnormalised: log Z is known exactly.
#   p~(x) = exp(3 - 0.5 * (x - m)' P (x - m)),  P = [[2, 0.9], [0.9, 1]]
#   log Z = 3 + log(2 pi) - 0.5 log det P = 3 + 1.837877 - 0.5 log(1.19) = 4.750907
# nfc train examples/variational/gaussian.nf --target gaussian --steps 1000
flow affine_flow(dim = 2) {
  # alternate masks flip from one coupling to the next: both coordinates move
  repeat 2 {
    coupling affine(mask = alternate) { net = mlp(hidden = [32], act = tanh) }
  }
}

target gaussian(dim = 2) {
  let a = x0 - 1
  let b = x1 + 2
  logp = 3 - 0.5 * (2 * a^2 + 1.8 * a * b + b^2)
}
