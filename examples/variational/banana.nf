# A banana (a Rosenbrock-type density): x0 ~ N(0, 2^2) and x1 | x0 ~
# N(x0^2 / 4, 1), written without its normaliser 1 / (2 pi * 2):
#   log Z = log(4 pi) = 2.531024
# nfc train examples/variational/banana.nf --target banana --steps 2000 --lr 3e-3
flow affine_flow(dim = 2) {
  repeat 4 {
    coupling affine(mask = alternate) { net = mlp(hidden = [64, 64], act = tanh) }
  }
}

target banana(dim = 2) {
  logp = -x0^2 / 8 - 0.5 * (x1 - x0^2 / 4)^2
}
