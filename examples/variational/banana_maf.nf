# The banana of banana.nf fitted by a masked autoregressive flow. A MAF
# samples one position after another; variational training differentiates
# that direction through its per-position graph (each hidden unit once).
# The orders alternate: a MADE with the same order in every layer would
# model x1 | x0 only through constant affine maps.
#   log Z = log(4 pi) = 2.531024
# nfc train examples/variational/banana_maf.nf --target banana --steps 2000 --lr 3e-3
flow maf_flow(dim = 2) {
  repeat 2 {
    maf affine(order = [0, 1]) { net = made(hidden = [64, 64], act = tanh) }
    maf affine(order = [1, 0]) { net = made(hidden = [64, 64], act = tanh) }
  }
}

target banana(dim = 2) {
  logp = -x0^2 / 8 - 0.5 * (x1 - x0^2 / 4)^2
}
