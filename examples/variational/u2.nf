# The energy U2 of Rezende & Mohamed (2015), "Variational inference with
# normalizing flows", Table 1: p~(x) = exp(-U2(x)), a sine wave.
# U2-U4 do not confine x0 (their density is periodic along it): the paper
# draws them on [-4, 4]^2. Here a Gaussian envelope exp(-x0^2 / (2 2.5^2))
# makes them normalisable, so log Z exists.
# log Z by quadrature: see README.md in this folder.
# nfc train examples/variational/u2.nf --target u2 --steps 3000 --lr 3e-3
flow spline_flow(dim = 2) {
  repeat 4 {
    coupling spline(mask = alternate, bins = 16, bound = 10) { net = mlp(hidden = [64, 64], act = relu) }
  }
}

target u2(dim = 2) {
  let w1 = sin(2 * 3.141592653589793 * x0 / 4)
  logp = -0.5 * ((x1 - w1) / 0.4)^2 - 0.5 * (x0 / 2.5)^2
}
