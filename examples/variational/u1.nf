# The energy U1 of Rezende & Mohamed (2015), "Variational inference with
# normalizing flows", Table 1: p~(x) = exp(-U1(x)), a ring broken into two arcs.
# log Z by quadrature: see README.md in this folder.
# nfc train examples/variational/u1.nf --target u1 --steps 3000 --lr 3e-3
flow spline_flow(dim = 2) {
  repeat 4 {
    coupling spline(mask = alternate, bins = 8, bound = 5) { net = mlp(hidden = [64, 64], act = relu) }
  }
}

target u1(dim = 2) {
  let r = sqrt(x0^2 + x1^2)
  logp = -0.5 * ((r - 2) / 0.4)^2 + logaddexp(-0.5 * ((x0 - 2) / 0.6)^2, -0.5 * ((x0 + 2) / 0.6)^2)
}
