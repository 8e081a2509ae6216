# A conditional flow: the density of 2-D x given a 1-D context c, p(x | c).
# Every conditioner reads c: each MADE takes it as extra inputs that every
# hidden unit sees. Trained on rows (x0, x1, c) of the built-in conditional
# data set:
#   nfc train examples/conditional.nf --data builtin:cond_gaussians --steps 2000
#   nfc sample examples/conditional.nf --params params.safetensors --context 0.5 -n 1000 -o s.npy
flow conditional(dim = 2, context = 1) {
  repeat 3 {
    maf affine(order = natural) {
      net = made(hidden = [32, 32], act = tanh)
      s = 2 * tanh(s / 2)            # soft clamp of the log-scale
    }
    permute reverse
  }
}
