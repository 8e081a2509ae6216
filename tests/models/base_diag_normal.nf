# A learnable diagonal normal base under an affine coupling: emitted code
# samples z = mean + exp(log_scale) eps and evaluates log q like the JIT.
flow base_diag_normal(dim = 3, base = diag_normal) {
  coupling affine(mask = alternate) {
    net = mlp(hidden = [8], act = tanh)
  }
}
