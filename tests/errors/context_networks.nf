# The context's embedding needs its output width; an elementwise layer with
# a network takes no initial values, and a function has no parameters for it.
flow f(dim = 2, context = 3, context_net = mlp(hidden = [8])) {
# expect: 3:44: error: missing argument 'out' for 'mlp'
  elementwise affine(s = 1) { net = mlp(hidden = [4]); s = tanh(s) }
# expect: 5:22: error: 's' comes from the network: with 'net', 'elementwise affine' takes no initial values
  elementwise sigmoid { net = mlp() }
# expect: 7:25: error: 'elementwise' takes no network
  elementwise affine { net = mlp(hidden = [4], out = 2) }
# expect: 9:48: error: unknown argument 'out' for 'mlp'
}
